"""`facecast eval render`: the per-portrait quality report (runtime/workshop/face/quality.py)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("skimage", reason="SSIM and the portraits come from scikit-image (pip install '.[dev]')")

from facecast.runtime.workshop.face import quality  # noqa: E402
from facecast.runtime.cli import main  # noqa: E402


def test_eval_render_reports_every_measure_for_a_portrait(capsys):
    assert main(["eval", "render", "--portraits", "grace_hopper", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["grace_hopper"]
    assert set(quality.TARGETS) <= set(report)
    assert len(report["yaw_deg"]) == 4 and len(report["pitch_deg"]) == 2
    # Grace Hopper meets every target (tests/test_render.py checks the same on five portraits)
    assert all(quality.meets_targets(report).values()), quality.meets_targets(report)


def test_table_marks_missed_targets():
    ok = {"lip_gap_spearman": 1.0, "lip_gap_rise": 0.3, "blink_drop": 0.8, "yaw_deg": [-20, -10, 10, 12],
          "yaw_max_err_deg": 8.0, "pitch_deg": [-15, 15], "pitch_max_err_deg": 0.0, "roll_deg": 12.0,
          "roll_err_deg": 0.0, "still_head_unchanged": 1.0, "identity_ssim": 0.95, "identity_landmark_err": 0.01}
    table = quality.format_table({"x": ok})
    assert table.count("✗") == 1 and "+12.0 ✗" in table
