"""Slow consumers never slow the producer (DESIGN.md): a frame subscriber that stops reading
costs the publisher nothing and another subscriber's motion stream nothing.

The timing bounds are deliberately loose (shared CI machines are noisy): a publisher that
blocked on the stalled peer would show up as seconds, not milliseconds.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
import traceback

import numpy as np
import pytest
import zmq

from facecast.bridge import protocol as P
from facecast.bridge.pubsub import Publisher, Subscriber

SESSION = "stall"
STREAM_S = 3.0
MOTION_HZ = 60
FRAME_EVERY = 2          # a frame on every 2nd motion tick: 30 Hz
SIDE_PX = 512


# -- the healthy subscriber: its own process, as Unity or OBS would be -------------------------

def _healthy_subscriber(endpoint: str, ready, done, out) -> None:
    sub = None
    try:
        # a queue long enough that this consumer's own bound (param_queue) never drops: what is
        # measured is what the publisher delivered, even when the machine is busy
        sub = Subscriber(endpoint, kinds=("motion", "event"), session=SESSION, ctx=zmq.Context(),
                         param_queue=100_000)
        while True:
            msg = sub.recv(timeout_s=10)
            if msg is None:
                raise TimeoutError("no hello from the publisher within 10 s")
            if isinstance(msg, P.EventMessage) and msg.name == "hello":
                break
        ready.set()
        seqs, latencies_ms = [], []
        while True:
            msg = sub.recv(timeout_s=0.3)
            if msg is None:
                if done.is_set():
                    break
                continue
            if isinstance(msg, P.MotionMessage):
                seqs.append(msg.stamp.seq)
                latencies_ms.append((msg.stamp.recv_wall_s - msg.stamp.t_wall_s) * 1e3)
        out.send({"seqs": seqs, "latencies_ms": latencies_ms, "seq_gaps": sub.stats.seq_gaps})
    except BaseException:
        out.send({"error": traceback.format_exc()})
    finally:
        if sub is not None:
            sub.close()


def _stalled_subscriber(ctx: zmq.Context, endpoint: str) -> zmq.Socket:
    """Subscribed to everything, with the smallest buffers, so that its backlog reaches the
    publisher's high-water mark within the run (the default 1000-message queue would not)."""
    sock = ctx.socket(zmq.SUB)
    sock.linger = 0
    sock.rcvhwm = 1
    sock.rcvbuf = 64 * 1024
    sock.setsockopt(zmq.SUBSCRIBE, b"")
    sock.connect(endpoint)
    return sock


def _publish(pub: Publisher, timing: dict) -> None:
    """Motion at MOTION_HZ, a 512x512 rgb24 frame every FRAME_EVERY ticks, paced by the clock."""
    pixels = np.zeros((SIDE_PX, SIDE_PX, 3), np.uint8)
    blend, head, gaze, vis = (np.zeros(n, np.float32) for n in (52, 6, 4, 15))
    n_ticks = int(STREAM_S * MOTION_HZ)
    sent_before, max_send_s = pub.sent, 0.0
    t0 = time.perf_counter()
    for i in range(n_ticks):
        wait_s = t0 + i / MOTION_HZ - time.perf_counter()
        if wait_s > 0:
            time.sleep(wait_s)
        t = time.perf_counter()
        pub.motion(SESSION, i / MOTION_HZ, blend, head, gaze, vis)
        if i % FRAME_EVERY == 0:
            pub.frame(SESSION, i / MOTION_HZ, "rgb24", SIDE_PX, SIDE_PX, SIDE_PX * 3, pixels)
        max_send_s = max(max_send_s, time.perf_counter() - t)
    timing.update(motion_sent=n_ticks, sent=pub.sent - sent_before, max_send_ms=max_send_s * 1e3,
                  elapsed_s=time.perf_counter() - t0)


def _stream(with_stall: bool) -> dict:
    """Publish motion at 60 Hz and 512x512 rgb24 frames at 30 Hz for STREAM_S to a healthy
    subscriber process (and a stalled one); return what both sides saw."""
    ctx = zmq.Context()
    pub = Publisher("tcp://127.0.0.1:0", ctx=ctx)
    stalled = _stalled_subscriber(ctx, pub.endpoint) if with_stall else None
    spawn = mp.get_context("spawn")
    ready, done = spawn.Event(), spawn.Event()
    out_r, out_w = spawn.Pipe(duplex=False)
    healthy = spawn.Process(target=_healthy_subscriber, args=(pub.endpoint, ready, done, out_w), daemon=True)
    healthy.start()
    publisher = None
    try:
        # Handshake, no sleeps: hello until the healthy one says ready and the stalled one has
        # heard one too (its only recv: from here on it never reads again).
        stalled_joined = stalled is None
        deadline = time.monotonic() + 30
        while not (ready.is_set() and stalled_joined):
            pub.event(SESSION, "hello", {})
            ready.wait(0.005)
            if not stalled_joined and stalled.poll(0):
                stalled.recv_multipart()
                stalled_joined = True
            assert time.monotonic() < deadline, "subscribers did not join within 30 s"
            assert healthy.is_alive(), "the healthy subscriber process died"

        # Publish from a thread so that a publisher which blocks fails the test instead of
        # hanging it.
        timing = {}
        publisher = threading.Thread(target=_publish, args=(pub, timing), name="stall-publisher", daemon=True)
        publisher.start()
        publisher.join(timeout=STREAM_S + 10)
        if publisher.is_alive():
            if stalled is not None:
                stalled.close(linger=0)  # lets a blocked send go, so that teardown can finish
                stalled = None
            publisher.join(timeout=5)
            pytest.fail(f"the publisher blocked: {STREAM_S} s of stream not sent within {STREAM_S + 10} s")
        done.set()

        assert out_r.poll(30), "the healthy subscriber reported nothing"
        result = out_r.recv()
        assert "error" not in result, result.get("error")
        result.update(timing, send_failures=pub.send_failures)
        if stalled is not None:
            # What the stalled socket can still hand over is bounded by the queues between us
            # (the publisher's 64-message high-water mark, socket buffers), not by the stream's
            # length: whatever is missing the publisher dropped for it alone, and moved on.
            got = 0
            while stalled.poll(200):
                stalled.recv_multipart(copy=False)
                got += 1
            result["stalled_received"] = got
        return result
    finally:
        done.set()
        healthy.join(timeout=5)
        if healthy.is_alive():
            healthy.terminate()
        if stalled is not None:
            stalled.close(linger=0)
        if publisher is None or not publisher.is_alive():
            pub.close()
            ctx.term()
        # else a blocked publisher thread still owns the socket (and its lock): leave both to
        # the end of the process rather than hang here too


