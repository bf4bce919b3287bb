"""VTuber-app adapter benchmark: the latency each adapter adds, subscriber receive -> packet sent.

    result = bench_adapters(duration_s=5.0)     # JSON-ready dict

A helper process plays the rest of the world: a Publisher sending synthetic motion at 60 Hz (as a
runtime does), a UDP sink standing in for a VMC receiver (VSeeFace/Warudo/VNyan), and the
protocol-level VTube Studio stand-in (bridge/testing/vtubestudio_server.py). This process runs what
`facecast vmc` / `facecast vts` run: a Subscriber, run_adapter, and the adapter.

Measured per adapter, per frame: `time.time()` right after the send call returned minus the
Subscriber's `recv_wall_s` (the moment the message came off the ZeroMQ socket): mapping, encoding
and the socket write. Not included: ZeroMQ transport before (see `facecast bench bridge`) and
the app's own processing after. A 0.5 s warm-up (connection, VTube Studio authentication) is
excluded. Figures are as good as the machine is quiet: `machine.loadavg` is recorded.
"""

from __future__ import annotations

import multiprocessing as mp
import socket
import threading
import time

import numpy as np

from facecast.runtime.workshop.bench import machine_info

MOTION_RATE_HZ = 60.0
WARMUP_S = 0.5


def _world_main(duration_s: float, ready, done, out) -> None:
    """Child: publisher at 60 Hz + UDP sink + fake VTube Studio, until `done` is set."""
    from facecast.bridge.testing.vtubestudio_server import FakeVTubeStudio
    from facecast.bridge.pubsub import Publisher

    fake = FakeVTubeStudio().start()
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    sink.settimeout(0.1)
    received = {"datagrams": 0, "bytes": 0}

    def drain() -> None:
        while not done.is_set():
            try:
                data = sink.recv(65536)
            except socket.timeout:
                continue
            received["datagrams"] += 1
            received["bytes"] += len(data)

    threading.Thread(target=drain, daemon=True).start()
    pub = Publisher("tcp://127.0.0.1:0")
    ready.put({"pub": pub.endpoint, "vmc_port": sink.getsockname()[1], "vts_url": fake.url})
    rng = np.random.default_rng(0)
    t0 = time.monotonic()
    n = 0
    while not done.is_set():
        t = n / MOTION_RATE_HZ
        sleep = t0 + t - time.monotonic()
        if sleep > 0:
            time.sleep(sleep)
        blend = rng.uniform(0, 1, 52).astype(np.float32)
        head = np.array([10 * np.sin(t), 20 * np.sin(0.7 * t), 5 * np.sin(0.3 * t), 0, 0, 0], np.float32)
        vis = rng.dirichlet(np.ones(15)).astype(np.float32)
        pub.motion("bench", t, blend, head, np.zeros(4, np.float32), vis, speaking=True)
        n += 1
    pub.close()
    fake.stop()
    out.put({"published": n, "vmc_datagrams": received["datagrams"], "vmc_bytes": received["bytes"],
             "vts_injected": len(fake.injected), "vts_violations": fake.violations[:10],
             "vts_errors_sent": fake.errors_sent[:10]})


def _run_one(name: str, endpoints: dict, duration_s: float) -> dict:
    from facecast.bridge.adapters import AdapterStats, run_adapter
    from facecast.bridge.pubsub import Subscriber

    if name == "vmc":
        from facecast.bridge.adapters.vmc import VmcConfig, VmcSender

        adapter = VmcSender(VmcConfig(port=endpoints["vmc_port"]))
    else:
        import tempfile
        from pathlib import Path

        from facecast.bridge.adapters.vtubestudio import VtsClient

        adapter = VtsClient(endpoints["vts_url"], token_path=Path(tempfile.mkdtemp()) / "token.json")
    with Subscriber(endpoints["pub"], kinds=("motion",)) as sub:
        run_adapter(sub, adapter.send, duration_s=WARMUP_S)
        adapter.stats = AdapterStats()
        t0 = time.perf_counter()
        run_adapter(sub, adapter.send, duration_s=duration_s, stats=adapter.stats)
        elapsed = time.perf_counter() - t0
        subscriber = {"params_dropped": sub.stats.params_dropped, "seq_gaps": sub.stats.seq_gaps}
    result = adapter.stats.summary()
    result.pop("frames_superseded")
    result["frames_per_s"] = round(result["frames_sent"] / elapsed, 1)
    result["subscriber"] = subscriber
    if name == "vts":
        result["reconnects"] = adapter.reconnects
        result["api_errors"] = adapter.api_errors
    adapter.close()
    return result


def _encode_cost_us(repeats: int = 600) -> dict:
    """CPU cost of building one frame's payload (no socket), microseconds per frame."""
    import json

    from facecast.bridge.adapters.mapping import vts_parameters
    from facecast.bridge.adapters.vmc import VmcConfig, VmcSender

    rng = np.random.default_rng(1)
    b, h, g, v = (rng.uniform(0, 1, 52).astype(np.float32), np.array([5, 10, 2, 0, 0, 0], np.float32),
                  np.zeros(4, np.float32), rng.dirichlet(np.ones(15)).astype(np.float32))
    with VmcSender(VmcConfig(port=9)) as sender:
        t0 = time.perf_counter()
        for _ in range(repeats):
            datagrams = sender.encode(b, h, v)
        vmc_us = (time.perf_counter() - t0) / repeats * 1e6
    t0 = time.perf_counter()
    for _ in range(repeats):
        json.dumps({"parameterValues": [{"id": k, "value": round(x, 5)} for k, x in vts_parameters(b, h, g).items()]})
    vts_us = (time.perf_counter() - t0) / repeats * 1e6
    return {"vmc_encode_us": round(vmc_us, 1), "vmc_frame_bytes": sum(len(d) for d in datagrams),
            "vmc_datagrams_per_frame": len(datagrams), "vmc_largest_datagram_bytes": max(len(d) for d in datagrams),
            "vts_map_json_us": round(vts_us, 1)}


def bench_adapters(duration_s: float = 5.0) -> dict:
    """Subscriber-receive -> packet-sent latency (p50/p99) of the VMC and VTube Studio adapters
    against local stand-in servers, `duration_s` each, at 60 Hz motion."""
    try:
        import websockets  # noqa: F401  (the VTube Studio adapter's transport)
    except ImportError:
        return {"error": "the VTube Studio adapter needs the `websockets` package: pip install websockets"}
    ctx = mp.get_context("spawn")
    ready, out, done = ctx.Queue(), ctx.Queue(), ctx.Event()
    world = ctx.Process(target=_world_main, args=(duration_s, ready, done, out), daemon=True)
    result: dict = {
        "machine": machine_info(),
        "motion_rate_hz": MOTION_RATE_HZ, "duration_s": duration_s,
        "measures": "per frame: time.time() after the send call returned - Subscriber recv_wall_s",
    }
    world.start()
    try:
        endpoints = ready.get(timeout=60)
        result["vmc"] = _run_one("vmc", endpoints, duration_s)
        result["vts"] = _run_one("vts", endpoints, duration_s)
    finally:
        done.set()
        try:
            result["world"] = out.get(timeout=10)
        except Exception as exc:  # the helper's summary is a bonus; the figures above stand
            result["world"] = {"error": repr(exc)}
        world.join(timeout=5)
        if world.is_alive():
            world.terminate()
    result["encode_cost"] = _encode_cost_us()
    return result


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(bench_adapters(float(sys.argv[1]) if len(sys.argv) > 1 else 5.0), indent=2))
