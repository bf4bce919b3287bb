"""What a hostile or careless control client sends cannot stall, exhaust or crash the runtime.

Everything runs on loopback, bounded in count and by generous timeouts; the checks are outcomes: typed
error replies, motion that kept arriving without loss, memory that stayed bounded or came back.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import threading
import time

import msgpack
import numpy as np
import pytest
import zmq

from facecast.bridge import ControlClient, ControlError, EventMessage, MotionMessage, Subscriber
from facecast.bridge import protocol as P
from facecast.runtime.engine.config import RuntimeConfig
from facecast.runtime.engine.frames import FrameWorker
from facecast.runtime.engine.motion.frame import MotionFrame
from facecast.runtime.engine.pipeline import Runtime

REPLY_TIMEOUT_MS = 60_000


@pytest.fixture
def runtime(tmp_path):
    cfg = RuntimeConfig(lips="energy", audio_source="push", audio_path=None, pub_endpoint="tcp://127.0.0.1:0",
                        control_endpoint="tcp://127.0.0.1:0", status_line=False, duration_s=120.0, max_sessions=4)
    rt = Runtime(cfg)
    thread = threading.Thread(target=rt.run, daemon=True)
    thread.start()
    yield rt
    rt.stop()
    thread.join(timeout=10)


def _nested_empty_arrays(total_bytes: int) -> bytes:
    """A msgpack map whose `args` is an array of millions of empty arrays: tiny to send, huge to unpack."""
    n = total_bytes - 64
    head = msgpack.packb({"v": "1.0", "id": 7, "cmd": "ping"})
    return b"\x84" + head[1:] + msgpack.packb("args") + b"\xdd" + n.to_bytes(4, "big") + b"\x90" * n


def _vm_kib(pid: int, key: str) -> int:
    return int(re.search(rf"{key}:\s+(\d+)", open(f"/proc/{pid}/status").read()).group(1))


@pytest.fixture
def runtime_process():
    """`facecast run --listen` in its own process, so its memory can be read from /proc."""
    proc = subprocess.Popen([sys.executable, "-m", "facecast.runtime", "run", "--listen", "--lips", "model",
                             "--pub", "tcp://127.0.0.1:0", "--control", "tcp://127.0.0.1:0", "--duration", "300",
                             "--max-sessions", "24"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    match = re.search(r"publishing on (\S+), control on (\S+);", line)
    assert match, (line, proc.stderr.read() if proc.poll() is not None else "")
    yield proc, match.group(1), match.group(2)
    proc.terminate()
    proc.wait(timeout=30)


def test_oversize_requests_are_refused_before_unpacking(runtime_process):
    proc, pub, control = runtime_process
    sub = Subscriber(pub, session="default", kinds=("motion",), param_queue=100_000)
    ctx = zmq.Context.instance()
    dealer = ctx.socket(zmq.DEALER)
    dealer.linger = 0
    dealer.connect(control)
    try:
        with ControlClient(control, timeout_s=30) as ctl:
            ctl.info()
            seen = 0
            while seen < 30:  # motion is flowing before the flood
                seen += sub.recv(timeout_s=2.0) is not None
            before_kib = _vm_kib(proc.pid, "VmRSS")
            bomb = _nested_empty_arrays(16 * 1024 * 1024 - 1024)
            for _ in range(6):
                dealer.send(bomb)
            replies = []
            motion_during = 0
            while len(replies) < 6:
                assert dealer.poll(REPLY_TIMEOUT_MS), "the control thread stopped answering"
                replies.append(P.decode_reply(dealer.recv_multipart()))
                while sub.recv(timeout_s=0) is not None:
                    motion_during += 1
            assert all(not r.ok and r.error_code == "too_large" for r in replies), replies
            assert all(r.id == 7 for r in replies), "the id is recovered from the request's first bytes"
            after = 0
            while after < 60:  # motion still flows afterwards, and nothing was lost in between
                after += sub.recv(timeout_s=2.0) is not None
            assert sub.stats.seq_gaps == 0, "motion messages were lost while the oversize requests arrived"
            # unpacking one of them took 1.2 GB; refusing six costs their bytes in transit only
            peak_kib = _vm_kib(proc.pid, "VmHWM")
            assert peak_kib - before_kib < 400 * 1024, (before_kib, peak_kib)
            assert ctl.request("ping")["pong"] > 0
    finally:
        dealer.close()
        sub.close()


def test_session_cap_refuses_clearly_and_removed_sessions_give_memory_back(runtime_process):
    proc, pub, control = runtime_process
    with ControlClient(control, timeout_s=30) as ctl:
        for _ in range(3):  # settle: lip model, sockets and first reports allocated
            ctl.request("list_sessions")
        baseline_kib = _vm_kib(proc.pid, "VmRSS")
        for i in range(23):
            ctl.request("create_session", session=f"npc-{i}", frames=False)
        with pytest.raises(ControlError) as err:
            ctl.request("create_session", session="one-too-many")
        assert err.value.code == "bad_args" and "--max-sessions 24" in err.value.message
        full_kib = _vm_kib(proc.pid, "VmRSS")
        for i in range(23):
            ctl.request("remove_session", session=f"npc-{i}")
        assert [s["session"] for s in ctl.request("list_sessions")["sessions"]] == ["default"]
        returned_kib = full_kib
        for _ in range(300):  # the runtime trims its heap at a report after the sessions are gone
            returned_kib = _vm_kib(proc.pid, "VmRSS")
            if returned_kib < baseline_kib + (full_kib - baseline_kib) / 3:
                break
            time.sleep(0.1)
        assert returned_kib < baseline_kib + (full_kib - baseline_kib) / 3, (baseline_kib, full_kib, returned_kib)
        assert ctl.request("create_session", session="again", frames=False)["session"] == "again"


def test_client_named_files_stay_inside_allowed_folders(runtime, tmp_path):
    allowed = tmp_path / "portraits"
    allowed.mkdir()
    os.mkfifo(allowed / "fifo")
    with ControlClient(runtime.control.endpoint, timeout_s=20) as ctl:
        for image, words in (("/dev/zero", "--allow-dir"), ("/etc/passwd", "--allow-dir")):
            with pytest.raises(ControlError) as err:
                ctl.request("create_session", session="x", image=image)
            assert err.value.code == "bad_args" and words in err.value.message
        runtime.config.allow_dirs = (allowed,)  # as `run --allow-dir portraits`
        for image, words in (("/dev/zero", "outside"), (str(allowed / "fifo"), "not a regular file"),
                             (str(allowed / ".." / "x.png"), "outside")):
            with pytest.raises(ControlError) as err:
                ctl.request("create_session", session="x", image=image)
            assert err.value.code == "bad_args" and words in err.value.message, err.value
        with pytest.raises(ControlError) as err:
            ctl.request("create_session", session="x", image=str(allowed / "missing.png"))
        assert err.value.code == "not_found"
        assert ctl.request("ping")["pong"] > 0, "the control thread still answers"
        assert [s["session"] for s in ctl.request("list_sessions")["sessions"]] == ["default"]


def test_session_cap_and_a_payload_avatar_leave_no_files(runtime, tmp_path, monkeypatch):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # any temporary file of this process lands here
    with ControlClient(runtime.control.endpoint, timeout_s=60) as ctl:
        for i in range(3):
            ctl.request("create_session", session=f"s{i}", frames=False)
        with pytest.raises(ControlError) as err:
            ctl.request("create_session", session="s3")
        assert err.value.code == "bad_args" and "remove_session" in err.value.message
        # the default session renders no frames here: set_avatar is refused before anything is written
        with pytest.raises(ControlError) as err:
            ctl.request("set_avatar", payload=b"\x89PNG" + b"\0" * 4096)
        assert err.value.code == "unsupported"
    assert not list(scratch.iterdir())


class _Renderer:
    def __init__(self, fail: bool):
        self.fail = fail

    def render(self, frame):
        if self.fail:
            return np.zeros((32, 32, 3), np.float64) + "not pixels"  # noqa: the kind of failure a bad avatar makes
        return np.full((32, 32, 3), 128, np.uint8)


def test_frame_thread_survives_a_renderer_that_fails_and_recovers(runtime):
    sub = Subscriber(runtime.publisher.endpoint, session="solo", kinds=("frame", "event"), param_queue=1000)
    worker = FrameWorker("solo", _Renderer(fail=True), runtime.publisher, fps=30, frame_format="rgb24")
    worker.start()
    try:
        errors, frames = [], 0
        t = 0.0
        for _ in range(600):
            t += 1 / 60
            worker.offer(MotionFrame(t), time.time())
            time.sleep(1 / 120)
            msg = sub.recv(timeout_s=0)
            while msg is not None:
                if isinstance(msg, EventMessage) and msg.name == "error":
                    errors.append(msg.data)
                frames += not isinstance(msg, (EventMessage, MotionMessage))
                msg = sub.recv(timeout_s=0)
            if errors and worker.render_errors and t > 2:
                break
        assert errors and "set_avatar" in errors[0]["message"], "a failing avatar is reported as an error event"
        assert len(errors) == 1 and frames == 0 and worker.render_errors == 1, "reported once, then skipped"
        worker.set_renderer(_Renderer(fail=False))
        for _ in range(600):
            t += 1 / 60
            worker.offer(MotionFrame(t), time.time())
            time.sleep(1 / 120)
            msg = sub.recv(timeout_s=0)
            frames += msg is not None and not isinstance(msg, EventMessage)
            if frames >= 5:
                break
        assert frames >= 5, "frames resume on a good avatar"
    finally:
        worker.stop()
        sub.close()


def test_set_avatar_with_a_bad_avatar_is_refused_and_frames_go_on(tmp_path):
    from facecast.runtime.engine.config import SAMPLE_PORTRAIT

    cfg = RuntimeConfig(lips="energy", audio_source="push", audio_path=None, image=SAMPLE_PORTRAIT, fps=10,
                        pub_endpoint="tcp://127.0.0.1:0", control_endpoint="tcp://127.0.0.1:0",
                        status_line=False, duration_s=120.0, device="cpu")
    rt = Runtime(cfg)
    thread = threading.Thread(target=rt.run, daemon=True)
    thread.start()
    sub = Subscriber(rt.publisher.endpoint, session="default", kinds=("frame",))
    try:
        with ControlClient(rt.control.endpoint, timeout_s=60) as ctl:
            for payload, words in ((b"PK\x03\x04" + b"\0" * 100, "not a usable facecast avatar"),
                                   (b"not an image at all", "cannot read image")):
                with pytest.raises(ControlError) as err:
                    ctl.request("set_avatar", payload=payload)
                assert err.value.code == "bad_args" and words in err.value.message, err.value
            got = 0
            for _ in range(200):
                got += sub.recv(timeout_s=0.1) is not None
                if got >= 3:
                    break
            assert got >= 3, "the session still renders its avatar"
    finally:
        sub.close()
        rt.stop()
        thread.join(timeout=10)


def test_a_successful_payload_avatar_leaves_no_temporary_file(tmp_path):
    """set_avatar with the picture's bytes, prepared and swapped in, in a runtime whose TMPDIR is a fresh
    folder (and whose avatar cache is too, so the portrait is really prepared): nothing is left there."""
    import io

    from PIL import Image, ImageOps

    from facecast.runtime.engine.config import SAMPLE_PORTRAIT

    scratch, home = tmp_path / "tmp", tmp_path / "home"
    scratch.mkdir()
    home.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch), "HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-m", "facecast.runtime", "run", "--listen", "--lips", "energy",
                             "--image", str(SAMPLE_PORTRAIT), "--fps", "5", "--device", "cpu",
                             "--pub", "tcp://127.0.0.1:0", "--control", "tcp://127.0.0.1:0", "--duration", "300"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        match = re.search(r"publishing on (\S+), control on (\S+);", line)
        assert match, (line, proc.stderr.read() if proc.poll() is not None else "")
        before = sorted(p.name for p in scratch.rglob("*"))
        picture = io.BytesIO()
        ImageOps.mirror(Image.open(SAMPLE_PORTRAIT).convert("RGB")).save(picture, "PNG")  # new to the cache
        with ControlClient(match.group(2), timeout_s=180) as ctl:
            reply = ctl.request("set_avatar", payload=picture.getvalue())
            assert reply["avatar"] == f"{len(picture.getvalue())} bytes"
            assert list((home / ".cache" / "facecast" / "avatars").glob("*.fca")), "the portrait was prepared"
            assert sorted(p.name for p in scratch.rglob("*")) == before, "a temporary file was left behind"
            assert ctl.request("ping")["pong"] > 0
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert sorted(p.name for p in scratch.rglob("*")) == before
