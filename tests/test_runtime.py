"""The live runtime end to end on real sockets: audio file or pushed audio in, motion on the wire, control."""

import json
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import soundfile as sf

from facecast.bridge import ControlClient, ControlError, MotionMessage, Subscriber
from facecast.bridge.schema import BLENDSHAPE_NAMES
from facecast.runtime.engine.config import SAMPLE_SPEECH, RuntimeConfig
from facecast.runtime.engine.pipeline import Runtime

JAW = BLENDSHAPE_NAMES.index("jawOpen")
CLOSE = BLENDSHAPE_NAMES.index("mouthClose")
SMILE = BLENDSHAPE_NAMES.index("mouthSmileLeft")


def _start(**overrides):
    cfg = RuntimeConfig(lips="energy", pub_endpoint="tcp://127.0.0.1:0", control_endpoint="tcp://127.0.0.1:0",
                        status_line=False, **overrides)
    runtime = Runtime(cfg)
    summary: dict = {}
    thread = threading.Thread(target=lambda: summary.update(runtime.run()), daemon=True)
    sub = Subscriber(runtime.publisher.endpoint, kinds=("motion", "event"), param_queue=100_000)
    thread.start()
    return runtime, thread, sub, summary


def _collect(sub, seconds):
    out = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        msg = sub.recv(timeout_s=0.05)
        if isinstance(msg, MotionMessage):
            out.append(msg)
    return out


def test_file_session_streams_motion_in_order_and_obeys_control():
    runtime, thread, sub, summary = _start(duration_s=3.0)
    with ControlClient(runtime.control.endpoint) as ctl:
        info = ctl.info()
        assert info["protocol"] == "1.0" and "motion" in info["capabilities"]
        assert info["sessions"] == ["default"]
        msgs = _collect(sub, 1.2)
        ctl.request("set_emotion", emotion="happy", intensity=1.0, blend_s=0.1)
        with pytest.raises(ControlError) as err:
            ctl.request("set_emotion", session="nobody", emotion="happy")
        assert err.value.code == "not_found"
        with pytest.raises(ControlError) as err:
            ctl.request("push_audio", payload=b"\0\0" * 160, sample_rate_hz=16000)
        assert err.value.code == "unsupported"  # a file session takes no pushed audio
        msgs += _collect(sub, 1.5)
    thread.join(timeout=5)
    sub.close()
    assert len(msgs) > 100
    t = np.array([m.stamp.t_audio_s for m in msgs])
    assert np.all(np.diff(t) > 0), "t_audio must rise"
    assert np.allclose(np.diff(t), 1 / 60, atol=1e-6), "one message per motion frame, none lost"
    smiles = np.array([m.blendshapes[SMILE] for m in msgs])
    assert smiles[-20:].mean() > smiles[:20].mean() + 0.1, "set_emotion happy must show in the stream"
    aperture = np.array([m.blendshapes[JAW] - m.blendshapes[CLOSE] for m in msgs])
    assert aperture.max() > 0.2, "speech in the sample must open the mouth"
    s = summary["sessions"]["default"]
    assert s["motion_frames"] >= len(msgs) and s["latency_ms_p50"] >= 0


