"""A session's frames as a webcam for video calls (`facecast virtualcam` runs it).

pyvirtualcam (GPL-2.0, the optional extra `facecast[virtualcam]`) drives the device:
v4l2loopback on Linux, OBS Studio's Virtual Camera on Windows and macOS. Frames come from the
runtime's stream (newest wins, as every frame consumer here); the camera is fed at the stream's
own frame rate (measured from `t_audio`, or `fps=`), repeating the last picture when the
runtime is late, because video-call apps expect a steady camera.
"""

from __future__ import annotations

import io
import platform
import sys
import threading
import time

import numpy as np

from facecast.bridge import protocol as P
from facecast.bridge.pubsub import DEFAULT_PUB_ENDPOINT, Subscriber

DEFAULT_SIZE_PX = (512, 512)   # the protocol's default frame size: the camera is probed at it
DEFAULT_FPS = 30.0
FPS_PROBE_FRAMES = 6           # frames whose t_audio spacing gives the stream's fps
FPS_PROBE_S = 1.0              # ... or as many as arrive in this long


class VirtualCamUnavailable(RuntimeError):
    """No virtual camera could be opened; the message says what to install or run."""


def install_hint(system: str | None = None) -> str:
    """What a user of `system` (platform.system()) must install for a virtual camera device."""
    system = system or platform.system()
    if system == "Linux":
        return ("install v4l2loopback (Debian/Ubuntu: sudo apt install v4l2loopback-dkms) and load it: "
                "sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=facecast")
    return ("install OBS Studio (28 or newer), open it once and press 'Start Virtual Camera' then "
            "'Stop Virtual Camera' so the OBS Virtual Camera device is registered; keep OBS's own "
            "virtual camera stopped while facecast uses it")


def _import_pyvirtualcam():
    try:
        import pyvirtualcam
    except ImportError:
        raise VirtualCamUnavailable(
            "pyvirtualcam is not installed; install the extra: pip install 'facecast[virtualcam]'") from None
    return pyvirtualcam


def frame_to_rgb(msg: P.FrameMessage) -> np.ndarray:
    """(h, w, 3) uint8 RGB of a frame message: row padding removed, alpha dropped, JPEG decoded."""
    if msg.fmt == "jpeg":
        from PIL import Image

        with Image.open(io.BytesIO(bytes(msg.data))) as img:
            rgb = np.asarray(img.convert("RGB"))
        if rgb.shape[:2] != (msg.height, msg.width):
            raise ValueError(f"JPEG is {rgb.shape[1]}x{rgb.shape[0]}, header says {msg.width}x{msg.height}")
        return rgb
    pixels = msg.to_array()
    if msg.fmt == "bgra32":
        return np.ascontiguousarray(pixels[..., 2::-1])
    return np.ascontiguousarray(pixels[..., :3])


