"""Timeline files (--script): the control socket's validator and messages, cues applied at their
audio time by bake/render (a pause holds the last frame) and live (the session pauses)."""

from __future__ import annotations

import json
import numpy as np
import pytest

from facecast.bridge.commands import validate
from facecast.bridge.protocol import ProtocolError, Request
from facecast.runtime.engine.motion.engine import MotionEngine
from facecast.runtime.engine.motion.timeline import (ScriptedEngine, TimelineError, hold_paused, load_timeline,
                                                     parse_timeline)

NPC = [{"t": 0.0, "command": "set_emotion", "args": {"emotion": "happy", "intensity": 0.8}},
       {"t": 0.5, "command": "set_head", "args": {"mode": "add", "yaw_deg": 25, "blend_s": 0.3}},
       {"t": 0.8, "command": "set_gaze", "args": {"yaw_deg": -25}},
       {"t": 1.2, "command": "pause"}, {"t": 1.5, "command": "resume"}]


def _socket_error(cmd: str, args: dict) -> str:
    with pytest.raises(ProtocolError) as err:
        validate(Request(1, cmd, args))
    return str(err.value)


@pytest.mark.parametrize("cmd, args", [("set_head", {"yaw_deg": 120}), ("set_emotion", {"emotion": "bored"}),
                                       ("set_gaze", {"yaw_deg": "left"}), ("set_head", {"nod": 1}),
                                       ("set_emotion", {}), ("dance", {})])
def test_bad_cue_gets_the_socket_error(cmd, args):
    with pytest.raises(TimelineError) as err:
        parse_timeline([{"t": 1.0, "command": cmd, "args": args}], "npc.json")
    assert str(err.value) == f"npc.json: cue 0 (t=1): {_socket_error(cmd, args)}"


@pytest.mark.parametrize("data, needle", [
    ({"t": 1}, "JSON list"), ([{"t": -1, "command": "pause"}], "\"t\""), ([{"t": "1", "command": "pause"}], "\"t\""),
    ([{"t": 1, "command": "pause", "extra": 1}], "unknown key"), ([{"t": 1, "command": "info"}], "not one a timeline"),
    ([{"t": 1, "command": "pause", "args": {"session": "npc"}}], "drop 'session'"), ([3], "each cue")])
def test_malformed_timelines_are_refused(data, needle):
    with pytest.raises(TimelineError, match=needle):
        parse_timeline(data)


def test_unreadable_and_non_json_files(tmp_path):
    with pytest.raises(TimelineError, match="cannot read"):
        load_timeline(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("[{")
    with pytest.raises(TimelineError, match="not JSON"):
        load_timeline(tmp_path / "bad.json")


def test_cues_apply_at_their_time_and_pause_holds():
    timeline = parse_timeline(NPC)
    engine = ScriptedEngine(MotionEngine(rate_hz=60, seed=0), timeline)
    frames = [engine.step(i / 60) for i in range(1, 121)]
    yaw = np.array([f.head[1] for f in frames])
    assert abs(yaw[:29]).max() < 5              # before t = 0.5 s only the idle sway
    assert yaw[-1] > 20                         # turned by the cue, blended in
    smile = frames[-1].blend("mouthSmileLeft")
    assert smile > frames[0].blend("mouthSmileLeft") + 0.1
    held = hold_paused(frames, timeline)
    paused = [f for f in held if 1.2 <= f.t_audio_s < 1.5]
    assert paused and all(np.array_equal(f.head, paused[0].head) for f in paused)
    assert [f.t_audio_s for f in held] == [f.t_audio_s for f in frames]
    assert timeline.paused_at(1.3) and not timeline.paused_at(1.6)


def test_live_session_pauses_on_cue():
    from facecast.runtime.engine.pipeline import Runtime

    class FakeSession:
        paused = False

        class stream:
            engine = MotionEngine(rate_hz=60)

    session = FakeSession()
    import os
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(NPC, f)
    try:
        Runtime._play_script(session, f.name)
    finally:
        os.unlink(f.name)
    for i in range(1, 80):
        session.stream.engine.step(i / 60)
    assert session.paused
    for i in range(80, 100):
        session.stream.engine.step(i / 60)
    assert not session.paused


def test_bake_cli_with_a_script(tmp_path, capsys):
    from facecast.runtime.cli import main
    from facecast.runtime.engine.config import SAMPLE_SPEECH

    script = tmp_path / "npc.json"
    script.write_text(json.dumps(NPC))
    out = tmp_path / "npc.jsonl"
    args = ["bake", str(SAMPLE_SPEECH), "--out", str(out), "--lips", "energy", "--script"]
    assert main(args + [str(script)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    at = {round(r["t"] * 60): r for r in rows}
    assert at[60]["head"]["yaw"] > 20 and abs(at[20]["head"]["yaw"]) < 5
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"t": 1, "command": "set_head", "args": {"yaw_deg": 120}}]))
    assert main(args + [str(bad)]) == 2
    assert "'yaw_deg' = 120.0 outside [-90.0, 90.0]" in capsys.readouterr().err
