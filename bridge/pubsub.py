"""Stream transport: the runtime's PUB socket and the reference Subscriber.

Slow-consumer policy (docs/protocol.md, "Slow consumers"):
- the publisher never blocks: ZeroMQ keeps a bounded queue per subscriber (SNDHWM messages)
  and drops what does not fit for that subscriber alone; other subscribers are unaffected;
- the Subscriber drains its socket on every receive and keeps, per session, only the newest
  frame (older ones are counted as `frames_superseded`) and at most `param_queue` motion and
  event messages (the oldest are counted as `params_dropped`).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np
import zmq

from facecast.bridge import protocol as P
from facecast.bridge.security import CurveServer, apply_curve_client, check_bind, prepare_socket

DEFAULT_PUB_ENDPOINT = "tcp://127.0.0.1:5555"
DEFAULT_CONTROL_ENDPOINT = "tcp://127.0.0.1:5556"

# Per-subscriber queue bound in messages. At 60 Hz motion + 30 Hz frames this is ~0.7 s of
# stream; beyond it a stalled subscriber loses messages instead of growing our memory.
PUB_SNDHWM = 64


class Publisher:
    """Binds the runtime's PUB socket and stamps every message (seq per topic, t_wall at send).

    Thread-safe: motion and render threads may publish concurrently (a lock guards the socket).
    """

    def __init__(self, endpoint: str = DEFAULT_PUB_ENDPOINT, *, ctx: zmq.Context | None = None,
                 keys_dir=None, insecure: bool = False, curve: CurveServer | None = None,
                 sndhwm: int = PUB_SNDHWM):
        check_bind(endpoint, keys_dir, insecure)
        self.ctx = ctx or zmq.Context.instance()
        self._sock = self.ctx.socket(zmq.PUB)
        self._sock.linger = 0
        self._sock.sndhwm = sndhwm
        if keys_dir and curve is None:
            curve = CurveServer(self.ctx, keys_dir)
            self._own_curve = curve
        else:
            self._own_curve = None
        if curve is not None:
            curve.apply(self._sock)
        prepare_socket(self._sock, endpoint)
        self._sock.bind(endpoint)
        # A tcp://...:0 bind picks a free port; report the real one.
        self.endpoint = self._sock.getsockopt_string(zmq.LAST_ENDPOINT)
        self._lock = threading.Lock()
        self._seq: dict[bytes, int] = {}
        self.sent = 0
        self.send_failures = 0

    def _stamp(self, kind: str, session: str, t_audio_s: float) -> P.Stamp:
        key = P.topic(kind, session)
        seq = self._seq.get(key, 0)
        self._seq[key] = seq + 1
        return P.Stamp(session=session, seq=seq, t_audio_s=float(t_audio_s), t_wall_s=time.time())

    def send(self, parts: list) -> bool:
        """Send already-encoded parts without blocking. False (and counted) when ZeroMQ refused."""
        try:
            self._sock.send_multipart(parts, flags=zmq.NOBLOCK, copy=False)
        except zmq.Again:
            self.send_failures += 1
            return False
        self.sent += 1
        return True

    def motion(self, session: str, t_audio_s: float, blendshapes, head, gaze, visemes,
               speaking: bool = False) -> P.MotionMessage:
        """Publish one motion frame; arrays as in MotionMessage. Returns the message sent."""
        with self._lock:
            msg = P.MotionMessage(self._stamp("motion", session, t_audio_s), blendshapes, head, gaze, visemes, speaking)
            self.send(P.encode_motion(msg))
        return msg

    def frame(self, session: str, t_audio_s: float, fmt: str, width: int, height: int,
              stride_bytes: int, data) -> P.FrameMessage:
        """Publish one frame; `data` (bytes/memoryview/contiguous array) is sent without a copy."""
        if isinstance(data, np.ndarray):
            data = memoryview(np.ascontiguousarray(data)).cast("B")
        with self._lock:
            msg = P.FrameMessage(self._stamp("frame", session, t_audio_s), fmt, width, height, stride_bytes, data)
            self.send(P.encode_frame(msg))
        return msg

    def event(self, session: str, name: str, data: dict, t_audio_s: float = 0.0) -> P.EventMessage:
        with self._lock:
            msg = P.EventMessage(self._stamp("event", session, t_audio_s), name, data)
            self.send(P.encode_event(msg))
        return msg

    def close(self) -> None:
        with self._lock:
            self._sock.close(linger=0)
        if self._own_curve is not None:
            self._own_curve.stop()


@dataclass
class SubscriberStats:
    received: int = 0
    bad_messages: int = 0          # failed to decode (counted, never raised)
    last_error: str = ""
    frames_superseded: int = 0     # older frames replaced by a newer one before the caller took them
    params_dropped: int = 0        # motion/event messages beyond the queue bound
    seq_gaps: int = 0              # messages the publisher sent that never arrived (its HWM, restarts)
    by_kind: dict = field(default_factory=lambda: {"motion": 0, "frame": 0, "event": 0})


class Subscriber:
    """Reference client for the stream. Use as an iterator, with recv(), or with callbacks.

        sub = Subscriber("tcp://127.0.0.1:5555", session="default")
        for msg in sub:                       # MotionMessage | FrameMessage | EventMessage
            ...

    Each returned message's `stamp.recv_wall_s` is the time.time() at which it came off the
    socket, so latency = stamp.recv_wall_s - stamp.t_wall_s.
    """

    def __init__(self, endpoint: str = DEFAULT_PUB_ENDPOINT, *, kinds=P.KINDS, session: str | None = None,
                 ctx: zmq.Context | None = None, keys_dir=None, param_queue: int = 8, rcvhwm: int = 256):
        self.ctx = ctx or zmq.Context.instance()
        self.endpoint = endpoint
        self.session = session
        self.param_queue = param_queue
        self._sock = self.ctx.socket(zmq.SUB)
        self._sock.linger = 0
        self._sock.rcvhwm = rcvhwm
        self._sock.reconnect_ivl_max = 1000  # find a restarted runtime within a second
        if keys_dir:
            apply_curve_client(self._sock, keys_dir)
        for kind in kinds:
            if kind not in P.KINDS:
                raise ValueError(f"unknown kind {kind!r}; choose from {P.KINDS}")
            # The topic prefix "kind/session" also matches longer session ids; exact
            # session filtering happens after decoding.
            self._sock.setsockopt(zmq.SUBSCRIBE, P.topic(kind, session or ""))
        prepare_socket(self._sock, endpoint)
        self._sock.connect(endpoint)
        self._pending: deque = deque()
        self._last_seq: dict[tuple[str, str], int] = {}
        self.stats = SubscriberStats()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # -- receiving -------------------------------------------------------------------------

    def _accept(self, parts: list, now: float) -> None:
        try:
            msg = P.decode(parts)
        except P.ProtocolError as exc:
            self.stats.bad_messages += 1
            self.stats.last_error = str(exc)
            return
        if self.session is not None and msg.stamp.session != self.session:
            return
        msg.stamp.recv_wall_s = now
        kind = msg.__class__.__name__.removesuffix("Message").lower()
        self.stats.received += 1
        self.stats.by_kind[kind] += 1
        key = (kind, msg.stamp.session)
        last = self._last_seq.get(key)
        if last is not None and msg.stamp.seq > last + 1:
            self.stats.seq_gaps += msg.stamp.seq - last - 1
        self._last_seq[key] = msg.stamp.seq  # a lower seq means the publisher restarted
        if kind == "frame":
            # newest frame wins: a slow consumer must not work through a backlog of stale pictures
            for old in [m for m in self._pending
                        if isinstance(m, P.FrameMessage) and m.stamp.session == msg.stamp.session]:
                self._pending.remove(old)
                self.stats.frames_superseded += 1
        else:
            same = [m for m in self._pending
                    if not isinstance(m, P.FrameMessage) and m.stamp.session == msg.stamp.session]
            if len(same) >= self.param_queue:
                self._pending.remove(same[0])
                self.stats.params_dropped += 1
        self._pending.append(msg)

    def _drain(self, max_messages: int = 4096) -> None:
        for _ in range(max_messages):  # bounded: a fast publisher cannot keep us here forever
            try:
                parts = self._sock.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            self._accept(parts, time.time())

    def recv(self, timeout_s: float | None = None) -> P.StreamMessage | None:
        """Next message (newest-wins for frames), or None when nothing arrived within timeout_s."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        self._drain()
        while not self._pending:
            timeout_ms = None if deadline is None else max(0, int((deadline - time.monotonic()) * 1000))
            if not self._sock.poll(timeout_ms):
                return None
            self._drain()
            # What arrived may all have been filtered out (another session sharing our topic
            # prefix, or bad bytes): keep waiting for the rest of timeout_s, not return early.
            if not self._pending and deadline is not None and time.monotonic() >= deadline:
                return None
        return self._pending.popleft()

    def __iter__(self) -> Iterator[P.StreamMessage]:
        while True:
            msg = self.recv(timeout_s=None)
            if msg is not None:
                yield msg

    # -- callbacks -------------------------------------------------------------------------

    def start(self, on_motion: Callable | None = None, on_frame: Callable | None = None,
              on_event: Callable | None = None) -> "Subscriber":
        """Receive on a background thread and call the matching callback for each message.
        A callback that raises is reported on stderr and does not stop the thread."""
        handlers = {P.MotionMessage: on_motion, P.FrameMessage: on_frame, P.EventMessage: on_event}

        def loop() -> None:
            while not self._stop.is_set():
                msg = self.recv(timeout_s=0.1)
                handler = handlers.get(type(msg)) if msg is not None else None
                if handler is not None:
                    try:
                        handler(msg)
                    except Exception as exc:  # a consumer bug must not kill the stream
                        import traceback
                        traceback.print_exception(exc)

        self._stop.clear()
        self._thread = threading.Thread(target=loop, name="facecast-subscriber", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._sock.close(linger=0)

    def __enter__(self) -> "Subscriber":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
