"""The studio's view of the stream: one Subscriber whose thread keeps, per session, the newest frame already
encoded for the browsers that watch it, and wakes their senders on the web server's event loop.

Encodings are made once per frame on the subscriber thread, and only for sessions someone watches: a JPEG of
the colour (the runtime's own JPEG when it publishes JPEG) and, for rgba32/bgra32 frames, a PNG whose alpha
channel is the person mask. The pages draw the JPEG and cut it with the mask (canvas `destination-in`): /obs
over a transparent page, the main view over a plain backdrop. Each is ~1 ms for 512x512 (libjpeg-turbo; zlib
level 1 on a mostly flat mask). Frames go to browsers as JPEG + mask rather than one PNG/WebP with alpha,
which costs 10-30 ms per frame to encode.
"""

from __future__ import annotations

import asyncio
import io
import json
import struct
import threading
from dataclasses import dataclass, field

import numpy as np

from facecast.bridge import protocol as P
from facecast.bridge.pubsub import Subscriber

VIEW_KINDS = ("main", "obs")
JPEG_QUALITY = 85


@dataclass
class Encoded:
    """One frame as the browsers get it: `jpeg` always; `alpha` (PNG, mode LA) for frames that carry alpha."""

    seq: int
    t_audio_s: float
    width: int
    height: int
    jpeg: bytes | None
    alpha: bytes | None


@dataclass
class Feed:
    """One session as the studio sees it: the newest frame, the newest stats, and who watches."""

    newest: Encoded | None = None
    stats: dict | None = None
    viewers: set = field(default_factory=set)  # Viewer objects, touched on the event loop only
    watching: int = 0  # tabs watching; read by the subscriber thread


class Viewer:
    """One browser tab watching a session: its kind of view and the event that wakes its sender."""

    def __init__(self, session: str, kind: str):
        if kind not in VIEW_KINDS:
            raise ValueError(f"view kind {kind!r}: choose one of {VIEW_KINDS}")
        self.session = session
        self.kind = kind
        self.wake = asyncio.Event()
        self.events: list[dict] = []  # runtime events not yet sent to this tab (bounded in Hub._wake)


def _encode_jpeg(rgb: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=JPEG_QUALITY)
    return buf.getvalue()


def _encode_alpha(alpha: np.ndarray) -> bytes:
    """(H, W) uint8 -> PNG in mode LA (white, alpha = mask): drawable with canvas `destination-in`."""
    from PIL import Image

    la = np.empty(alpha.shape + (2,), np.uint8)
    la[..., 0] = 255
    la[..., 1] = alpha
    buf = io.BytesIO()
    Image.fromarray(la, "LA").save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def encode_frame(msg: P.FrameMessage) -> Encoded:
    """A FrameMessage (jpeg, rgb24, rgba32 or bgra32) -> its JPEG and, with alpha, its mask."""
    jpeg = alpha = None
    if msg.fmt == "jpeg":
        jpeg = bytes(msg.data)
    else:
        pixels = msg.to_array()  # (H, W, C) uint8 view of the payload
        rgb = pixels[..., 2::-1] if msg.fmt == "bgra32" else pixels[..., :3]
        jpeg = _encode_jpeg(np.ascontiguousarray(rgb))
        if pixels.shape[2] == 4:
            alpha = _encode_alpha(np.ascontiguousarray(pixels[..., 3]))
    return Encoded(msg.stamp.seq, msg.stamp.t_audio_s, msg.width, msg.height, jpeg, alpha)


def pack_frame(header: dict, encoded: Encoded) -> bytes:
    """The binary websocket message: u32 LE header length, the header as JSON, the JPEG, then the alpha PNG.

    header gets jpeg / alpha byte counts added; the page slices the payload with them."""
    alpha = encoded.alpha or b""
    head = json.dumps({**header, "jpeg": len(encoded.jpeg), "alpha": len(alpha)}).encode()
    return b"".join((struct.pack("<I", len(head)), head, encoded.jpeg, alpha))


class Hub:
    """Subscribes to the runtime's frames and events; serves the newest of each to the web server's viewers.

    Thread use: the Subscriber thread writes `Feed.newest` / `Feed.stats` and calls the loop back with
    call_soon_threadsafe; everything else (viewers, wake events) lives on the event loop.
    """

    def __init__(self, pub_endpoint: str, loop: asyncio.AbstractEventLoop, keys_dir=None):
        self.loop = loop
        self.feeds: dict[str, Feed] = {}
        self._lock = threading.Lock()  # feeds dict: created by either side
        self.frames_seen = 0
        self.encode_errors = 0
        # param_queue bounds events per session; frames are newest-wins inside the Subscriber already
        self.sub = Subscriber(pub_endpoint, kinds=("frame", "event"), keys_dir=keys_dir, param_queue=32)
        self.sub.start(on_frame=self._on_frame, on_event=self._on_event)

    def feed(self, session: str) -> Feed:
        with self._lock:
            return self.feeds.setdefault(session, Feed())

    # -- subscriber thread ---------------------------------------------------------------------------

    def _on_frame(self, msg: P.FrameMessage) -> None:
        feed = self.feed(msg.stamp.session)
        self.frames_seen += 1
        if not feed.watching:
            return  # nobody watches this session: a closed tab costs nothing
        try:
            feed.newest = encode_frame(msg)
        except (ValueError, OSError):
            self.encode_errors += 1
            return
        self.loop.call_soon_threadsafe(self._wake, msg.stamp.session)

    def _on_event(self, msg: P.EventMessage) -> None:
        feed = self.feed(msg.stamp.session)
        if msg.name == "stats":
            feed.stats = dict(msg.data)
        self.loop.call_soon_threadsafe(self._wake, msg.stamp.session, {"name": msg.name, "data": msg.data,
                                                                        "t_audio": msg.stamp.t_audio_s})

    # -- event loop ----------------------------------------------------------------------------------

    def _wake(self, session: str, event: dict | None = None) -> None:
        feed = self.feed(session)
        for viewer in feed.viewers:
            if event is not None:
                if len(viewer.events) < 64:  # a tab that stopped reading loses events, not our memory
                    viewer.events.append(event)
            viewer.wake.set()

    def watch(self, viewer: Viewer) -> Feed:
        feed = self.feed(viewer.session)
        feed.viewers.add(viewer)
        feed.watching += 1
        return feed

    def unwatch(self, viewer: Viewer) -> None:
        feed = self.feed(viewer.session)
        if viewer in feed.viewers:
            feed.viewers.discard(viewer)
            feed.watching -= 1

    def close(self) -> None:
        self.sub.close()
