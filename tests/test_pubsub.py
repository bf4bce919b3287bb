"""Publisher/Subscriber on loopback: every message type round-trips, sessions are filtered
exactly, and a Subscriber finds a publisher that restarted on the same port."""

from __future__ import annotations

import time

import numpy as np
import pytest
import zmq

from facecast.bridge import protocol as P
from facecast.bridge.pubsub import Publisher, Subscriber
from facecast.bridge.schema import BLENDSHAPE_NAMES, GAZE_FIELDS, HEAD_FIELDS, VISEME_NAMES


@pytest.fixture
def ctx():
    ctx = zmq.Context()
    yield ctx
    ctx.term()


@pytest.fixture
def bound_pair(ctx):
    """A Publisher on a random loopback port and a Subscriber to everything on it, joined."""
    pub = Publisher("tcp://127.0.0.1:0", ctx=ctx)
    sub = Subscriber(pub.endpoint, ctx=ctx)
    join(pub, sub)
    yield pub, sub
    sub.close()
    pub.close()


def join(pub: Publisher, sub: Subscriber, session: str = "default", timeout_s: float = 5.0) -> None:
    """Handshake instead of a sleep: repeat a hello event until the subscriber has one, then
    drop the hellos still in flight."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        pub.event(session, "hello", {})
        msg = sub.recv(timeout_s=0.01)
        if isinstance(msg, P.EventMessage) and msg.name == "hello":
            while sub.recv(timeout_s=0.05) is not None:
                pass
            return
    raise AssertionError(f"subscriber never joined {pub.endpoint} within {timeout_s} s")


def motion_arrays(k: float = 0.0):
    return (np.linspace(0, 1, len(BLENDSHAPE_NAMES), dtype=np.float32) * (1 - k),
            np.arange(len(HEAD_FIELDS), dtype=np.float32) + k,
            np.full(len(GAZE_FIELDS), -2.5 + k, np.float32),
            np.eye(len(VISEME_NAMES), dtype=np.float32)[3])


def test_motion_round_trip(bound_pair):
    pub, sub = bound_pair
    blend, head, gaze, vis = motion_arrays(0.25)
    sent = pub.motion("default", 1.5, blend, head, gaze, vis, speaking=True)
    msg = sub.recv(timeout_s=5)
    assert isinstance(msg, P.MotionMessage)
    np.testing.assert_array_equal(msg.blendshapes, blend)
    np.testing.assert_array_equal(msg.head, head)
    np.testing.assert_array_equal(msg.gaze, gaze)
    np.testing.assert_array_equal(msg.visemes, vis)
    assert msg.speaking is True
    assert msg.stamp.session == "default"
    assert msg.stamp.seq == sent.stamp.seq == 0
    assert msg.stamp.t_audio_s == 1.5
    assert msg.stamp.t_wall_s == sent.stamp.t_wall_s
    assert msg.stamp.recv_wall_s >= msg.stamp.t_wall_s - 0.001


def test_raw_frame_round_trip_with_row_padding(bound_pair):
    pub, sub = bound_pair
    w, h, stride = 5, 3, 5 * 3 + 1   # one padding byte per row
    rows = np.arange(h * stride, dtype=np.uint8).reshape(h, stride)
    pub.frame("default", 0.0, "rgb24", w, h, stride, rows.tobytes())
    msg = sub.recv(timeout_s=5)
    assert isinstance(msg, P.FrameMessage)
    assert (msg.fmt, msg.width, msg.height, msg.stride_bytes) == ("rgb24", w, h, stride)
    np.testing.assert_array_equal(msg.to_array(), rows[:, : w * 3].reshape(h, w, 3))


def test_array_frame_is_sent_whole(bound_pair):
    pub, sub = bound_pair
    pixels = np.random.default_rng(0).integers(0, 256, (16, 8, 4), dtype=np.uint8)
    pub.frame("default", 0.0, "rgba32", 8, 16, 8 * 4, pixels)
    msg = sub.recv(timeout_s=5)
    np.testing.assert_array_equal(msg.to_array(), pixels)


def test_jpeg_frame_round_trip(bound_pair):
    pub, sub = bound_pair
    jpeg = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4 + b"\xff\xd9"  # the transport does not decode
    pub.frame("default", 2.0, "jpeg", 512, 512, 0, jpeg)
    msg = sub.recv(timeout_s=5)
    assert (msg.fmt, msg.width, msg.height, msg.stride_bytes) == ("jpeg", 512, 512, 0)
    assert bytes(msg.data) == jpeg
    with pytest.raises(ValueError):
        msg.to_array()


def test_event_round_trip(bound_pair):
    pub, sub = bound_pair
    pub.event("default", "stats", {"fps": 59.9, "dropped": 2, "names": ["a", "b"]}, t_audio_s=3.0)
    msg = sub.recv(timeout_s=5)
    assert isinstance(msg, P.EventMessage)
    assert msg.name == "stats"
    assert msg.data == {"fps": 59.9, "dropped": 2, "names": ["a", "b"]}
    assert msg.stamp.t_audio_s == 3.0


def test_seq_counts_per_topic(bound_pair):
    pub, sub = bound_pair
    for _ in range(3):
        pub.motion("default", 0.0, *motion_arrays())
    pub.event("default", "x", {})
    got = [sub.recv(timeout_s=5) for _ in range(4)]
    assert [m.stamp.seq for m in got[:3]] == [0, 1, 2]
    assert sub.stats.seq_gaps == 0


def test_session_filter_is_exact(ctx):
    pub = Publisher("tcp://127.0.0.1:0", ctx=ctx)
    sub = Subscriber(pub.endpoint, ctx=ctx, session="a")
    try:
        join(pub, sub, session="a")
        # "ab" shares the topic prefix "motion/a"; it must still be filtered out
        pub.motion("ab", 0.0, *motion_arrays())
        pub.motion("b", 0.0, *motion_arrays())
        assert sub.recv(timeout_s=0.3) is None
        pub.motion("ab", 1.0, *motion_arrays())
        pub.motion("a", 2.0, *motion_arrays())
        msg = sub.recv(timeout_s=5)
        assert msg.stamp.session == "a" and msg.stamp.t_audio_s == 2.0
        assert sub.recv(timeout_s=0.2) is None
    finally:
        sub.close()
        pub.close()


def test_recv_waits_past_filtered_messages(ctx):
    # A message of another session arriving first must not end recv() before its timeout.
    pub = Publisher("tcp://127.0.0.1:0", ctx=ctx)
    sub = Subscriber(pub.endpoint, ctx=ctx, session="a")
    try:
        join(pub, sub, session="a")
        pub.event("ab", "other", {})
        t0 = time.monotonic()
        assert sub.recv(timeout_s=0.3) is None
        assert time.monotonic() - t0 >= 0.25
    finally:
        sub.close()
        pub.close()


def test_kinds_filter(ctx):
    pub = Publisher("tcp://127.0.0.1:0", ctx=ctx)
    sub = Subscriber(pub.endpoint, ctx=ctx, kinds=("motion",))
    try:
        deadline = time.monotonic() + 5
        while sub.recv(timeout_s=0.01) is None:  # join on motion: the only kind it hears
            pub.motion("default", 0.0, *motion_arrays())
            assert time.monotonic() < deadline
        while sub.recv(timeout_s=0.05) is not None:
            pass
        pub.event("default", "ignored", {})
        pub.frame("default", 0.0, "rgb24", 1, 1, 3, b"\x00\x00\x00")
        pub.motion("default", 9.0, *motion_arrays())
        msg = sub.recv(timeout_s=5)
        assert isinstance(msg, P.MotionMessage) and msg.stamp.t_audio_s == 9.0
        assert sub.stats.by_kind["event"] == sub.stats.by_kind["frame"] == 0
    finally:
        sub.close()
        pub.close()


def test_unknown_kind_is_refused(ctx):
    with pytest.raises(ValueError, match="unknown kind"):
        Subscriber("tcp://127.0.0.1:1", ctx=ctx, kinds=("audio",))


def _bind_again(endpoint: str, ctx, timeout_s: float = 5.0) -> Publisher:
    # libzmq releases a closed listener on its I/O thread, a moment after close() returns
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return Publisher(endpoint, ctx=ctx)
        except zmq.ZMQError as exc:
            if exc.errno != zmq.EADDRINUSE or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def test_reconnect_after_publisher_restart(ctx):
    pub = Publisher("tcp://127.0.0.1:0", ctx=ctx)
    endpoint = pub.endpoint
    sub = Subscriber(endpoint, ctx=ctx)
    try:
        join(pub, sub)
        for i in range(3):
            pub.motion("default", float(i), *motion_arrays())
        assert [sub.recv(timeout_s=5).stamp.seq for _ in range(3)] == [0, 1, 2]
        pub.close()

        pub = _bind_again(endpoint, ctx)   # the runtime restarted on the same port
        join(pub, sub)                     # the Subscriber reconnects on its own
        gaps = sub.stats.seq_gaps          # hellos sent before it reconnected count as gaps
        pub.motion("default", 7.0, *motion_arrays())
        msg = sub.recv(timeout_s=5)
        assert isinstance(msg, P.MotionMessage)
        assert msg.stamp.seq == 0 and msg.stamp.t_audio_s == 7.0
        assert sub.stats.seq_gaps == gaps  # motion seq 2 -> 0 is a restart, not a gap
    finally:
        sub.close()
        pub.close()
