"""Adapters from facecast's motion stream to other ecosystems' apps.

    vmc.VmcSender          VMC protocol (OSC over UDP) for VSeeFace, Warudo, VNyan, VMagicMirror, EVMC4U, ...
    vtubestudio.VtsClient  VTube Studio's public plugin API (WebSocket, JSON)

Both take one MotionMessage at a time (`send(msg)`), never raise on a vanished app (they count the
drop and reconnect with backoff), and keep `stats` with the subscriber-receive -> packet-sent
latency. `run_adapter` drives either from a Subscriber, as a separate process (`facecast vmc`,
`facecast vts`) or on a thread beside the runtime; mappings live in `mapping.py`.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

import numpy as np


@dataclass
class AdapterStats:
    frames_in: int = 0             # motion messages handed to the adapter
    frames_sent: int = 0           # ... that went out as a packet / request
    frames_dropped: int = 0        # ... that could not go out (app gone, socket refused)
    frames_superseded: int = 0     # skipped by rate limiting: a newer frame arrived before the tick
    datagrams_sent: int = 0        # packets on the wire (VMC splits a frame over several datagrams)
    send_errors: int = 0
    last_error: str = ""
    latencies_ms: deque = field(default_factory=lambda: deque(maxlen=100_000))  # recv -> sent

    def note_sent(self, recv_wall_s: float | None) -> None:
        self.frames_sent += 1
        if recv_wall_s is not None:
            self.latencies_ms.append((time.time() - recv_wall_s) * 1000.0)

    def summary(self) -> dict:
        lat = np.array(self.latencies_ms)
        p50, p99 = (round(float(x), 4) for x in np.percentile(lat, [50, 99])) if len(lat) else (None, None)
        return {"frames_in": self.frames_in, "frames_sent": self.frames_sent,
                "frames_dropped": self.frames_dropped, "frames_superseded": self.frames_superseded,
                "datagrams_sent": self.datagrams_sent,
                "send_errors": self.send_errors, "last_error": self.last_error,
                "latency_ms_p50": p50, "latency_ms_p99": p99}  # None: nothing sent, no figure


def run_adapter(subscriber, send: Callable, *, rate_hz: float | None = None, duration_s: float | None = None,
                stop: threading.Event | None = None, stats: AdapterStats | None = None,
                on_tick: Callable[[], None] | None = None) -> None:
    """Feed motion messages from `subscriber` to `send(msg)` until `stop` is set or `duration_s`.

    rate_hz None: every motion frame is sent as it arrives (the runtime's motion rate).
    rate_hz given: the newest frame is sent on a clock of that rate; frames that a newer one
    replaced before its tick are counted as superseded (newest wins: never a backlog).
    """
    from facecast.bridge.protocol import MotionMessage

    stop = stop or threading.Event()
    end = None if duration_s is None else time.monotonic() + duration_s
    period = None if not rate_hz else 1.0 / rate_hz
    next_tick = time.monotonic()
    latest = None
    while not stop.is_set():
        now = time.monotonic()
        if end is not None and now >= end:
            break
        wait = 0.1 if period is None else max(0.0, min(0.1, next_tick - now))
        msg = subscriber.recv(timeout_s=wait)
        if isinstance(msg, MotionMessage):
            if stats is not None:
                stats.frames_in += 1
            if period is None:
                send(msg)
                continue
            if latest is not None and stats is not None:
                stats.frames_superseded += 1
            latest = msg
        if on_tick is not None:
            on_tick()
        if period is not None and time.monotonic() >= next_tick:
            if latest is not None:
                send(latest)
                latest = None
            next_tick += period
            if next_tick < time.monotonic() - period:  # fell far behind (suspended): resync, no burst
                next_tick = time.monotonic() + period
