"""A fake ALSA microphone that plays a known signal, for tests and benchmarks on machines
without a sound card (CI, containers).

How it works: an ALSA config that includes the system ``alsa.conf`` and adds a PCM of
``type file`` whose ``infile`` is a raw S16_LE file and whose slave is ``null``. On capture,
the ``null`` slave yields silence and the ``file`` plugin replaces it with the bytes of
``infile``. PortAudio lists the PCM as an input device named ``facecast_fake``.

Caveats, measured with alsa-lib 1.2.8 / PortAudio via sounddevice 0.5:
- The raw bytes are interpreted in the format the stream is opened with, so open it as int16,
  mono, at the rate the raw file was made at (MicSource opens int16; pass that rate).
- ``null`` has no clock: capture runs as fast as it is read (5 s of audio arrive in ~10 ms).
  Use it to check that the right samples arrive, not to measure latency; for paced input use
  ``FileSource(realtime=True)``.
- Past the end of ``infile`` the plugin returns stale buffer contents, not silence: pad the
  raw file with silence (``pad_s``) and stop reading at the signal's end.
- A FIFO as ``infile`` does not pace it either: short reads leave stale data in the blocks.
- ALSA reads ``ALSA_CONFIG_PATH`` when PortAudio initializes, so set it in the environment of
  a fresh process (``fake_mic_env``) before ``import sounddevice``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

FAKE_PCM_NAME = "facecast_fake"
SYSTEM_ALSA_CONF = "/usr/share/alsa/alsa.conf"


def write_fake_mic(
    workdir: str | Path,
    samples: np.ndarray,
    pad_s: float = 30.0,
    sample_rate_hz: int = 16_000,
    pcm_name: str = FAKE_PCM_NAME,
) -> Path:
    """Write ``signal.raw`` (S16_LE mono) and ``asound.conf`` into ``workdir``; return the conf path.

    samples: (n,) float in [-1, 1] (clipped) or int16, at ``sample_rate_hz``; followed by
    ``pad_s`` seconds of silence so a reader that overshoots gets zeros, not stale data.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    x = np.asarray(samples)
    if x.dtype != np.int16:
        x = np.round(np.clip(x.astype(np.float64), -1.0, 32767 / 32768) * 32768).astype(np.int16)
    pad = np.zeros(int(pad_s * sample_rate_hz), dtype=np.int16)
    raw_path = workdir / "signal.raw"
    np.concatenate([x, pad]).astype("<i2").tofile(raw_path)
    conf_path = workdir / "asound.conf"
    conf_path.write_text(
        f"<{SYSTEM_ALSA_CONF}>\n"
        f"pcm.{pcm_name} {{\n"
        f"    type file\n"
        f"    slave.pcm \"null\"\n"
        f"    file \"/dev/null\"\n"
        f"    infile \"{raw_path}\"\n"
        f"    format \"raw\"\n"
        f"}}\n"
    )
    return conf_path


def fake_mic_env(conf_path: str | Path, base: dict | None = None) -> dict:
    """Environment for a subprocess whose PortAudio should see the fake microphone."""
    env = dict(os.environ if base is None else base)
    env["ALSA_CONFIG_PATH"] = str(conf_path)
    return env
