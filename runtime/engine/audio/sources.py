"""Audio sources that feed an AudioRing: files and caller-pushed PCM.

Every source converts what it gets — any rate, any channel count — to 16 kHz mono float32
through a ``Feeder`` and writes it to the ring stamped with the wall time the audio arrived.
The microphone lives in ``mic.py``.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import numpy as np

from .resample import StreamResampler, to_mono
from .ring import AudioRing

log = logging.getLogger(__name__)


class AudioFileError(ValueError):
    """An audio file could not be opened or decoded; the message names the file and the fix."""


class Feeder:
    """Downmix + resample + write: turns source-format chunks into ring samples.

    Resampler state is carried across chunks; a change of input rate ends the old stream
    (its tail is flushed into the ring) and starts a new resampler.
    """

    def __init__(self, ring: AudioRing):
        self.ring = ring
        self._resampler: StreamResampler | None = None

    def write(
        self,
        samples: np.ndarray,
        sample_rate_hz: int,
        arrival_monotonic_s: float | None = None,
        arrival_wall_s: float | None = None,
    ) -> int:
        """samples: (n,) or (n, channels) float at ``sample_rate_hz``; returns ring samples written."""
        if arrival_monotonic_s is None:
            arrival_monotonic_s = time.monotonic()
        if arrival_wall_s is None:
            arrival_wall_s = time.time()
        if self._resampler is None or self._resampler.in_rate_hz != sample_rate_hz:
            self.flush(arrival_monotonic_s, arrival_wall_s)
            self._resampler = StreamResampler(sample_rate_hz, self.ring.sample_rate_hz)
        y = self._resampler.process(to_mono(samples))
        self.ring.write(y, arrival_monotonic_s, arrival_wall_s)
        return len(y)

    def flush(self, arrival_monotonic_s: float | None = None, arrival_wall_s: float | None = None) -> int:
        """End the current stream: write the resampler's tail (≈ its look-ahead) to the ring."""
        if self._resampler is None:
            return 0
        y = self._resampler.flush()
        self._resampler = None
        self.ring.write(y, arrival_monotonic_s, arrival_wall_s)
        return len(y)


