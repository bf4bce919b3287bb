"""facecast virtualcam: frames from the stream to a virtual camera, through a recording backend
registered with pyvirtualcam's backend registry (no device needed), and the missing-device error."""

from __future__ import annotations

import argparse
import glob
import json
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pyvirtualcam = pytest.importorskip(
    "pyvirtualcam", reason="pyvirtualcam not installed (GPL-2.0 optional extra): pip install 'facecast[virtualcam]'")

from facecast.bridge import protocol as P  # noqa: E402
from facecast.bridge.pubsub import Publisher  # noqa: E402
from facecast.bridge.adapters import virtualcam as vc  # noqa: E402
from facecast.runtime.cli import virtualcam as vc_cli  # noqa: E402

VECTORS = Path(__file__).parent / "vectors"
W, H = 48, 32


class RecordingBackend:
    """A pyvirtualcam backend (see pyvirtualcam.Backend) that keeps what it is given."""

    instances: list["RecordingBackend"] = []

    def __init__(self, *, width, height, fps, fourcc, device, **kw):
        self.width, self.height, self.fps, self.fourcc = width, height, fps, fourcc
        self._device = device or "/dev/null-recorder"
        self.frames: list[np.ndarray] = []
        self.send_times: list[float] = []
        self.closed = False
        RecordingBackend.instances.append(self)

    def send(self, frame):
        self.frames.append(frame.copy())
        self.send_times.append(time.monotonic())

    def close(self):
        self.closed = True

    def device(self):
        return self._device

    def native_fourcc(self):
        return self.fourcc


class MissingDeviceBackend:
    """Fails as pyvirtualcam's v4l2loopback backend does when no loopback device exists."""

    def __init__(self, **kw):
        raise RuntimeError("No v4l2 loopback device found at /dev/video[0-99]. Did you run 'modprobe v4l2loopback'?")


@pytest.fixture(autouse=True)
def backends():
    pyvirtualcam.register_backend("facecast-recorder", RecordingBackend)
    pyvirtualcam.register_backend("facecast-missing", MissingDeviceBackend)
    RecordingBackend.instances.clear()
    yield
    pyvirtualcam.camera.BACKENDS.pop("facecast-recorder", None)
    pyvirtualcam.camera.BACKENDS.pop("facecast-missing", None)


def pattern(k: int, w: int = W, h: int = H) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([(x * 5 + k * 30) & 255, (y * 7 + k * 50) & 255, (x + y + k * 90) & 255], -1).astype(np.uint8)


class StreamPublisher:
    """Publishes rgb24 frames (with row padding) of session 'cam' at `fps` on a random port."""

    def __init__(self, fps: float, size=(W, H)):
        self.pub = Publisher("tcp://127.0.0.1:0")
        self.endpoint = self.pub.endpoint
        self.fps, self.size, self.k = fps, size, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self):
        t_audio, next_t = 0.0, time.monotonic()
        while not self._stop.is_set():
            w, h = self.size
            rgb = pattern(self.k, w, h)
            padded = np.full((h, w * 3 + 5), 0xEE, np.uint8)
            padded[:, : w * 3] = rgb.reshape(h, -1)
            self.pub.frame("cam", t_audio, "rgb24", w, h, w * 3 + 5, padded)
            t_audio += 1 / self.fps
            next_t += 1 / self.fps
            time.sleep(max(0.0, next_t - time.monotonic()))

    def close(self):
        self._stop.set()
        self._thread.join(2)
        self.pub.close()


@pytest.fixture
def stream():
    publishers = []

    def start(fps: float, size=(W, H)) -> StreamPublisher:
        publishers.append(StreamPublisher(fps, size))
        return publishers[-1]

    yield start
    for p in publishers:
        p.close()


def _camera(instances) -> RecordingBackend:
    """The camera opened for the stream (the first one is the 512x512 probe)."""
    return instances[-1]


def test_frames_size_fps_and_format_reach_the_camera(stream):
    pub = stream(fps=20)
    stats = vc.run_virtualcam(pub.endpoint, "cam", backend="facecast-recorder", duration_s=2.5, log=lambda s: None)
    cam = _camera(RecordingBackend.instances)
    assert (cam.width, cam.height) == (W, H)
    assert cam.fps == 20                       # measured from the stream's t_audio spacing
    assert pyvirtualcam.util.decode_fourcc(cam.fourcc) == pyvirtualcam.PixelFormat.RGB.value
    assert cam.closed and RecordingBackend.instances[0].closed
    assert stats["frames_received"] >= 5 and stats["frames_sent"] == len(cam.frames) >= 10
    assert (stats["width"], stats["height"], stats["fps"]) == (W, H, 20)
    for frame in cam.frames:                   # every frame is the exact picture, padding stripped
        assert frame.dtype == np.uint8 and frame.size == W * H * 3
        assert np.array_equal(frame.reshape(H, W, 3), pattern(0))
    # paced at the camera's fps (pyvirtualcam sleeps between sends): about 20 per second
    gaps = np.diff(cam.send_times)
    assert 0.03 < float(np.median(gaps)) < 0.08


