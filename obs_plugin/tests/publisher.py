"""Publisher side of the libobs integration test (test_obs_integration.c drives it over stdin).

Binds facecast's Publisher to tcp://127.0.0.1:0, prints `endpoint <ep>`, then obeys one command
per line on stdin and answers `ok <command>` on stdout:

    show FMT K        publish pattern K (see pattern()) as FMT (rgb24, rgba32, bgra32) at 30 fps
    jpeg              publish tests/vectors/frame_jpeg's JPEG at 30 fps
    other K           publish pattern K to session SESSION + "0" only (a longer id, same prefix)
    garbage           send a burst of malformed frames to SESSION, once
    lag MS            stamp frames' t_wall MS ms before they are sent (as if they took that long to
                      arrive); 0 by default
    stats MS|off      while publishing, send a `stats` event once a second saying the runtime's audio ->
                      frame latency is MS ms (`frame_latency_ms_p50`); none until this command or after `off`
    stop              stop publishing (the stream "stops")
    restart           close the socket, bind the same endpoint again, seq starts from 0
    live              close the socket; the real runtime (`facecast run --image`: the bundled portrait
                      talking to the bundled speech, JPEG frames at 30 fps) binds the same endpoint
    quit

    python publisher.py SESSION VECTORS_DIR
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import msgpack
import numpy as np

from facecast.bridge import protocol as P
from facecast.bridge.pubsub import Publisher

W, H = 32, 24          # pattern size; keep in step with test_obs_integration.c
FPS = 30


def pattern(k: int) -> np.ndarray:
    """(H, W, 3) uint8 RGB; the C test computes the same values."""
    y, x = np.mgrid[0:H, 0:W]
    r = (x * 8 + k * 40) & 255
    g = (y * 10 + k * 70) & 255
    b = ((x + y) * 5 + k * 100) & 255
    return np.stack([r, g, b], axis=-1).astype(np.uint8)


def raw_frame(fmt: str, k: int) -> tuple[int, bytes]:
    """-> (stride_bytes, payload) with 4 bytes of 0xEE row padding, as the vectors do."""
    rgb = pattern(k)
    alpha = np.full((H, W, 1), 255, np.uint8)
    pixels = {"rgb24": rgb, "rgba32": np.concatenate([rgb, alpha], -1),
              "bgra32": np.concatenate([rgb[..., ::-1], alpha], -1)}[fmt]
    rows = pixels.reshape(H, -1)
    padded = np.full((H, rows.shape[1] + 4), 0xEE, np.uint8)
    padded[:, : rows.shape[1]] = rows
    return padded.shape[1], padded.tobytes()


def read_parts(path: Path) -> list[bytes]:
    raw, parts, off = path.read_bytes(), [], 0
    while off < len(raw):
        n = int.from_bytes(raw[off: off + 4], "little")
        parts.append(raw[off + 4: off + 4 + n])
        off += 4 + n
    return parts


def garbage(session: str, jpeg: bytes) -> list[list[bytes]]:
    """Malformed frames under SESSION's topic: each must be dropped and counted."""
    topic = P.topic("frame", session)

    def header(**over) -> bytes:
        h = {"v": "1.0", "type": "frame", "seq": 1, "t_audio": 0.0, "t_wall": time.time(),
             "session": session, "fmt": "rgb24", "w": 2, "h": 2, "stride": 6}
        h.update(over)
        return msgpack.packb({k: v for k, v in h.items() if v is not None})

    return [
        [topic, b"\xc1", b""],                                           # not msgpack
        [topic, header()[:10], bytes(12)],                               # truncated header
        [topic, header(), bytes(11)],                                    # payload short
        [topic, header(w=100000, stride=300000), bytes(48)],             # oversize claim
        [topic, header(w=True), bytes(12)],                              # bool as int
        [topic, header(seq=None), bytes(12)],                            # missing seq
        [topic, b"\xdd\xff\xff\xff\xff", b""],                           # array claiming 2^32 items
        [topic, header(), bytes(12), b"extra"],                          # 4 parts
        [topic, header()],                                               # 2 parts
        [topic, header(fmt="jpeg", w=20, h=12, stride=0), jpeg[: len(jpeg) // 2]],  # cut JPEG
        [topic, header(fmt="jpeg", w=20, h=12, stride=0), b"not a jpeg at all"],
        [topic, header(v="2.0"), bytes(12)],                             # another major version
    ]


class LaggingPublisher(Publisher):
    """facecast's Publisher, stamping t_wall `lag_s` before the send: frames that look as if they had
    taken that much longer to reach the subscriber (the plugin's share of the audio delay)."""

    lag_s = 0.0

    def _stamp(self, kind: str, session: str, t_audio_s: float) -> P.Stamp:
        stamp = super()._stamp(kind, session, t_audio_s)
        stamp.t_wall_s -= self.lag_s
        return stamp


class Driver:
    def __init__(self, session: str, vectors: Path):
        self.session = session
        self.jpeg = read_parts(vectors / "frame_jpeg.parts")[2]
        self.pub = LaggingPublisher("tcp://127.0.0.1:0")
        self.endpoint = self.pub.endpoint
        self.mode: tuple | None = None
        self.stats_ms: float | None = None
        self.next_stats_s = 0.0
        self.lock = threading.Lock()
        self.t_audio_s = 0.0
        self.runtime = None
        threading.Thread(target=self.loop, daemon=True).start()

    def go_live(self) -> None:
        """Hand the endpoint to a real runtime rendering the bundled portrait."""
        from facecast.runtime.engine.config import SAMPLE_PORTRAIT, RuntimeConfig
        from facecast.runtime.engine.pipeline import Runtime

        self.mode = None
        self.pub.close()
        time.sleep(0.2)
        cfg = RuntimeConfig(session=self.session, image=SAMPLE_PORTRAIT, lips="energy", loop=True,
                            pub_endpoint=self.endpoint, control_endpoint="tcp://127.0.0.1:0", status_line=False)
        self.runtime = Runtime(cfg)
        threading.Thread(target=self.runtime.run, daemon=True).start()

    def loop(self) -> None:
        next_t = time.monotonic()
        while True:
            with self.lock:
                mode = self.mode
                if mode is not None and self.runtime is None:
                    kind, fmt, k = mode
                    session = self.session + "0" if kind == "other" else self.session
                    if fmt == "jpeg":
                        self.pub.frame(session, self.t_audio_s, "jpeg", 20, 12, 0, self.jpeg)
                    else:
                        stride, data = raw_frame(fmt, k)
                        self.pub.frame(session, self.t_audio_s, fmt, W, H, stride, data)
                    self.t_audio_s += 1 / FPS
                    if self.stats_ms is not None and time.monotonic() >= self.next_stats_s:
                        self.pub.event(session, "stats", {"fps": float(FPS), "frame_latency_ms_p50": self.stats_ms},
                                       t_audio_s=self.t_audio_s)
                        self.next_stats_s = time.monotonic() + 1.0
            next_t += 1 / FPS
            time.sleep(max(0.0, next_t - time.monotonic()))

    def command(self, words: list[str]) -> None:
        with self.lock:
            if words[0] == "show":
                self.mode = ("show", words[1], int(words[2]))
            elif words[0] == "jpeg":
                self.mode = ("show", "jpeg", 0)
            elif words[0] == "other":
                self.mode = ("other", "rgb24", int(words[1]))
            elif words[0] == "garbage":
                for _ in range(3):
                    for parts in garbage(self.session, self.jpeg):
                        self.pub.send(parts)
            elif words[0] == "lag":
                self.pub.lag_s = float(words[1]) / 1000.0
            elif words[0] == "stats":
                self.stats_ms = None if words[1] == "off" else float(words[1])
                self.next_stats_s = 0.0
            elif words[0] == "stop":
                self.mode = None
            elif words[0] == "live":
                self.go_live()
            elif words[0] == "restart":
                lag_s = self.pub.lag_s
                self.pub.close()
                time.sleep(0.2)
                self.pub = LaggingPublisher(self.endpoint)
                self.pub.lag_s = lag_s
                self.t_audio_s = 0.0
            else:
                raise ValueError(f"unknown command {words!r}")


def main() -> int:
    session, vectors = sys.argv[1], Path(sys.argv[2])
    driver = Driver(session, vectors)
    print(f"endpoint {driver.endpoint}", flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "quit":
            break
        driver.command(words)
        print(f"ok {words[0]}", flush=True)
    if driver.runtime is not None:
        driver.runtime.stop()
        time.sleep(0.5)
    else:
        driver.pub.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