class AudioSource:
    """Base of the threaded sources: ``start()``, ``stop()``, context manager, ``error``.

    A source's thread never raises into the caller: a failure is logged, kept in ``error`` and
    ends the thread, so a broken input never takes the runtime down.
    """

    def __init__(self, ring: AudioRing):
        self.ring = ring
        self._feeder = Feeder(ring)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def _run(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _guarded_run(self) -> None:
        try:
            self._run()
        except Exception as exc:  # why: a source thread must report, not crash the process
            self.error = exc
            log.error("%s failed: %s", self, exc)

    def start(self) -> "AudioSource":
        if self._thread is not None:
            raise RuntimeError(f"{self} already started")
        self._stop.clear()
        self._thread = threading.Thread(target=self._guarded_run, name=repr(self), daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def join(self, timeout_s: float | None = None) -> bool:
        """Wait for the source to finish on its own (a file that ends); True if it did."""
        if self._thread is None:
            return True
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class FileSource(AudioSource):
    """Play a wav/flac/ogg (anything libsndfile reads) into the ring.

    path: the file; any sample rate, mono or multichannel (downmixed).
    realtime: pace chunks at the file's own rate (for live-like runs and benchmarks); otherwise
        write as fast as possible — then mind the ring's capacity, the writer never waits.
    loop: start over at the end, keeping the resampler state (the loop point is one continuous
        stream, so t_audio keeps rising).
    chunk_ms: size of each write; arrival time is stamped per chunk.
    The file is opened in the constructor so a bad or empty file fails there, with ``AudioFileError``.
    NaN / infinite samples (float files) are written as 0 and counted in ``nonfinite_samples`` (warned once):
    the ring and the models downstream only ever see finite audio.
    """

    def __init__(
        self,
        path: str | Path,
        ring: AudioRing,
        realtime: bool = False,
        loop: bool = False,
        chunk_ms: float = 10.0,
    ):
        super().__init__(ring)
        self.path = Path(path)
        self.realtime, self.loop = realtime, loop
        info = _probe(self.path)
        self.file_sample_rate_hz = int(info.samplerate)
        self.file_channels = int(info.channels)
        self.file_frames = int(info.frames)
        self.chunk_frames = max(1, int(round(chunk_ms * self.file_sample_rate_hz / 1000)))
        self.finished = threading.Event()
        self.nonfinite_samples = 0
        if self.file_frames == 0:
            raise AudioFileError(f"audio file {self.path} contains no samples (0 frames); record or export it again")

    def _run(self) -> None:
        import soundfile as sf

        rate = self.file_sample_rate_hz
        frames_sent = 0
        t0 = time.monotonic()
        try:
            with sf.SoundFile(str(self.path)) as f:
                while not self._stop.is_set():
                    try:
                        block = f.read(self.chunk_frames, dtype="float32", always_2d=True)
                    except (RuntimeError, sf.LibsndfileError) as exc:
                        raise AudioFileError(
                            f"cannot decode {self.path} at frame {frames_sent % max(1, self.file_frames)}: "
                            f"{exc}; the file may be truncated or corrupt"
                        ) from exc
                    if len(block) == 0:
                        if not self.loop or frames_sent == 0:
                            break
                        f.seek(0)
                        continue
                    bad = ~np.isfinite(block)
                    if bad.any():
                        if not self.nonfinite_samples:
                            log.warning("%s: non-finite samples (NaN/inf) written as 0", self.path)
                        self.nonfinite_samples += int(bad.sum())
                        block = np.where(bad, np.float32(0.0), block)
                    if self.realtime:
                        # Sleep until the chunk's last sample would have been "spoken" live.
                        due = t0 + (frames_sent + len(block)) / rate
                        delay = due - time.monotonic()
                        if delay > 0 and self._stop.wait(delay):
                            break
                    self._feeder.write(block, rate)
                    frames_sent += len(block)
                self._feeder.flush()
        finally:
            self.finished.set()

    def __repr__(self) -> str:
        return f"FileSource({str(self.path)!r}, realtime={self.realtime}, loop={self.loop})"


def check_audio_path(path: str | Path) -> None:
    """AudioFileError naming the fix unless `path` is an existing regular file (libsndfile's own message for
    a missing file is "System error"; a folder or a FIFO would fail later or block)."""
    path = Path(path)
    if not path.exists():
        raise AudioFileError(f"no such file: {path}; check the path (a wav, flac or ogg file)")
    if not path.is_file():
        kind = "a folder" if path.is_dir() else "not a regular file"
        raise AudioFileError(f"{path} is {kind}; name an audio file (wav, flac or ogg)")


def _probe(path: Path):
    """soundfile.info() with errors that name the file and say what to do."""
    import soundfile as sf

    check_audio_path(path)
    try:
        info = sf.info(str(path))
    except (RuntimeError, sf.LibsndfileError, TypeError) as exc:
        raise AudioFileError(
            f"cannot read audio file {path}: {exc}. Supported: wav, flac, ogg/vorbis, and other "
            f"formats libsndfile {sf.__libsndfile_version__} reads; convert with "
            f"`sox {path.name} -r 16000 -c 1 out.wav`"
        ) from exc
    if info.samplerate <= 0 or info.channels <= 0:
        raise AudioFileError(f"audio file {path} reports {info.samplerate} Hz, {info.channels} channels")
    return info


# Push formats: name → (numpy dtype, bytes per sample, scale to [-1, 1]).
PUSH_FORMATS = {
    "pcm16": (np.dtype("<i2"), 2, 1.0 / 32768.0),
    "f32": (np.dtype("<f4"), 4, 1.0),
}
PUSH_RATE_RANGE_HZ = (8_000, 192_000)
PUSH_MAX_CHANNELS = 8
PUSH_MAX_CHUNK_S = 10.0  # one push of more than this is a client bug or an attack, not live audio


class PushSource:
    """Audio pushed by a caller (e.g. the control socket): raw bytes in, ring samples out.

    Thread-safe; ``push`` never blocks beyond a ring write. Every push is validated and bad
    input is refused with a ValueError that says what is wrong, leaving the stream untouched.
    """

    def __init__(self, ring: AudioRing):
        self.ring = ring
        self._feeder = Feeder(ring)
        self._lock = threading.Lock()
        self.rejected_pushes = 0

    def push(
        self,
        data: bytes | bytearray | memoryview,
        sample_rate_hz: int,
        channels: int = 1,
        sample_format: str = "pcm16",
        arrival_monotonic_s: float | None = None,
        arrival_wall_s: float | None = None,
    ) -> int:
        """Append one chunk; returns the number of 16 kHz samples written to the ring.

        data: interleaved little-endian samples, ``sample_format`` "pcm16" (int16) or "f32"
            (float32 in [-1, 1]), ``channels`` per frame, at ``sample_rate_hz``.
        Raises ValueError (message says what is wrong) for a wrong type, unknown format, rate
        or channel count out of range, a size that is not whole frames, an oversized chunk or
        non-finite floats.
        """
        try:
            frames = self._decode(data, sample_rate_hz, channels, sample_format)
        except ValueError:
            self.rejected_pushes += 1
            raise
        with self._lock:
            return self._feeder.write(frames, int(sample_rate_hz), arrival_monotonic_s, arrival_wall_s)

    def end_stream(self) -> int:
        """The pusher is done (or will switch rate): flush the resampler tail into the ring."""
        with self._lock:
            return self._feeder.flush()

    @staticmethod
    def _decode(data, sample_rate_hz, channels, sample_format) -> np.ndarray:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise ValueError(f"audio push: data must be bytes, got {type(data).__name__}")
        if sample_format not in PUSH_FORMATS:
            raise ValueError(
                f"audio push: unknown sample_format {sample_format!r}; use one of {sorted(PUSH_FORMATS)}"
            )
        lo, hi = PUSH_RATE_RANGE_HZ
        if isinstance(sample_rate_hz, bool) or not isinstance(sample_rate_hz, (int, np.integer)):
            raise ValueError(f"audio push: sample_rate_hz must be an integer, got {sample_rate_hz!r}")
        if not lo <= sample_rate_hz <= hi:
            raise ValueError(f"audio push: sample_rate_hz {sample_rate_hz} out of range [{lo}, {hi}]")
        if isinstance(channels, bool) or not isinstance(channels, (int, np.integer)):
            raise ValueError(f"audio push: channels must be an integer, got {channels!r}")
        if not 1 <= channels <= PUSH_MAX_CHANNELS:
            raise ValueError(f"audio push: channels {channels} out of range [1, {PUSH_MAX_CHANNELS}]")
        dtype, width, scale = PUSH_FORMATS[sample_format]
        n_bytes = memoryview(data).nbytes
        frame_bytes = width * channels
        if n_bytes % frame_bytes:
            raise ValueError(
                f"audio push: {n_bytes} bytes is not a whole number of frames "
                f"({sample_format}, {channels} ch = {frame_bytes} bytes per frame)"
            )
        n_frames = n_bytes // frame_bytes
        if n_frames > PUSH_MAX_CHUNK_S * sample_rate_hz:
            raise ValueError(
                f"audio push: {n_frames / sample_rate_hz:.1f} s in one chunk exceeds {PUSH_MAX_CHUNK_S:g} s; "
                f"send audio in smaller chunks (10–100 ms)"
            )
        x = np.frombuffer(data, dtype=dtype).reshape(n_frames, channels)
        if sample_format == "f32" and not np.all(np.isfinite(x)):
            raise ValueError("audio push: float32 data contains NaN or infinity")
        return x.astype(np.float32) * np.float32(scale)