def _p99(values) -> float:
    return float(np.percentile(np.asarray(values), 99))


def test_stalled_frame_subscriber_costs_nobody_anything():
    baseline = _stream(with_stall=False)
    stalled = _stream(with_stall=True)

    for run in (baseline, stalled):
        # every motion message reached the healthy subscriber, in order, none missing
        assert run["seqs"] == list(range(run["motion_sent"])), run["seq_gaps"]
        assert run["seq_gaps"] == 0
        # the publisher never waited: each send returned at once and the stream kept its pace
        assert run["send_failures"] == 0
        assert run["max_send_ms"] < 50, run["max_send_ms"]
        assert run["elapsed_s"] < STREAM_S + 0.5, run["elapsed_s"]

    # the stall really happened: the stalled peer could not have taken everything
    assert stalled["stalled_received"] < 0.75 * stalled["sent"], (stalled["stalled_received"], stalled["sent"])

    base_p99, stall_p99 = _p99(baseline["latencies_ms"]), _p99(stalled["latencies_ms"])
    assert stall_p99 < 20, f"motion p99 {stall_p99:.2f} ms with a stalled peer (baseline {base_p99:.2f} ms)"
    assert stall_p99 < base_p99 + 10, f"motion p99 {stall_p99:.2f} ms vs baseline {base_p99:.2f} ms"


# -- the reference Subscriber's own bounds ----------------------------------------------------

@pytest.fixture
def inproc_pair():
    """inproc delivers into the subscriber's queue before send() returns, so what a drain
    sees is exactly what was sent: no timing in these tests."""
    ctx = zmq.Context()
    pub = Publisher("inproc://newest-wins", ctx=ctx)
    sub = Subscriber("inproc://newest-wins", ctx=ctx, param_queue=8)
    deadline = time.monotonic() + 5
    while not isinstance(sub.recv(timeout_s=0.01), P.EventMessage):
        pub.event("s", "hello", {})
        assert time.monotonic() < deadline
    while sub.recv(timeout_s=0) is not None:
        pass
    yield pub, sub
    sub.close()
    pub.close()
    ctx.term()


def _motion(pub: Publisher, session: str, t: float) -> None:
    pub.motion(session, t, np.zeros(52, np.float32), np.zeros(6, np.float32), np.zeros(4, np.float32),
               np.zeros(15, np.float32))


def test_newest_frame_wins_and_motion_queue_is_bounded(inproc_pair):
    pub, sub = inproc_pair
    stats_before = (sub.stats.frames_superseded, sub.stats.params_dropped)
    assert stats_before == (0, 0)
    for i in range(20):
        _motion(pub, "s", float(i))
    for i in range(5):
        pub.frame("s", float(i), "rgb24", 2, 2, 6, bytes([i]) * 12)

    got = []
    while (msg := sub.recv(timeout_s=0)) is not None:
        got.append(msg)

    # only the 8 newest motion messages survive, then the newest frame alone
    assert [type(m).__name__ for m in got] == ["MotionMessage"] * 8 + ["FrameMessage"]
    assert [m.stamp.seq for m in got[:8]] == list(range(12, 20))
    assert got[-1].stamp.seq == 4 and bytes(got[-1].data) == bytes([4]) * 12
    assert sub.stats.frames_superseded == 4
    assert sub.stats.params_dropped == 12
    assert sub.stats.by_kind["frame"] == 5      # every frame was received, and counted
    assert sub.stats.seq_gaps == 0


def test_newest_wins_is_per_session(inproc_pair):
    pub, sub = inproc_pair
    for i in range(3):
        pub.frame("s", float(i), "rgb24", 1, 1, 3, b"abc")
        pub.frame("t", float(i), "rgb24", 1, 1, 3, b"xyz")
    got = []
    while (msg := sub.recv(timeout_s=0)) is not None:
        got.append(msg)
    assert sorted((m.stamp.session, m.stamp.seq) for m in got) == [("s", 2), ("t", 2)]
    assert sub.stats.frames_superseded == 4


def test_frames_do_not_evict_motion(inproc_pair):
    pub, sub = inproc_pair
    for i in range(3):
        _motion(pub, "s", float(i))
        pub.frame("s", float(i), "rgb24", 1, 1, 3, b"abc")
    got = []
    while (msg := sub.recv(timeout_s=0)) is not None:
        got.append(msg)
    kinds = [(type(m).__name__, m.stamp.seq) for m in got]
    assert kinds == [("MotionMessage", 0), ("MotionMessage", 1), ("MotionMessage", 2), ("FrameMessage", 2)]
    assert sub.stats.params_dropped == 0
