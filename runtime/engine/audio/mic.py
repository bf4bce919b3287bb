"""Microphone input through sounddevice (PortAudio), and the input-device list.

``MicSource`` keeps a supervisor thread that opens the stream, watches it, and when the device
disappears (unplugged USB mic, ALSA error, callbacks stop coming) reports it and keeps trying
to reopen: a streamer's avatar should come back by itself when the mic is plugged back in.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .ring import AudioRing
from .sources import Feeder

log = logging.getLogger(__name__)


class DeviceNotFound(LookupError):
    """No input device matches what was asked for; the message lists the ones there are."""


@dataclass(frozen=True)
class InputDevice:
    """One audio input as PortAudio sees it."""

    index: int
    name: str
    channels: int
    default_sample_rate_hz: float
    host_api: str
    is_default: bool

    def __str__(self) -> str:
        star = "*" if self.is_default else " "
        return (
            f"{star}{self.index:3d}  {self.name}  ({self.host_api}, {self.channels} ch, "
            f"{self.default_sample_rate_hz:g} Hz)"
        )


def list_devices() -> list[InputDevice]:
    """The input devices (max_input_channels > 0), default marked: what `facecast devices` prints."""
    import sounddevice as sd

    try:
        default_in = sd.default.device[0]
    except Exception:  # why: no default device is a normal state on a headless box
        default_in = -1
    apis = [a["name"] for a in sd.query_hostapis()]
    out = []
    for d in sd.query_devices():
        if d["max_input_channels"] > 0:
            out.append(
                InputDevice(
                    index=int(d["index"]),
                    name=str(d["name"]),
                    channels=int(d["max_input_channels"]),
                    default_sample_rate_hz=float(d["default_samplerate"]),
                    host_api=apis[d["hostapi"]] if 0 <= d["hostapi"] < len(apis) else "?",
                    is_default=int(d["index"]) == default_in,
                )
            )
    return out


def find_device(device: int | str | None) -> InputDevice | None:
    """Resolve an index, or a case-insensitive name substring (exact name wins), to one input.

    None → None (PortAudio's default input). Raises DeviceNotFound for no match or several.
    """
    if device is None:
        return None
    devices = list_devices()
    listing = "\n".join(str(d) for d in devices) or "  (none: no input devices found)"
    if isinstance(device, (int, np.integer)) or (isinstance(device, str) and device.strip().isdigit()):
        idx = int(device)
        for d in devices:
            if d.index == idx:
                return d
        raise DeviceNotFound(f"no input device with index {idx}; inputs are:\n{listing}")
    needle = str(device).strip().lower()
    exact = [d for d in devices if d.name.lower() == needle]
    if exact:
        return exact[0]
    hits = [d for d in devices if needle in d.name.lower()]
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise DeviceNotFound(f"no input device name contains {device!r}; inputs are:\n{listing}")
    raise DeviceNotFound(
        f"{device!r} matches {len(hits)} input devices ({', '.join(repr(d.name) for d in hits)}); "
        f"give more of the name or the index"
    )


def _reinit_portaudio() -> None:
    # PortAudio enumerates devices only when initialized; without this a re-plugged mic stays
    # invisible. Safe here because facecast opens no other PortAudio streams.
    import sounddevice as sd

    try:
        sd._terminate()
        sd._initialize()
    except Exception as exc:
        log.warning("PortAudio re-initialization failed: %s", exc)


class MicSource:
    """Capture a microphone into the ring, resampled to the ring's rate and downmixed to mono.

    device: index, name substring (case-insensitive), or None for the default input.
    sample_rate_hz: rate to open the device at; None = the device's default rate (native rate
        gives the best quality; our resampler is exact). A fake ALSA ``file`` device needs the
        rate its raw file was made at.
    channels: channels to open (downmixed); clipped to what the device has.
    block_ms: PortAudio callback size; arrival time is stamped per block at callback entry.
    retry_interval_s: wait between reopen attempts after the device is lost.
    stall_timeout_s: no callback for this long while "running" counts as device loss.
    on_event: called as on_event(kind, message) for "opened", "open_failed" and "lost", from
        the supervisor thread; PortAudio input overflows are counted in ``input_overflows``.
    wait_for_device: if False (default) ``start()`` raises when the first open fails (a typo in
        the device name should be seen at once); if True it keeps retrying like after a loss.
    The device is opened as int16, the native format of nearly every ALSA capture device.
    """

    def __init__(
        self,
        ring: AudioRing,
        device: int | str | None = None,
        sample_rate_hz: int | None = None,
        channels: int = 1,
        block_ms: float = 10.0,
        retry_interval_s: float = 1.0,
        stall_timeout_s: float = 2.0,
        on_event: Callable[[str, str], None] | None = None,
        wait_for_device: bool = False,
        reinit_portaudio_on_retry: bool = True,
        stream_factory: Callable | None = None,
    ):
        self.ring = ring
        self.device = device
        self.requested_sample_rate_hz = sample_rate_hz
        self.requested_channels = max(1, int(channels))
        self.block_ms = block_ms
        self.retry_interval_s = retry_interval_s
        self.stall_timeout_s = stall_timeout_s
        self.on_event = on_event
        self.wait_for_device = wait_for_device
        self.reinit_portaudio_on_retry = reinit_portaudio_on_retry
        self._stream_factory = stream_factory  # tests inject a fake; default sd.InputStream
        self._feeder = Feeder(ring)
        self._stop = threading.Event()
        self._lost = threading.Event()
        self._thread: threading.Thread | None = None
        self._stream = None
        self._last_callback_s = 0.0
        self.sample_rate_hz: int | None = None  # the rate actually opened
        self.device_name: str | None = None
        self.opens = 0
        self.losses = 0
        self.input_overflows = 0

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> "MicSource":
        if self._thread is not None:
            raise RuntimeError("MicSource already started")
        self._stop.clear()
        if not self.wait_for_device:
            try:
                self._open()  # raises: a bad device or rate is a configuration error, say so now
            except DeviceNotFound:
                raise
            except Exception as exc:  # PortAudioError, or no PortAudio at all: a machine without a sound card
                raise DeviceNotFound(f"cannot open the microphone ({exc}); `facecast devices` lists the inputs "
                                     f"(pick one with --mic NAME), or use --audio FILE or --listen") from None
        self._thread = threading.Thread(target=self._supervise, name="MicSource", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 2.0) -> None:
        self._stop.set()
        self._lost.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        self._close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def connected(self) -> bool:
        return self._stream is not None and not self._lost.is_set()

    # ---- internals -------------------------------------------------------------------------

    def _report(self, kind: str, message: str) -> None:
        (log.warning if kind in ("lost", "open_failed") else log.info)("mic %s: %s", kind, message)
        if self.on_event is not None:
            try:
                self.on_event(kind, message)
            except Exception:  # why: a faulty listener must not stop the capture
                log.exception("MicSource on_event listener failed")

    def _open(self) -> None:
        factory = self._stream_factory
        if factory is None:
            import sounddevice as sd

            factory = sd.InputStream
        dev = find_device(self.device) if self._stream_factory is None else None
        rate = self.requested_sample_rate_hz or (dev.default_sample_rate_hz if dev else None)
        if rate is None:
            import sounddevice as sd

            info = sd.query_devices(kind="input")  # raises if there is no default input
            rate = info["default_samplerate"]
        rate = int(rate)
        channels = min(self.requested_channels, dev.channels) if dev else self.requested_channels
        self._lost.clear()
        self._last_callback_s = time.monotonic()
        self._rate_for_callback = rate
        stream = factory(
            device=dev.index if dev else self.device,
            samplerate=rate,
            channels=channels,
            dtype="int16",
            blocksize=max(1, int(round(rate * self.block_ms / 1000))),
            callback=self._callback,
            finished_callback=self._lost.set,
        )
        try:
            stream.start()
        except Exception:
            stream.close()
            raise
        self._stream = stream
        self.sample_rate_hz = rate
        self.device_name = dev.name if dev else str(self.device or "default")
        self.opens += 1
        self._report("opened", f"{self.device_name} at {rate} Hz, {channels} ch")

    def _close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.abort()
                stream.close()
            except Exception as exc:  # why: closing a vanished device often errors; it is gone anyway
                log.debug("closing lost mic stream: %s", exc)

    def _callback(self, indata, frames, time_info, status) -> None:
        # Stamp first: this is the moment the block reached us, the start of every latency.
        now_mono, now_wall = time.monotonic(), time.time()
        self._last_callback_s = now_mono
        if status and status.input_overflow:
            self.input_overflows += 1
        x = np.asarray(indata, dtype=np.float32) * np.float32(1.0 / 32768.0)
        self._feeder.write(x, self._rate_for_callback, now_mono, now_wall)

    def _supervise(self) -> None:
        while not self._stop.is_set():
            if self._stream is None:
                try:
                    self._open()
                except Exception as exc:
                    self._report("open_failed", f"{self.device or 'default input'}: {exc}")
                    if self._stop.wait(self.retry_interval_s):
                        break
                    if self.reinit_portaudio_on_retry and self._stream_factory is None:
                        _reinit_portaudio()
                    continue
            reason = self._watch()
            if self._stop.is_set():
                break
            self.losses += 1
            self._report("lost", f"{self.device_name}: {reason}; reopening every {self.retry_interval_s:g} s")
            self._close()
            # The stream will restart from a fresh device: end this resampler stream cleanly.
            self._feeder.flush()
            if self._stop.wait(self.retry_interval_s):
                break
            if self.reinit_portaudio_on_retry and self._stream_factory is None:
                _reinit_portaudio()

    def _watch(self) -> str:
        """Block until the open stream dies; return why."""
        while not self._stop.is_set():
            if self._lost.wait(0.05):
                return "stream finished or aborted"
            stream = self._stream
            if stream is None or not stream.active:
                return "stream no longer active"
            if time.monotonic() - self._last_callback_s > self.stall_timeout_s:
                return f"no audio for {self.stall_timeout_s:g} s"
        return "stopped"

    def __repr__(self) -> str:
        return f"MicSource(device={self.device!r}, opened at {self.sample_rate_hz} Hz, losses={self.losses})"
