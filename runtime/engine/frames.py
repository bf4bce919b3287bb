"""Video frames for a live session: the newest motion frame rendered on the portrait at a fixed fps.

The motion loop offers every motion frame it publishes; this worker's own thread renders only the newest
one once the audio clock reaches the next frame time, so rendering never delays the parameters and a
machine that falls behind drops frames (counted) instead of queueing them or drifting from the audio.
"""

from __future__ import annotations

import io
import math
import threading
import time
from collections import deque

import numpy as np

from facecast.bridge.pubsub import Publisher
from facecast.runtime.engine.motion.frame import MotionFrame

FRAME_FORMATS = ("jpeg", "rgb24", "rgba32", "bgra32")
ALPHA_FORMATS = ("rgba32", "bgra32")   # raw with an alpha byte; JPEG and rgb24 are always opaque


def encode_jpeg(rgb: np.ndarray, quality: int = 85) -> bytes:
    """(H, W, 3) uint8 RGB -> baseline JFIF bytes."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def _opaque(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> (H, W, 4) with alpha 255."""
    return np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 255, np.uint8)], -1)


class FrameWorker:
    """Renders and publishes one session's frames at `fps` on its own thread.

    renderer: anything with render(MotionFrame) -> (S, S, 3) uint8 (avatar.render.PortraitRenderer).
    frame_format: "jpeg" (quality `jpeg_quality`), "rgb24" (raw, stride = 3 * S), or "rgba32" / "bgra32"
    (raw, stride = 4 * S, straight alpha); transparent: with an alpha format, the person on a transparent
    background (renderer.render_rgba), else alpha 255.
    marker: a provenance.Marker that marks every frame before it is encoded; None only for --no-watermark.
    """

    def __init__(self, session_id: str, renderer, publisher: Publisher, fps: int = 30,
                 frame_format: str = "jpeg", jpeg_quality: int = 85, marker=None, transparent: bool = False):
        if frame_format not in FRAME_FORMATS:
            raise ValueError(f"frame format {frame_format!r}: choose one of {FRAME_FORMATS}")
        if transparent and frame_format not in ALPHA_FORMATS:
            raise ValueError(f"a transparent background needs an alpha frame format {ALPHA_FORMATS}; "
                             f"{frame_format} is opaque")
        self.transparent = transparent
        if not 1 <= fps <= 60:
            raise ValueError(f"fps={fps} outside 1..60")
        self.session_id = session_id
        self.renderer = renderer
        self.publisher = publisher
        self.fps = fps
        self.frame_format = frame_format
        self.jpeg_quality = jpeg_quality
        self.marker = marker
        self._cond = threading.Condition()
        self._newest: tuple[MotionFrame, float] | None = None  # (frame, arrival wall time of its audio)
        self._next_index = 1  # frame k shows t_audio = k / fps
        self._stop = False
        self.published = 0
        self.dropped = 0
        self.render_errors = 0  # frames a renderer failed on (published as one `error` event per avatar)
        self._failing = None    # the renderer that failed last: its frames are skipped until set_renderer
        self.latencies_ms: deque = deque(maxlen=4096)  # depicted audio's arrival -> frame published
        self.render_ms: deque = deque(maxlen=4096)
        self._thread = threading.Thread(target=self._loop, name=f"facecast-frames-{session_id}", daemon=True)

    def start(self) -> "FrameWorker":
        self._thread.start()
        return self

    def set_renderer(self, renderer) -> None:
        """Swap the avatar between frames (set_avatar)."""
        with self._cond:
            self.renderer = renderer
            self._failing = None

    def skip_until(self, t_audio_s: float) -> None:
        """Motion loop, while the session is paused: frame times up to t_audio_s are not shown, and not
        counted as dropped (nobody asked for them)."""
        with self._cond:
            self._next_index = max(self._next_index, int(math.floor(t_audio_s * self.fps + 1e-6)) + 1)

    def offer(self, frame: MotionFrame, arrival_wall_s: float) -> None:
        """Motion loop: the newest published motion frame replaces any older one not yet rendered."""
        with self._cond:
            self._newest = (frame, arrival_wall_s)
            if frame.t_audio_s * self.fps >= self._next_index - 1e-6:
                self._cond.notify()

    def _take(self) -> tuple[MotionFrame, float] | None:
        with self._cond:
            while not self._stop:
                item = self._newest
                if item is not None and item[0].t_audio_s * self.fps >= self._next_index - 1e-6:
                    index = int(math.floor(item[0].t_audio_s * self.fps + 1e-6))
                    # frame times passed while we were busy are dropped, never rendered late
                    self.dropped += max(0, index - self._next_index)
                    self._next_index = index + 1
                    self._newest = None
                    return item
                self._cond.wait(timeout=0.1)
            return None

    def _loop(self) -> None:
        while True:
            item = self._take()
            if item is None:
                return
            frame, arrival_wall_s = item
            renderer = self.renderer
            if renderer is self._failing:
                continue
            try:
                self._show(renderer, frame, arrival_wall_s)
            except Exception as exc:  # a renderer that cannot draw this avatar must not end the frames for good
                self._failed(renderer, frame, exc)

    def _failed(self, renderer, frame: MotionFrame, exc: Exception) -> None:
        """Count the failure; the first one of a renderer becomes an `error` event, and its frames stop
        until set_renderer brings another (motion goes on meanwhile)."""
        self.render_errors += 1
        with self._cond:
            if renderer is not self.renderer:
                return  # swapped while this frame rendered: the new one gets its chance
            self._failing = renderer
        message = (f"frames stopped: the avatar cannot be rendered ({type(exc).__name__}: {exc})"[:400]
                   + "; send a good one with set_avatar")
        try:
            self.publisher.event(self.session_id, "error", {"code": "render", "message": message},
                                 t_audio_s=frame.t_audio_s)
        except Exception:
            pass  # publisher closing: nothing left to tell

    def _show(self, renderer, frame: MotionFrame, arrival_wall_s: float) -> None:
        """Render, mark, encode and publish one frame."""
        t0 = time.perf_counter()
        if self.frame_format in ALPHA_FORMATS:
            rgba = renderer.render_rgba(frame) if self.transparent else _opaque(renderer.render(frame))
            if self.marker is not None:  # the colour is marked; alpha carries no mark
                rgba[..., :3] = self.marker.mark(np.ascontiguousarray(rgba[..., :3]))
            rgb = rgba if self.frame_format == "rgba32" else rgba[..., [2, 1, 0, 3]]
        else:
            rgb = renderer.render(frame)
            if self.marker is not None:  # before any encoder or sink, so no path leaves unmarked
                rgb = self.marker.mark(rgb)
        size = rgb.shape[0]
        if self.frame_format == "jpeg":
            data, stride = encode_jpeg(rgb, self.jpeg_quality), 0
        else:
            data, stride = np.ascontiguousarray(rgb), rgb.shape[2] * rgb.shape[1]
        self.render_ms.append((time.perf_counter() - t0) * 1000.0)
        msg = self.publisher.frame(self.session_id, frame.t_audio_s, self.frame_format, rgb.shape[1], size,
                                   stride, data)
        self.latencies_ms.append(max(0.0, msg.stamp.t_wall_s - arrival_wall_s) * 1000.0)
        self.published += 1

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread.ident is not None:  # a session removed before it ever started
            self._thread.join(timeout=2)