def test_push_session_maps_chunks_onto_the_stream_clock_and_moves_the_mouth():
    runtime, thread, sub, summary = _start(audio_source="push", audio_path=None, duration_s=4.0)
    speech, rate = sf.read(str(SAMPLE_SPEECH), dtype="int16")
    with ControlClient(runtime.control.endpoint) as ctl:
        assert "push_audio" in ctl.info()["capabilities"]
        idle = _collect(sub, 0.8)  # silence: the clock runs and idle motion is published
        ranges = []
        for start in range(0, rate * 2, rate // 5):  # 2 s of speech in 200 ms chunks, sent at once
            ranges.append(ctl.request("push_audio", payload=speech[start:start + rate // 5].tobytes(),
                                      sample_rate_hz=int(rate)))
        with pytest.raises(ControlError) as err:
            ctl.request("push_audio", payload=b"\0\0\0", sample_rate_hz=16000)  # not whole samples
        assert err.value.code == "bad_args"
        talking = _collect(sub, 2.6)
    thread.join(timeout=5)
    sub.close()
    assert len(idle) > 20, "a push session publishes idle motion while nothing is pushed"
    for a, b in zip(ranges, ranges[1:]):
        assert b["t_audio_start"] == pytest.approx(a["t_audio_end"]), "pushed chunks are contiguous"
    assert ranges[0]["t_audio_end"] - ranges[0]["t_audio_start"] == pytest.approx(0.2, abs=0.002)
    t0, t1 = ranges[0]["t_audio_start"], ranges[-1]["t_audio_end"]
    inside = [m for m in talking if t0 + 0.3 <= m.stamp.t_audio_s <= t1]
    assert inside, "the motion for the pushed audio must be published"
    aperture = np.array([m.blendshapes[JAW] - m.blendshapes[CLOSE] for m in inside])
    idle_aperture = np.array([m.blendshapes[JAW] - m.blendshapes[CLOSE] for m in idle])
    assert aperture.max() > idle_aperture.max() + 0.15
    # released on the clock, not in a burst: frames arrive spread over the pushed audio's duration
    recv = np.array([m.stamp.recv_wall_s for m in inside])
    assert recv.max() - recv.min() > 0.5 * (inside[-1].stamp.t_audio_s - inside[0].stamp.t_audio_s)


def test_bake_jsonl_and_csv(tmp_path):
    jsonl, csv_path = tmp_path / "anim.jsonl", tmp_path / "anim.csv"
    for out in (jsonl, csv_path):
        proc = subprocess.run([sys.executable, "-m", "facecast.runtime", "bake", str(SAMPLE_SPEECH), "--lips",
                               "energy", "--out", str(out)], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert "100%" in proc.stderr, "a progress bar is shown"
    rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
    duration_s = sf.info(str(SAMPLE_SPEECH)).duration
    assert len(rows) == int(duration_s * 60)
    assert set(rows[0]) == {"t", "blendshapes", "head", "gaze", "visemes", "speaking"}
    assert list(rows[0]["blendshapes"]) == list(BLENDSHAPE_NAMES)
    assert set(rows[0]["head"]) == {"pitch", "yaw", "roll", "x", "y", "z"}
    t = np.array([r["t"] for r in rows])
    assert np.all(np.diff(t) > 0) and t[-1] <= duration_s + 1e-3
    for r in rows:
        assert all(0.0 <= v <= 1.0 for v in r["blendshapes"].values())
    header = csv_path.read_text().splitlines()[0].split(",")
    assert header[:3] == ["t", "eyeBlinkLeft", "eyeLookDownLeft"] and len(csv_path.read_text().splitlines()) == len(rows) + 1


def test_bake_refuses_a_corrupt_file_clearly(tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunk")
    proc = subprocess.run([sys.executable, "-m", "facecast.runtime", "bake", str(bad), "--lips", "energy",
                           "--out", str(tmp_path / "x.jsonl")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "broken.wav" in proc.stderr and "Traceback" not in proc.stderr


def test_runtime_refuses_a_public_bind_without_keys():
    proc = subprocess.run([sys.executable, "-m", "facecast.runtime", "run", "--pub", "tcp://0.0.0.0:0",
                           "--lips", "energy", "--duration", "1"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "facecast keys" in proc.stderr and "--insecure" in proc.stderr


def test_a_vanished_microphone_keeps_idle_motion_going_and_is_reported():
    from facecast.bridge import EventMessage, Publisher
    from facecast.runtime.engine.pipeline import MIC_GAP_S, Session, make_lips

    cfg = RuntimeConfig(audio_source="mic", audio_path=None, lips="energy", status_line=False)
    session = Session("desk", cfg, make_lips("energy"))  # not started: the test plays the device's part
    pub = Publisher("tcp://127.0.0.1:0")
    sub = Subscriber(pub.endpoint, param_queue=100_000)
    speech, _ = sf.read(str(SAMPLE_SPEECH), dtype="float32")
    t0 = time.monotonic()
    fed = 0
    got = []
    while time.monotonic() - t0 < 2.5:
        elapsed = time.monotonic() - t0
        due = int(elapsed * 16000)
        if elapsed < 0.5 or elapsed > 1.8:  # the device delivers, vanishes for 1.3 s, comes back
            if due > fed:
                session.ring.write(speech[fed:due])
        fed = due  # what a vanished device would have said is gone, not delivered late
        if abs(elapsed - 0.7) < 0.01:
            session._on_audio_event("lost", "device unplugged")
        session.pump(pub)
        msg = sub.recv(timeout_s=0.005)
        if msg is not None:
            got.append(msg)
    got += [m for m in iter(lambda: sub.recv(timeout_s=0.2), None)]
    sub.close()
    pub.close()
    motion = [m for m in got if isinstance(m, MotionMessage)]
    t = np.array([m.stamp.t_audio_s for m in motion])
    assert len(motion) > 100
    assert np.allclose(np.diff(t), 1 / 60, atol=1e-6), "t_audio keeps its pace through the gap"
    gap = [m for m in motion if 0.5 + MIC_GAP_S + 0.1 < m.stamp.t_audio_s < 1.7]
    assert len(gap) > 30, "idle motion is published while the microphone is away"
    assert t[-1] > 2.0, "the stream follows real time after the device returns"
    events = [m for m in got if isinstance(m, EventMessage) and m.name == "audio_source"]
    assert events and events[0].data["state"] == "lost"


def test_frames_are_rendered_on_the_audio_clock_and_the_avatar_can_be_swapped(tmp_path):
    import io

    from PIL import Image

    from facecast.bridge import FrameMessage
    from facecast.runtime.engine.config import SAMPLE_PORTRAIT

    runtime, thread, sub, summary = _start(image=SAMPLE_PORTRAIT, fps=15, duration_s=4.0)
    frames_sub = Subscriber(runtime.publisher.endpoint, kinds=("frame",))
    blank = tmp_path / "blank.png"
    Image.new("RGB", (320, 240), (120, 160, 200)).save(blank)
    runtime.config.allow_dirs = (tmp_path, SAMPLE_PORTRAIT.parent)  # as `run --allow-dir` for both
    frames = []
    with ControlClient(runtime.control.endpoint, timeout_s=20) as ctl:
        assert {"frames", "set_avatar"} <= set(ctl.info()["capabilities"])
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            msg = frames_sub.recv(timeout_s=0.1)
            if isinstance(msg, FrameMessage):
                frames.append(msg)
        with pytest.raises(ControlError) as err:
            ctl.request("set_avatar", path=str(blank))
        assert err.value.code == "bad_args" and "no face" in err.value.message
        assert ctl.request("set_avatar", path=str(SAMPLE_PORTRAIT))["session"] == "default"
        while thread.is_alive():
            msg = frames_sub.recv(timeout_s=0.1)
            if isinstance(msg, FrameMessage):
                frames.append(msg)
    thread.join(timeout=5)
    frames_sub.close()
    sub.close()
    assert len(frames) >= 20, len(frames)
    first = frames[0]
    assert (first.fmt, first.width, first.height) == ("jpeg", 512, 512)
    assert Image.open(io.BytesIO(bytes(first.data))).size == (512, 512)
    t = np.array([m.stamp.t_audio_s for m in frames])
    # each frame shows a motion frame (1/60 s grid), at most one per 1/15 s of audio, in order
    assert np.allclose(t * 60, np.round(t * 60), atol=1e-3)
    assert np.all(np.diff(t) >= 1 / 15 - 1e-6)
    s = summary["sessions"]["default"]
    assert s["frames"] >= len(frames) and s["frame_format"] == "jpeg"
    assert s["frames"] + s["dropped_frames"] >= int(15 * s["t_audio_s"]) - 2, "every frame time is rendered or counted"


def test_demo_streams_motion_and_frames_and_ends_with_a_summary():
    proc = subprocess.run([sys.executable, "-m", "facecast.runtime", "demo", "--no-video", "--duration", "3",
                           "--pub", "tcp://127.0.0.1:0", "--control", "tcp://127.0.0.1:0", "--json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[-2] == "live run:"
    summary = json.loads(lines[-1])
    s = summary["sessions"]["default"]
    assert s["motion_frames"] > 100 and s["frames"] > 50
    assert summary["received"]["count"] > 100 and summary["received"]["frames"] > 50
