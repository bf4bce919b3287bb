"""Several sessions in one runtime: create/remove over control, separate topics, pushed audio per NPC."""

import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from facecast.bridge import ControlClient, ControlError, EventMessage, MotionMessage, Subscriber
from facecast.bridge.schema import BLENDSHAPE_NAMES
from facecast.runtime.engine.config import SAMPLE_SPEECH, RuntimeConfig
from facecast.runtime.engine.pipeline import Runtime

JAW = BLENDSHAPE_NAMES.index("jawOpen")
CLOSE = BLENDSHAPE_NAMES.index("mouthClose")


@pytest.fixture
def runtime():
    cfg = RuntimeConfig(lips="energy", pub_endpoint="tcp://127.0.0.1:0", control_endpoint="tcp://127.0.0.1:0",
                        status_line=False, duration_s=30.0)
    rt = Runtime(cfg)
    thread = threading.Thread(target=rt.run, daemon=True)
    thread.start()
    yield rt
    rt.stop()
    thread.join(timeout=5)


def _drain(sub, seconds):
    out = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        msg = sub.recv(timeout_s=0.05)
        if msg is not None:
            out.append(msg)
    return out


def _aperture(msgs):
    return np.array([m.blendshapes[JAW] - m.blendshapes[CLOSE] for m in msgs])


def test_two_npc_sessions_have_their_own_audio_and_topics(runtime):
    sub = Subscriber(runtime.publisher.endpoint, kinds=("motion", "event"), param_queue=100_000)
    speech, rate = sf.read(str(SAMPLE_SPEECH), dtype="int16")
    with ControlClient(runtime.control.endpoint) as ctl:
        made = ctl.request("create_session", session="npc-1", frames=False)
        assert made["source"] == "push" and "motion/npc-1" in made["topics"]
        ctl.request("create_session", session="npc-2")
        listed = {s["session"]: s for s in ctl.request("list_sessions")["sessions"]}
        assert set(listed) == {"default", "npc-1", "npc-2"} and listed["npc-1"]["source"] == "push"
        assert ctl.info()["sessions"] == ["default", "npc-1", "npc-2"]
        early = _drain(sub, 0.5)
        ranges = [ctl.request("push_audio", session="npc-1", payload=speech[i:i + rate // 5].tobytes(),
                              sample_rate_hz=int(rate)) for i in range(0, int(rate * 1.5), rate // 5)]
        with pytest.raises(ControlError) as err:  # the file session still takes no pushed audio
            ctl.request("push_audio", payload=b"\0\0" * 160, sample_rate_hz=16000)
        assert err.value.code == "unsupported"
        got = _drain(sub, 2.2)
        ctl.request("remove_session", session="npc-1")
        after = _drain(sub, 0.5)
        assert [s["session"] for s in ctl.request("list_sessions")["sessions"]] == ["default", "npc-2"]
    sub.close()
    for a, b in zip(ranges, ranges[1:]):
        assert b["t_audio_start"] == pytest.approx(a["t_audio_end"])
    t0, t1 = ranges[0]["t_audio_start"], ranges[-1]["t_audio_end"]
    motion = [m for m in got if isinstance(m, MotionMessage)]
    by_session = {sid: [m for m in motion if m.stamp.session == sid] for sid in ("npc-1", "npc-2", "default")}
    assert all(len(v) > 30 for v in by_session.values()), {k: len(v) for k, v in by_session.items()}
    talking = [m for m in by_session["npc-1"] if t0 + 0.2 <= m.stamp.t_audio_s <= t1]
    assert talking and _aperture(talking).max() > 0.2, "the NPC we pushed speech to moves its mouth"
    assert _aperture(by_session["npc-2"]).max() < _aperture(talking).max() - 0.15, "the other NPC stays idle"
    for msgs in by_session.values():  # each session its own clock and seq counter
        assert np.allclose(np.diff([m.stamp.t_audio_s for m in msgs]), 1 / 60, atol=1e-6)
        assert np.all(np.diff([m.stamp.seq for m in msgs]) == 1)
    events = [(m.stamp.session, m.name) for m in early + got + after if isinstance(m, EventMessage)]
    assert ("npc-1", "session_started") in events and ("npc-2", "session_started") in events
    assert ("npc-1", "session_stopped") in events
    assert not [m for m in after[10:] if isinstance(m, MotionMessage) and m.stamp.session == "npc-1"]


def test_session_errors(runtime, tmp_path):
    blank = tmp_path / "blank.png"
    Image.new("RGB", (320, 240), (120, 160, 200)).save(blank)
    runtime.config.allow_dirs = (tmp_path,)  # as `run --allow-dir`: clients may name files there
    with ControlClient(runtime.control.endpoint, timeout_s=20) as ctl:
        ctl.request("create_session", session="npc")
        for cmd, args, code in (
            ("create_session", {"session": "npc"}, "bad_args"),        # duplicate id
            ("create_session", {"session": "default"}, "bad_args"),
            ("create_session", {"session": "a b"}, "bad_args"),        # not a session id
            ("create_session", {}, "bad_args"),                        # session is required
            ("remove_session", {"session": "nobody"}, "not_found"),
            ("push_audio", {"session": "nobody", "sample_rate_hz": 16000}, "not_found"),
            ("set_avatar", {"session": "npc", "path": str(blank)}, "unsupported"),  # renders no frames
        ):
            with pytest.raises(ControlError) as err:
                payload = b"\0\0" * 16 if cmd == "push_audio" else b""
                ctl.request(cmd, payload=payload, **args)
            assert err.value.code == code, (cmd, args, err.value)
        with pytest.raises(ControlError) as err:
            ctl.request("create_session", session="face", image=str(blank))
        assert err.value.code == "bad_args" and "no face" in err.value.message
        with pytest.raises(ControlError) as err:
            ctl.request("create_session", session="face", image=str(tmp_path / "missing.png"))
        assert err.value.code == "not_found"
        assert ctl.request("remove_session", session="npc")["removed"]
        assert ctl.request("create_session", session="npc")["session"] == "npc", "an id can be reused"
        assert ctl.request("ping")["pong"] > 0


def test_run_with_cuda_on_a_machine_without_it_exits_2_with_one_line():
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this machine has CUDA")
    proc = subprocess.run([sys.executable, "-m", "facecast.runtime", "run", "--device", "cuda", "--duration", "1",
                           "--pub", "tcp://127.0.0.1:0", "--control", "tcp://127.0.0.1:0"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "CUDA" in lines[0] and "--device cpu" in lines[0]