def test_newest_frame_wins_and_fps_can_be_forced(stream):
    pub = stream(fps=30)
    done = threading.Event()

    def change_picture():
        time.sleep(1.2)
        pub.k = 3
        done.set()

    threading.Thread(target=change_picture, daemon=True).start()
    vc.run_virtualcam(pub.endpoint, "cam", fps=12, backend="facecast-recorder", duration_s=2.5, log=lambda s: None)
    cam = _camera(RecordingBackend.instances)
    assert cam.fps == 12
    last = cam.frames[-1].reshape(H, W, 3)
    assert done.is_set() and np.array_equal(last, pattern(3))


def test_size_change_mid_stream_keeps_the_camera_size(stream):
    pub = stream(fps=25)
    threading.Timer(1.2, lambda: setattr(pub, "size", (W * 2, H * 2))).start()
    vc.run_virtualcam(pub.endpoint, "cam", backend="facecast-recorder", duration_s=2.2, log=lambda s: None)
    cam = _camera(RecordingBackend.instances)
    assert (cam.width, cam.height) == (W, H)
    assert all(f.size == W * H * 3 for f in cam.frames)
    assert np.array_equal(cam.frames[-1].reshape(H, W, 3), pattern(0, W * 2, H * 2)[::2, ::2])


@pytest.mark.parametrize("name", ["frame_rgb24_stride", "frame_rgba32", "frame_bgra32_stride", "frame_jpeg"])
def test_frame_to_rgb_matches_the_golden_vectors(name):
    raw, parts, off = (VECTORS / f"{name}.parts").read_bytes(), [], 0
    while off < len(raw):
        n = int.from_bytes(raw[off: off + 4], "little")
        parts.append(raw[off + 4: off + 4 + n])
        off += 4 + n
    expect = json.loads((VECTORS / f"{name}.json").read_text())["payload"]
    rgb = vc.frame_to_rgb(P.decode(parts))
    want = np.array(expect["pixels"], np.int16)[..., :3]
    assert rgb.shape == want.shape and rgb.dtype == np.uint8
    assert int(np.abs(rgb.astype(np.int16) - want).max()) <= expect["tolerance"]


def test_missing_device_is_a_clear_error_naming_what_to_install():
    with pytest.raises(vc.VirtualCamUnavailable) as info:
        vc.run_virtualcam("tcp://127.0.0.1:9", "cam", backend="facecast-missing", duration_s=5)
    message = str(info.value)
    if sys.platform.startswith("linux"):
        assert "modprobe v4l2loopback" in message and "apt install v4l2loopback" in message
    assert "OBS Studio" in vc.install_hint("Windows") and "Start Virtual Camera" in vc.install_hint("Darwin")


def test_cli_reports_a_missing_device_without_a_traceback(capsys):
    parser = argparse.ArgumentParser(prog="facecast")
    vc_cli.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["virtualcam", "--endpoint", "tcp://127.0.0.1:9", "--backend", "facecast-missing"])
    t0 = time.monotonic()
    assert args.func(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("facecast virtualcam: no virtual camera device could be opened")
    assert "modprobe v4l2loopback" in err or "OBS Studio" in err
    assert "Traceback" not in err
    assert time.monotonic() - t0 < 2           # before waiting for any runtime


@pytest.mark.skipif(not sys.platform.startswith("linux") or glob.glob("/dev/video*"),
                    reason="needs Linux without any /dev/video device")
def test_real_backends_without_a_device_fail_with_the_install_hint(monkeypatch):
    real = {k: v for k, v in pyvirtualcam.camera.BACKENDS.items() if not k.startswith("facecast-")}
    monkeypatch.setattr(pyvirtualcam.camera, "BACKENDS", real)
    with pytest.raises(vc.VirtualCamUnavailable, match="modprobe v4l2loopback"):
        vc.run_virtualcam("tcp://127.0.0.1:9", "cam", duration_s=5)


def test_unknown_backend_and_missing_pyvirtualcam(monkeypatch):
    with pytest.raises(vc.VirtualCamUnavailable, match="no virtual camera backend named 'nope'"):
        vc.run_virtualcam("tcp://127.0.0.1:9", "cam", backend="nope", duration_s=1)
    monkeypatch.setitem(sys.modules, "pyvirtualcam", None)
    with pytest.raises(vc.VirtualCamUnavailable, match=r"pip install 'facecast\[virtualcam\]'"):
        vc.run_virtualcam("tcp://127.0.0.1:9", "cam", duration_s=1)
