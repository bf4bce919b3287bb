"""AudioRing: a bounded ring of mono float32 samples with sample-accurate timestamps.

The one clock of facecast starts here. Every sample has an absolute stream index (0, 1, 2, …
since the ring was created); its audio time is exactly ``t_audio_s = index / sample_rate_hz``.
Every written chunk also records the wall time it arrived (``time.monotonic()`` for latency
arithmetic, ``time.time()`` for logs and headers), so a reader can ask "when did sample N arrive?"
and report latency = publish time − arrival time of the newest audio a result depends on.

Threading: one writer (an audio callback, a file thread, a control-socket thread) and any number
of readers. The writer never waits for a reader: a full ring overwrites its oldest samples and
counts the ones no reader had reached yet (``overrun_samples``).
"""

from __future__ import annotations

import bisect
import threading
import time
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

MODEL_SAMPLE_RATE_HZ = 16_000


class SamplesOverwritten(IndexError):
    """A read asked for samples the ring has already overwritten (the reader fell behind)."""


class SamplesNotYetWritten(IndexError):
    """A strict read asked for samples past the newest one written."""


class Arrival(NamedTuple):
    """When a sample's chunk was written: ``monotonic_s`` (time.monotonic) and ``wall_s`` (time.time)."""

    monotonic_s: float
    wall_s: float


@dataclass(frozen=True)
class AudioSpan:
    """A copy of ring samples ``[start_index, start_index + len(samples))``.

    samples: (n,) float32 mono at ``sample_rate_hz``, nominally in [-1, 1].
    arrival: arrival time of the chunk holding the *last* sample: the moment the whole span
    was available, which is what latency is measured from. None for an empty span.
    """

    samples: np.ndarray
    start_index: int
    sample_rate_hz: int
    arrival: Arrival | None

    @property
    def stop_index(self) -> int:
        return self.start_index + len(self.samples)

    @property
    def t_audio_s(self) -> float:
        """Audio time of the first sample."""
        return self.start_index / self.sample_rate_hz

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate_hz


