"""`facecast listen`: the summary a user reads when a consumer shows nothing."""

import subprocess
import sys
import threading
import time

import numpy as np

from facecast.bridge import Publisher


def test_listen_reports_rate_latency_and_values_of_a_live_stream():
    pub = Publisher("tcp://127.0.0.1:0")
    stop = threading.Event()

    def stream():
        i = 0
        blend = np.zeros(52, np.float32)
        blend[17] = 0.6  # jawOpen
        while not stop.is_set():
            pub.motion("default", i / 60, blend, np.array([5, -3, 1, 0, 0, 0]), np.zeros(4), np.eye(15)[10])
            if i % 2 == 0:
                pub.frame("default", i / 60, "rgb24", 4, 2, 12, bytes(24))
            i += 1
            time.sleep(1 / 60)

    thread = threading.Thread(target=stream, daemon=True)
    thread.start()
    try:
        proc = subprocess.run([sys.executable, "-m", "facecast.runtime", "listen", pub.endpoint, "--duration", "2.5"],
                              capture_output=True, text=True, timeout=60)
    finally:
        stop.set()
        thread.join()
        pub.close()
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.strip().startswith("motion")]
    assert lines, proc.stdout
    last = lines[-1]
    rate = float(last.split()[2].removesuffix("/s"))
    assert 40 < rate < 80, last
    assert "latency p50" in last and "jawOpen=0.60" in last and "viseme=aa" in last
    assert "head p/y/r=+5.0/-3.0/+1.0deg" in last
    assert any(line.strip().startswith("frame") and "rgb24 4x2" in line for line in proc.stdout.splitlines())


def test_listen_says_what_to_check_when_nothing_arrives():
    proc = subprocess.run([sys.executable, "-m", "facecast.runtime", "listen", "tcp://127.0.0.1:9", "--duration", "1"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "nothing received" in proc.stdout and "session id" in proc.stdout
