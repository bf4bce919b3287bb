"""The studio in a real browser: `facecast studio` in its own process, headless Chromium fed a WAV as its
microphone, measured from the page.

    result = bench_studio(duration_s=20.0)   # JSON-ready dict; `facecast bench studio --json`

What is measured, all from the page's side (window.facecast.view):
  - latency: for every frame showing audio this tab pushed, the page's performance.now() when the frame was
    drawn minus when the depicted sample reached the page from its microphone (the AudioWorklet block that
    holds it; the server maps the frame's t_audio back to that block). So it spans page -> websocket ->
    studio -> push_audio -> lip model -> renderer -> JPEG -> websocket -> decode -> canvas; only the sound
    card's own input buffer (before the page sees the audio) is outside it.
  - frames shown per second, frames the page received;
  - CPU: the studio process (runtime + web server) and the browser's processes, % of one core each, from
    /proc over the measured interval.
The helpers (studio_process, chromium, speech_then_silence_wav) are the tests' too.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from facecast.runtime.workshop.bench import SAMPLE_RATE_HZ, machine_info

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
_URL_RE = re.compile(r"facecast studio on (http://\S+)")


def speech_then_silence_wav(path: Path, speech_s: float = 4.0, silence_s: float = 4.0) -> Path:
    """A 16 kHz mono PCM16 WAV: `speech_s` of the bundled speech, then digital silence (Chromium loops it)."""
    import soundfile as sf

    from facecast.runtime.engine.audio.files import load_audio_16k
    from facecast.runtime.engine.config import SAMPLE_SPEECH

    speech = load_audio_16k(SAMPLE_SPEECH)[: int(speech_s * SAMPLE_RATE_HZ)]
    sf.write(path, np.concatenate([speech, np.zeros(int(silence_s * SAMPLE_RATE_HZ), np.float32)]),
             SAMPLE_RATE_HZ, subtype="PCM_16")
    return path


@contextmanager
def studio_process(*extra_args: str, startup_timeout_s: float = 90.0):
    """`facecast studio` on free ports (web, stream, control); yields (process, page URL). Stops it after."""
    cmd = [sys.executable, "-c", "import sys; from facecast.runtime.cli import main; sys.exit(main())",
           "studio", "--port", "0", "--pub", "tcp://127.0.0.1:0",
           "--control", "tcp://127.0.0.1:0", *extra_args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue = queue.Queue()
    # one reader for all it prints: the URL line comes through it, and a full pipe can never block the studio
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout] + [lines.put(None)],
                     daemon=True).start()
    try:
        seen: list[str] = []
        deadline = time.monotonic() + startup_timeout_s
        url = None
        while url is None:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"facecast studio printed no URL within {startup_timeout_s:.0f} s: "
                                   f"{''.join(seen)[-2000:]}") from None
            if line is None:
                raise RuntimeError(f"facecast studio exited ({proc.wait()}): {''.join(seen)[-2000:]}")
            seen.append(line)
            match = _URL_RE.search(line)
            url = match.group(1) if match else None
        yield proc, url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def chromium(fake_audio: Path | None = None, width: int = 1200, height: int = 900):
    """Headless Chromium driven by selenium; `fake_audio` (a WAV) becomes its microphone. Yields the driver,
    with browser console logs kept (driver.get_log("browser"))."""
    os.environ.setdefault("SE_AVOID_STATS", "true")  # selenium's driver manager stays offline
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="facecast-chromium-") as profile:
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage", f"--user-data-dir={profile}", f"--window-size={width},{height}",
                     "--autoplay-policy=no-user-gesture-required"):
            opts.add_argument(flag)
        if fake_audio is not None:
            opts.add_argument("--use-fake-ui-for-media-stream")
            opts.add_argument("--use-fake-device-for-media-stream")
            opts.add_argument(f"--use-file-for-fake-audio-capture={fake_audio}")
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
        try:
            yield driver
        finally:
            driver.quit()


def console_errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def _proc_cpu_s(pid: int) -> float:
    """utime + stime of one process, seconds; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _descendants(pid: int) -> list[int]:
    """pid and every process below it (from /proc's parent links)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def _cpu_s(pids: list[int]) -> dict[int, float]:
    return {p: _proc_cpu_s(p) for p in pids}


def start_microphone(driver, url: str, timeout_s: float = 30.0) -> None:
    """Open the page, press its microphone button, wait until frames showing the pushed audio are drawn."""
    driver.get(url)
    driver.find_element("id", "mic-start").click()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if driver.execute_script("const l = window.facecast.view.last; return !!(l && l.capture_ms !== undefined)"):
            return
        time.sleep(0.2)
    raise TimeoutError(f"no frame showing this page's microphone audio within {timeout_s:.0f} s; "
                       f"console: {console_errors(driver)}")


def bench_studio(duration_s: float = 20.0, fps: int = 30) -> dict:
    """Browser microphone -> picture shown latency, frames shown per second and CPU, from a headless page."""
    with tempfile.TemporaryDirectory(prefix="facecast-bench-studio-") as tmp:
        wav = speech_then_silence_wav(Path(tmp) / "mic.wav", speech_s=8.0, silence_s=1.0)
        with studio_process("--fps", str(fps)) as (proc, url), chromium(fake_audio=wav) as driver:
            start_microphone(driver, url)
            time.sleep(2.0)  # let the pipeline settle
            driver.execute_script("window.facecast.view.latenciesMs = []; window.facecast.view.framesShown = 0;")
            studio_pids = _descendants(proc.pid)
            browser_pids = _descendants(driver.service.process.pid)
            cpu0 = _cpu_s(studio_pids), _cpu_s(browser_pids)
            published0 = (driver.execute_script("return window.facecast.stats()") or {}).get("frames_published", 0)
            t0 = time.monotonic()
            latencies: list[float] = []
            while time.monotonic() - t0 < duration_s:
                time.sleep(1.0)
                # the page keeps the last 300; take them in slices so none is lost
                latencies += driver.execute_script(
                    "const v = window.facecast.view; const out = v.latenciesMs; v.latenciesMs = []; return out;")
            elapsed = time.monotonic() - t0
            shown = driver.execute_script("return window.facecast.view.framesShown")
            stats = driver.execute_script("return window.facecast.stats()") or {}
            cpu1 = _cpu_s(studio_pids), _cpu_s(browser_pids)
            errors = console_errors(driver)
    lat = np.array(latencies or [np.nan])
    return {
        "benchmark": "studio",
        "what": "headless Chromium page, its fake microphone playing the bundled speech; `facecast studio` "
                f"rendering the bundled portrait at {fps} fps (raw RGBA with the person mask; the studio sends "
                "the page a JPEG and the mask)",
        "duration_s": round(elapsed, 1),
        "mic_to_shown_latency_ms_p50": round(float(np.percentile(lat, 50)), 1),
        "mic_to_shown_latency_ms_p95": round(float(np.percentile(lat, 95)), 1),
        "latency_samples": int(len(latencies)),
        "frames_shown_per_s": round(shown / elapsed, 2),
        # from the runtime's cumulative count (its stats events), over the same interval as frames shown
        "frames_published_per_s": round((stats.get("frames_published", 0) - published0) / elapsed, 2),
        "runtime_dropped_frames": stats.get("dropped_frames"),
        "runtime_audio_to_frame_ms_p50": stats.get("frame_latency_ms_p50"),
        "cpu_percent_studio": round(100 * (sum(cpu1[0].values()) - sum(cpu0[0].values())) / elapsed, 1),
        "cpu_percent_browser": round(100 * (sum(cpu1[1].values()) - sum(cpu0[1].values())) / elapsed, 1),
        "console_errors": errors,
        "machine": machine_info(),
    }