def _fit(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """Nearest-neighbour resize to the camera's size (the stream changed size mid-session)."""
    if rgb.shape[:2] == (height, width):
        return rgb
    ys = np.arange(height) * rgb.shape[0] // height
    xs = np.arange(width) * rgb.shape[1] // width
    return np.ascontiguousarray(rgb[ys][:, xs])


def _stream_fps(t_audio_s: list[float]) -> float | None:
    """Median spacing of consecutive frames' t_audio -> frames per second, None if unknown."""
    gaps = [b - a for a, b in zip(t_audio_s, t_audio_s[1:]) if b > a]
    if not gaps:
        return None
    return float(min(240.0, max(1.0, round(1.0 / float(np.median(gaps)), 2))))


class _Camera:
    """Opens pyvirtualcam cameras and turns their failures into VirtualCamUnavailable."""

    def __init__(self, backend: str | None, device: str | None):
        self.pv = _import_pyvirtualcam()
        self.backend, self.device = backend, device
        self.cam = None

    def open(self, width: int, height: int, fps: float):
        if self.cam is not None and (self.cam.width, self.cam.height, self.cam.fps) == (width, height, fps):
            return self.cam
        self.close()
        known = self.pv.camera.BACKENDS
        if self.backend and self.backend not in known:  # checked here: pyvirtualcam's KeyError path warns
            raise VirtualCamUnavailable(f"no virtual camera backend named {self.backend!r}; this platform has "
                                        f"{', '.join(sorted(known)) or 'none'}")
        try:
            self.cam = self.pv.Camera(width, height, fps, fmt=self.pv.PixelFormat.RGB,
                                      backend=self.backend, device=self.device)
        except Exception as exc:  # pyvirtualcam raises RuntimeError/ValueError, backends anything
            detail = " ".join(str(exc).split())
            raise VirtualCamUnavailable(f"no virtual camera device could be opened ({detail}); "
                                        f"{install_hint()}") from None
        return self.cam

    def close(self) -> None:
        if self.cam is not None:
            self.cam.close()
            self.cam = None


def run_virtualcam(endpoint: str = DEFAULT_PUB_ENDPOINT, session: str = "default", fps: float | None = None,
                   backend: str | None = None, *, device: str | None = None, keys_dir=None,
                   duration_s: float | None = None, stop: threading.Event | None = None,
                   log=None) -> dict:
    """Feed `session`'s frames from the stream at `endpoint` to a virtual camera until `stop` is
    set, `duration_s` has passed or Ctrl-C.

    fps: the camera's rate; None measures the stream's (t_audio spacing of its first frames).
    backend, device: pyvirtualcam's (None: the platform's first that works).
    Returns counters: frames_received, frames_sent, frames_bad, width, height, fps, backend, device.
    Raises VirtualCamUnavailable (before waiting for any frame) when no camera can be opened.
    """
    log = log or (lambda text: print(text, file=sys.stderr, flush=True))
    stop = stop or threading.Event()
    deadline = None if duration_s is None else time.monotonic() + duration_s
    camera = _Camera(backend, device)
    # Fail fast: a missing device is reported before we wait for a runtime that may not be up.
    camera.open(*DEFAULT_SIZE_PX, fps or DEFAULT_FPS)
    stats = {"frames_received": 0, "frames_sent": 0, "frames_bad": 0, "width": None, "height": None,
             "fps": None, "backend": camera.cam.backend, "device": camera.cam.device}

    def done() -> bool:
        return stop.is_set() or (deadline is not None and time.monotonic() >= deadline)

    def take(msg) -> np.ndarray | None:
        try:
            rgb = frame_to_rgb(msg)
        except Exception as exc:  # a bad JPEG must not end the camera: keep the last picture
            stats["frames_bad"] += 1
            stats["last_error"] = f"{type(exc).__name__}: {exc}"
            return None
        stats["frames_received"] += 1
        return rgb

    try:
        with Subscriber(endpoint, kinds=("frame",), session=session, keys_dir=keys_dir) as sub:
            log(f"virtual camera {camera.cam.device} ({camera.cam.backend}); waiting for frames of session "
                f"{session!r} from {endpoint}")
            # First frames: the picture size, and the stream's fps from their t_audio spacing.
            first, times, probe_end = None, [], None
            while not done():
                msg = sub.recv(timeout_s=0.1)
                if msg is not None and (rgb := take(msg)) is not None:
                    first = rgb
                    times.append(msg.stamp.t_audio_s)
                    probe_end = probe_end or time.monotonic() + FPS_PROBE_S
                if first is not None and (fps or len(times) >= FPS_PROBE_FRAMES or time.monotonic() >= probe_end):
                    break
            if first is None:
                return stats
            height, width = first.shape[:2]
            rate = fps or _stream_fps(times) or DEFAULT_FPS
            cam = camera.open(width, height, rate)
            stats.update(width=width, height=height, fps=rate, backend=cam.backend, device=cam.device)
            log(f"streaming {width}x{height} at {rate:g} fps to {cam.device}; Ctrl-C stops")

            current = first
            while not done():
                msg = sub.recv(timeout_s=0)  # newest frame, if one came since the last tick
                if msg is not None and (rgb := take(msg)) is not None:
                    current = _fit(rgb, width, height)
                cam.send(current)            # repeat the last picture when the runtime is late
                stats["frames_sent"] += 1
                cam.sleep_until_next_frame()
    except KeyboardInterrupt:
        pass
    finally:
        camera.close()
    return stats