class AudioRing:
    """Bounded, thread-safe ring of mono float32 samples stamped with stream index and arrival time.

    Reading overwritten samples: ``read()`` is strict and raises ``SamplesOverwritten`` (or
    ``SamplesNotYetWritten`` for the future); ``read_from()`` is lenient and returns what is
    left, its ``start_index`` telling the caller how many samples were skipped.
    """

    def __init__(self, sample_rate_hz: int = MODEL_SAMPLE_RATE_HZ, capacity_s: float = 30.0):
        if sample_rate_hz <= 0:
            raise ValueError(f"sample_rate_hz must be positive, got {sample_rate_hz}")
        capacity_samples = int(round(capacity_s * sample_rate_hz))
        if capacity_samples <= 0:
            raise ValueError(f"capacity_s must hold at least one sample, got {capacity_s}")
        self.sample_rate_hz = int(sample_rate_hz)
        self.capacity_samples = capacity_samples
        self._buf = np.zeros(capacity_samples, dtype=np.float32)
        self._end_index = 0  # absolute index of the next sample to be written
        self._read_mark = 0  # highest stop index any reader has reached (for overrun counting)
        # Arrival records, one per written chunk, sorted by start index. Kept as parallel lists
        # with a moving head so lookups can bisect; the head is compacted now and then.
        self._rec_start: list[int] = []
        self._rec_mono: list[float] = []
        self._rec_wall: list[float] = []
        self._rec_head = 0
        self.overrun_samples = 0  # samples overwritten before any reader reached them
        self.overrun_events = 0
        self._cond = threading.Condition(threading.Lock())
        self._closed = False

    # ---- positions -------------------------------------------------------------------------

    @property
    def end_index(self) -> int:
        """Absolute index one past the newest sample written (= total samples ever written)."""
        return self._end_index

    @property
    def oldest_index(self) -> int:
        """Absolute index of the oldest sample still held."""
        return max(0, self._end_index - self.capacity_samples)

    def t_audio_s(self, index: int) -> float:
        """Audio time of sample ``index`` in seconds (exact up to float rounding)."""
        return index / self.sample_rate_hz

    def t_audio_ns(self, index: int) -> int:
        """Audio time of sample ``index`` in integer nanoseconds (exact for 16 kHz: 62 500 ns/sample)."""
        return index * 1_000_000_000 // self.sample_rate_hz

    def index_at(self, t_audio_s: float) -> int:
        """Index of the sample at audio time ``t_audio_s`` (floor)."""
        return int(np.floor(t_audio_s * self.sample_rate_hz + 1e-9))

    # ---- writing ---------------------------------------------------------------------------

    def write(
        self,
        samples: np.ndarray,
        arrival_monotonic_s: float | None = None,
        arrival_wall_s: float | None = None,
    ) -> int:
        """Append mono samples; return the absolute index of the first one.

        samples: (n,) array, converted to float32. Arrival times default to now; a source that
        knows better (the moment an audio callback started) passes its own. Never blocks on
        readers: the lock is held only for the copy.
        """
        if arrival_monotonic_s is None:
            arrival_monotonic_s = time.monotonic()
        if arrival_wall_s is None:
            arrival_wall_s = time.time()
        x = np.asarray(samples, dtype=np.float32).reshape(-1)
        n = len(x)
        with self._cond:
            start = self._end_index
            if n == 0:
                return start
            cap = self.capacity_samples
            old_oldest = self.oldest_index
            new_end = start + n
            new_oldest = max(0, new_end - cap)
            if new_oldest > old_oldest:
                unread = new_oldest - max(old_oldest, self._read_mark)
                if unread > 0:
                    self.overrun_samples += unread
                    self.overrun_events += 1
            # Only the newest `cap` samples of an oversized chunk can survive anyway.
            tail = x[-cap:] if n > cap else x
            tail_start = new_end - len(tail)
            pos = tail_start % cap
            first = min(len(tail), cap - pos)
            self._buf[pos : pos + first] = tail[:first]
            if first < len(tail):
                self._buf[: len(tail) - first] = tail[first:]
            self._end_index = new_end
            self._rec_start.append(start)
            self._rec_mono.append(float(arrival_monotonic_s))
            self._rec_wall.append(float(arrival_wall_s))
            self._prune_records(new_oldest)
            self._cond.notify_all()
            return start

    def _prune_records(self, oldest: int) -> None:
        # Drop records of chunks that lie wholly before `oldest` (the next record starts at or
        # before it); keep the one covering `oldest`. Bounded: at most one record per held sample.
        h = self._rec_head
        while h + 1 < len(self._rec_start) and self._rec_start[h + 1] <= oldest:
            h += 1
        self._rec_head = h
        if h > 1024 and h * 2 > len(self._rec_start):
            del self._rec_start[:h], self._rec_mono[:h], self._rec_wall[:h]
            self._rec_head = 0

    def close(self) -> None:
        """Mark the stream ended: wakes readers blocked in ``wait_for``."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    # ---- reading ---------------------------------------------------------------------------

    def arrival(self, index: int) -> Arrival:
        """Arrival wall time of sample ``index``; raises if it was overwritten or not yet written."""
        with self._cond:
            self._check_range(index, index + 1)
            return self._arrival_locked(index)

    def _arrival_locked(self, index: int) -> Arrival:
        i = bisect.bisect_right(self._rec_start, index, lo=self._rec_head) - 1
        return Arrival(self._rec_mono[i], self._rec_wall[i])

    def _check_range(self, start: int, stop: int) -> None:
        if start < 0 or stop < start:
            raise ValueError(f"bad sample range [{start}, {stop}): need 0 <= start <= stop")
        oldest = self.oldest_index
        if start < oldest:
            raise SamplesOverwritten(
                f"samples [{start}, {stop}) requested but the ring now starts at {oldest} "
                f"({(oldest - start) / self.sample_rate_hz * 1e3:.1f} ms overwritten): the reader "
                f"fell behind; read more often or raise capacity_s (now "
                f"{self.capacity_samples / self.sample_rate_hz:g} s)"
            )
        if stop > self._end_index:
            raise SamplesNotYetWritten(
                f"samples [{start}, {stop}) requested but only {self._end_index} written so far; "
                f"use wait_for({stop}) first"
            )

    def _copy_locked(self, start: int, stop: int) -> AudioSpan:
        cap = self.capacity_samples
        n = stop - start
        out = np.empty(n, dtype=np.float32)
        pos = start % cap
        first = min(n, cap - pos)
        out[:first] = self._buf[pos : pos + first]
        if first < n:
            out[first:] = self._buf[: n - first]
        arrival = self._arrival_locked(stop - 1) if n else None
        self._read_mark = max(self._read_mark, stop)
        return AudioSpan(out, start, self.sample_rate_hz, arrival)

    def read(self, start_index: int, stop_index: int) -> AudioSpan:
        """Strict copy of samples ``[start_index, stop_index)``.

        Raises SamplesOverwritten if any were overwritten, SamplesNotYetWritten if any are in the
        future. Never returns a partial span.
        """
        with self._cond:
            self._check_range(start_index, stop_index)
            return self._copy_locked(start_index, stop_index)

    def read_from(self, start_index: int, max_samples: int | None = None) -> AudioSpan:
        """Lenient read: the samples from ``start_index`` up to the newest (at most ``max_samples``).

        If ``start_index`` was overwritten the span starts at the oldest sample held instead:
        ``span.start_index - start_index`` samples were lost. Returns an empty span when nothing
        new is there.
        """
        with self._cond:
            start = max(int(start_index), self.oldest_index)
            stop = self._end_index
            if max_samples is not None:
                stop = min(stop, start + max(0, int(max_samples)))
            stop = max(stop, start)
            return self._copy_locked(start, stop)

    def read_latest(self, n_samples: int) -> AudioSpan:
        """The newest ``n_samples`` (fewer if fewer were written)."""
        with self._cond:
            stop = self._end_index
            start = max(self.oldest_index, stop - int(n_samples))
            return self._copy_locked(start, stop)

    def wait_for(self, stop_index: int, timeout_s: float | None = None) -> bool:
        """Block a *reader* until ``end_index >= stop_index``; False on timeout or when closed first."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self._end_index >= stop_index or self._closed, timeout=timeout_s
            ) and self._end_index >= stop_index

    def __repr__(self) -> str:
        return (
            f"AudioRing({self.sample_rate_hz} Hz, capacity {self.capacity_samples / self.sample_rate_hz:g} s, "
            f"held [{self.oldest_index}, {self._end_index}), overrun {self.overrun_samples} samples)"
        )
