"""Tests for facecast.runtime.engine.audio: ring timestamps, streaming resampling, sources, microphone."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import resample_poly

from facecast.runtime.engine.audio import (
    AudioFileError,
    AudioRing,
    DeviceNotFound,
    Feeder,
    FileSource,
    MicSource,
    PushSource,
    SamplesNotYetWritten,
    SamplesOverwritten,
    StreamResampler,
    to_mono,
)
from fakes.alsa_mic import FAKE_PCM_NAME, fake_mic_env, write_fake_mic

RATE = 16_000


def sine(freq_hz: float, rate_hz: int, dur_s: float, amp: float = 0.5) -> np.ndarray:
    return (amp * np.sin(2 * np.pi * freq_hz * np.arange(int(rate_hz * dur_s)) / rate_hz)).astype(np.float32)


def one_shot_16k(x: np.ndarray, rate_hz: int) -> np.ndarray:
    r = StreamResampler(rate_hz)
    return resample_poly(np.asarray(x, dtype=np.float64), r.up, r.down).astype(np.float32)


def peak_freq_hz(x: np.ndarray, rate_hz: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)), n=8 * len(x)))
    return float(np.argmax(spec) * rate_hz / (8 * len(x)))


# ---- AudioRing ---------------------------------------------------------------------------


def test_index_to_time_is_exact():
    ring = AudioRing(RATE, capacity_s=1.0)
    assert ring.t_audio_s(0) == 0.0
    assert ring.t_audio_s(RATE * 3600) == 3600.0
    assert ring.t_audio_ns(1) == 62_500
    assert ring.t_audio_ns(RATE * 10 + 3) == 10_000_187_500
    for i in (0, 1, 159, 160, 12345, RATE * 3600 + 7):
        assert ring.index_at(ring.t_audio_s(i)) == i


def test_arrival_time_per_chunk_and_span_stamps():
    ring = AudioRing(RATE, capacity_s=1.0)
    sizes = [160, 1, 333, 160]
    starts = []
    for k, n in enumerate(sizes):
        starts.append(ring.write(np.full(n, k, np.float32), arrival_monotonic_s=100.0 + k, arrival_wall_s=1e9 + k))
    assert starts == [0, 160, 161, 494]
    assert ring.end_index == 654
    for k, (s, n) in enumerate(zip(starts, sizes)):
        assert ring.arrival(s) == (100.0 + k, 1e9 + k)
        assert ring.arrival(s + n - 1).monotonic_s == 100.0 + k
    span = ring.read(100, 200)  # ends inside chunk 2: whole span available when chunk 2 arrived
    assert span.start_index == 100 and span.stop_index == 200
    assert span.t_audio_s == 100 / RATE
    assert span.arrival.monotonic_s == 102.0
    np.testing.assert_array_equal(span.samples[:60], 0)
    np.testing.assert_array_equal(span.samples[60:61], 1)
    np.testing.assert_array_equal(span.samples[61:], 2)
    with pytest.raises(SamplesNotYetWritten, match="only 654 written"):
        ring.arrival(654)


def test_default_arrival_is_now():
    ring = AudioRing(RATE, capacity_s=1.0)
    t0m, t0w = time.monotonic(), time.time()
    ring.write(np.zeros(10))
    a = ring.arrival(5)
    assert t0m <= a.monotonic_s <= time.monotonic()
    assert t0w - 1 <= a.wall_s <= time.time() + 1


def test_wraparound_content_matches_reference():
    rng = np.random.default_rng(1)
    ring = AudioRing(RATE, capacity_s=0.1)  # 1600 samples
    ref = rng.standard_normal(20_000).astype(np.float32)
    i = 0
    while i < len(ref):
        n = int(rng.integers(1, 700))
        ring.write(ref[i : i + n])
        i += n
        lo = ring.oldest_index
        a = int(rng.integers(lo, ring.end_index + 1))
        b = int(rng.integers(a, ring.end_index + 1))
        np.testing.assert_array_equal(ring.read(a, b).samples, ref[a:b])
    assert ring.oldest_index == len(ref) - 1600
    np.testing.assert_array_equal(ring.read_latest(1600).samples, ref[-1600:])


def test_overflow_drops_oldest_counts_unread_and_reads_fail_clearly():
    ring = AudioRing(RATE, capacity_s=0.1)  # 1600 samples
    ring.write(np.arange(1000, dtype=np.float32), arrival_monotonic_s=1.0, arrival_wall_s=1.0)
    ring.read(0, 400)  # a reader has consumed [0, 400)
    ring.write(np.arange(1000, 2000, dtype=np.float32), arrival_monotonic_s=2.0, arrival_wall_s=2.0)
    assert ring.oldest_index == 400
    assert ring.overrun_samples == 0  # only already-read samples were dropped
    ring.write(np.arange(2000, 2500, dtype=np.float32), arrival_monotonic_s=3.0, arrival_wall_s=3.0)
    assert ring.oldest_index == 900
    assert ring.overrun_samples == 500 and ring.overrun_events == 1
    with pytest.raises(SamplesOverwritten, match=r"ring now starts at 900.*capacity_s"):
        ring.read(850, 1000)
    with pytest.raises(SamplesOverwritten):
        ring.arrival(899)
    assert ring.arrival(900).monotonic_s == 1.0  # chunk 0 still partly held: its stamp too
    span = ring.read_from(850, max_samples=200)  # lenient: what's left, gap visible in start_index
    assert span.start_index == 900 and len(span.samples) == 200
    np.testing.assert_array_equal(span.samples, np.arange(900, 1100))
    # A chunk bigger than the ring keeps its newest samples and still advances the stream.
    ring.write(np.arange(5000, dtype=np.float32), arrival_monotonic_s=4.0, arrival_wall_s=4.0)
    assert ring.end_index == 7500 and ring.oldest_index == 5900
    np.testing.assert_array_equal(ring.read(5900, 7500).samples, np.arange(3400, 5000))
    assert ring.arrival(5900).monotonic_s == 4.0
    assert ring.read_from(7500).samples.size == 0


def test_arrival_records_stay_bounded():
    ring = AudioRing(RATE, capacity_s=0.01)  # 160 samples
    for k in range(20_000):
        ring.write(np.zeros(3, np.float32), arrival_monotonic_s=float(k), arrival_wall_s=float(k))
    assert len(ring._rec_start) - ring._rec_head <= 160
    assert ring.arrival(ring.oldest_index).monotonic_s == float(ring.oldest_index // 3)
    assert ring.arrival(ring.end_index - 1).monotonic_s == 19_999.0


def test_writer_and_reader_threads_see_a_contiguous_stream():
    rng = np.random.default_rng(2)
    ref = rng.standard_normal(200_000).astype(np.float32)
    ring = AudioRing(RATE, capacity_s=20.0)
    got, cursor = [], 0

    def writer():
        i = 0
        while i < len(ref):
            n = int(rng.integers(1, 500))
            ring.write(ref[i : i + n])
            i += n
        ring.close()

    th = threading.Thread(target=writer)
    th.start()
    while True:
        if not ring.wait_for(cursor + 1, timeout_s=5.0):
            break
        span = ring.read_from(cursor, max_samples=1000)
        assert span.start_index == cursor  # nothing lost
        got.append(span.samples)
        cursor = span.stop_index
    th.join()
    np.testing.assert_array_equal(np.concatenate(got), ref)
    assert ring.overrun_samples == 0


def test_wait_for_times_out_and_close_wakes():
    ring = AudioRing(RATE, capacity_s=1.0)
    assert ring.wait_for(10, timeout_s=0.01) is False
    threading.Timer(0.05, ring.close).start()
    assert ring.wait_for(10, timeout_s=5.0) is False and ring.closed


# ---- resampling --------------------------------------------------------------------------


@pytest.mark.parametrize("rate_hz", [44_100, 48_000])
def test_streaming_resample_equals_one_shot_and_keeps_frequency(rate_hz):
    rng = np.random.default_rng(rate_hz)
    x = sine(1000.0, rate_hz, 1.0)
    r = StreamResampler(rate_hz)
    out, i = [], 0
    while i < len(x):
        n = int(rng.integers(1, 2000))
        out.append(r.process(x[i : i + n]))
        i += n
    out.append(r.flush())
    y = np.concatenate(out)
    ref = one_shot_16k(x, rate_hz)
    assert len(y) == len(ref) == int(np.ceil(len(x) * RATE / rate_hz))
    np.testing.assert_allclose(y, ref, atol=1e-6)
    assert abs(peak_freq_hz(y[1000:-1000], RATE) - 1000.0) < 2.0
    # No clicks: away from the stream's ends the output is a clean 0.5-amplitude sine.
    mid = y[200:-200]
    assert np.max(np.abs(np.diff(mid, 2))) < 0.5 * (2 * np.pi * 1000 / RATE) ** 2 * 1.05


def test_chunk_wise_naive_resampling_would_click():
    # Sanity check that the equality above is discriminating: resampling each chunk on its own
    # (no carried state) leaves errors far above the tolerance.
    x = sine(1000.0, 48_000, 0.2)
    naive = np.concatenate([one_shot_16k(x[i : i + 480], 48_000) for i in range(0, len(x), 480)])
    assert np.max(np.abs(naive - one_shot_16k(x, 48_000))) > 1e-2


def test_resample_passthrough_and_bad_ratio():
    r = StreamResampler(RATE)
    x = np.random.default_rng(3).standard_normal(999).astype(np.float32)
    np.testing.assert_array_equal(np.concatenate([r.process(x[:10]), r.process(x[10:]), r.flush()]), x)
    assert r.lookahead_s == 0.0
    assert StreamResampler(48_000).lookahead_s < 0.001
    with pytest.raises(ValueError, match="44099 Hz"):
        StreamResampler(44_099)


def test_stereo_is_downmixed_to_mono():
    left = sine(1000.0, 48_000, 0.1)
    np.testing.assert_array_equal(to_mono(np.stack([left, -left], axis=1)), 0)
    np.testing.assert_allclose(to_mono(np.stack([left, left], axis=1)), left)
    ring = AudioRing(RATE, capacity_s=1.0)
    feeder = Feeder(ring)
    stereo = np.stack([left, 0.5 * left], axis=1)
    for i in range(0, len(stereo), 480):
        feeder.write(stereo[i : i + 480], 48_000)
    feeder.flush()
    np.testing.assert_allclose(ring.read(0, ring.end_index).samples, one_shot_16k(0.75 * left, 48_000), atol=1e-6)


# ---- FileSource --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, rate_hz, channels, subtype",
    [("a.wav", 44_100, 2, "PCM_16"), ("b.flac", 48_000, 1, "PCM_24"), ("c.ogg", 22_050, 2, "VORBIS"), ("d.wav", 16_000, 1, "FLOAT")],
)
def test_file_source_reads_any_rate_and_layout(tmp_path, name, rate_hz, channels, subtype):
    x = sine(440.0, rate_hz, 0.7)
    data = np.stack([x] * channels, axis=1) if channels > 1 else x
    path = tmp_path / name
    sf.write(path, data, rate_hz, subtype=subtype)
    decoded, _ = sf.read(path, dtype="float32", always_2d=True)  # what libsndfile gives back (lossy for ogg)
    ring = AudioRing(RATE, capacity_s=5.0)
    src = FileSource(path, ring, chunk_ms=7.0).start()
    assert src.join(10.0) and src.error is None and src.finished.is_set()
    y = ring.read(0, ring.end_index).samples
    np.testing.assert_allclose(y, one_shot_16k(to_mono(decoded), rate_hz), atol=1e-5)
    assert abs(peak_freq_hz(y, RATE) - 440.0) < 3.0


def test_file_source_realtime_pacing_stamps_arrivals(tmp_path):
    path = tmp_path / "half_second.wav"
    sf.write(path, sine(300.0, RATE, 0.5), RATE)
    ring = AudioRing(RATE, capacity_s=2.0)
    t0 = time.monotonic()
    src = FileSource(path, ring, realtime=True, chunk_ms=20.0).start()
    assert src.join(5.0)
    elapsed_s = time.monotonic() - t0
    assert ring.end_index == 8000
    assert elapsed_s >= 0.45  # paced: not faster than the audio itself
    spread_s = ring.arrival(7999).monotonic_s - ring.arrival(0).monotonic_s
    assert 0.4 <= spread_s <= 2.0
    # Each 20 ms chunk arrives no earlier than its own audio time after the start.
    for idx in range(319, 8000, 320):
        assert ring.arrival(idx).monotonic_s - t0 >= (idx + 1) / RATE - 0.005


def test_file_source_loops_continuously(tmp_path):
    x = np.random.default_rng(4).uniform(-0.5, 0.5, 1600).astype(np.float32)
    path = tmp_path / "loop.wav"
    sf.write(path, x, RATE, subtype="FLOAT")
    ring = AudioRing(RATE, capacity_s=60.0)
    src = FileSource(path, ring, loop=True).start()
    assert ring.wait_for(3 * 1600 + 1, timeout_s=5.0)
    src.stop()
    y = ring.read(0, 3 * 1600).samples
    np.testing.assert_array_equal(y, np.tile(x, 3))


@pytest.mark.parametrize(
    "name, content",
    [
        ("garbage.wav", b"\x13\x37" * 500),
        ("truncated_header.wav", b"RIFF\x24\x00\x00\x00WAVEfmt "),
        ("empty.flac", b""),
        ("text.ogg", b"this is not an ogg file\n" * 20),
    ],
)
def test_corrupt_files_fail_clearly_naming_the_file(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    ring = AudioRing(RATE, capacity_s=1.0)
    with pytest.raises(AudioFileError, match=name) as err:
        FileSource(path, ring)
    assert "sox" in str(err.value)  # says how to fix it
    assert isinstance(err.value, ValueError)


def test_missing_file_fails_clearly(tmp_path):
    with pytest.raises(AudioFileError, match="no such file: .*nope.wav"):
        FileSource(tmp_path / "nope.wav", AudioRing())


def test_file_truncated_mid_stream_does_not_crash(tmp_path):
    path = tmp_path / "cut.flac"
    sf.write(path, sine(440.0, 48_000, 2.0), 48_000)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    ring = AudioRing(RATE, capacity_s=5.0)
    src = FileSource(path, ring).start()
    assert src.join(10.0)
    assert src.error is None or str(path) in str(src.error)
    assert 0 < ring.end_index <= 2.0 * RATE + 1


# ---- PushSource --------------------------------------------------------------------------


def test_push_pcm16_and_float32():
    ring = AudioRing(RATE, capacity_s=5.0)
    push = PushSource(ring)
    pcm = (np.arange(-800, 800) * 40).astype("<i2")
    assert push.push(pcm.tobytes(), 16_000, 1, "pcm16") == 1600
    np.testing.assert_array_equal(ring.read(0, 1600).samples, pcm / 32768.0)
    # float32 stereo at 48 kHz in 10 ms chunks, then a flush: the one-shot resample of the mono mix.
    x = sine(1000.0, 48_000, 0.3)
    stereo = np.stack([x, -0.5 * x], axis=1).astype("<f4")
    for i in range(0, len(stereo), 480):
        push.push(stereo[i : i + 480].tobytes(), 48_000, 2, "f32")
    push.end_stream()
    np.testing.assert_allclose(ring.read(1600, ring.end_index).samples, one_shot_16k(0.25 * x, 48_000), atol=1e-6)


@pytest.mark.parametrize(
    "data, rate, ch, fmt, message",
    [
        (b"\x00\x01\x02", 16_000, 1, "pcm16", "3 bytes is not a whole number of frames"),
        (b"\x00" * 6, 16_000, 2, "pcm16", "4 bytes per frame"),
        (b"\x00" * 6, 16_000, 1, "f32", "6 bytes is not a whole number"),
        ("abcd", 16_000, 1, "pcm16", "data must be bytes, got str"),
        (b"\x00\x00", 0, 1, "pcm16", "sample_rate_hz 0 out of range"),
        (b"\x00\x00", 1_000_000, 1, "pcm16", "out of range"),
        (b"\x00\x00", 16_000.0, 1, "pcm16", "must be an integer"),
        (b"\x00\x00", 16_000, 0, "pcm16", "channels 0 out of range"),
        (b"\x00\x00", 16_000, 1, "mp3", "unknown sample_format 'mp3'"),
        (np.array([0.0, np.nan], "<f4").tobytes(), 16_000, 1, "f32", "NaN"),
        (b"\x00" * (2 * 16_000 * 11), 16_000, 1, "pcm16", "exceeds 10 s"),
    ],
)
def test_push_rejects_bad_input_with_a_reason(data, rate, ch, fmt, message):
    ring = AudioRing(RATE, capacity_s=1.0)
    push = PushSource(ring)
    with pytest.raises(ValueError, match=message):
        push.push(data, rate, ch, fmt)
    assert ring.end_index == 0 and push.rejected_pushes == 1
    assert push.push(b"\x00\x00" * 160, 16_000) == 160  # the stream survives a bad push


# ---- MicSource with an injected stream (device loss) -------------------------------------


class FakeStream:
    """Stands in for sounddevice.InputStream: calls back 1 ms blocks of a ramp from a thread."""

    instances: list["FakeStream"] = []
    fail_opens = 0

    def __init__(self, device, samplerate, channels, dtype, blocksize, callback, finished_callback):
        if FakeStream.fail_opens > 0:
            FakeStream.fail_opens -= 1
            raise OSError("device unavailable (fake)")
        self.rate, self.channels, self.block = samplerate, channels, blocksize
        self.callback, self.finished = callback, finished_callback
        self.active, self.silent = False, False
        self._thread = threading.Thread(target=self._run, daemon=True)
        FakeStream.instances.append(self)

    def start(self):
        self.active = True
        self._thread.start()

    def _run(self):
        n = 0
        while self.active:
            if not self.silent:
                block = (np.arange(n, n + self.block) % 1000).astype(np.int16)[:, None].repeat(self.channels, 1)
                self.callback(block, self.block, None, None)
                n += self.block
            time.sleep(0.001)

    def die(self):  # the device vanished: PortAudio stops the stream and calls finished_callback
        self.active = False
        self.finished()

    def abort(self):
        self.active = False

    def close(self):
        self.active = False


@pytest.fixture
def fake_streams():
    FakeStream.instances, FakeStream.fail_opens = [], 0
    yield FakeStream
    for s in FakeStream.instances:
        s.active = False


def wait_until(cond, timeout_s=5.0):
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def test_mic_reports_device_loss_and_reopens(fake_streams):
    events = []
    ring = AudioRing(RATE, capacity_s=10.0)
    mic = MicSource(ring, sample_rate_hz=16_000, channels=2, retry_interval_s=0.05,
                    on_event=lambda k, m: events.append(k), stream_factory=FakeStream)
    with mic:
        assert wait_until(lambda: ring.end_index >= 160)
        np.testing.assert_array_equal(ring.read(0, 160).samples, np.arange(160) / 32768.0)
        fake_streams.instances[0].die()
        assert wait_until(lambda: mic.opens == 2)
        before = ring.end_index
        assert wait_until(lambda: ring.end_index > before + 160)  # audio flows again
        fake_streams.instances[1].silent = True  # alive but no callbacks: a stall
        mic.stall_timeout_s = 0.1
        assert wait_until(lambda: mic.opens == 3)
    assert events[:5] == ["opened", "lost", "opened", "lost", "opened"]
    assert mic.losses == 2 and not mic.connected


def test_mic_waits_for_device_when_asked(fake_streams):
    events = []
    fake_streams.fail_opens = 2
    mic = MicSource(AudioRing(), sample_rate_hz=48_000, retry_interval_s=0.02, wait_for_device=True,
                    on_event=lambda k, m: events.append(k), stream_factory=FakeStream)
    with mic:
        assert wait_until(lambda: mic.opens == 1)
    assert events == ["open_failed", "open_failed", "opened"]


def test_mic_start_fails_fast_on_unknown_device():
    with pytest.raises(DeviceNotFound, match="no input device name contains 'no such mic'"):
        MicSource(AudioRing(), device="no such mic").start()


# ---- MicSource through real PortAudio + ALSA (fake 'file' PCM, no sound card) ------------

MIC_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from facecast.runtime.engine.audio import AudioRing, MicSource, list_devices
    n, rate, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    devices = [d.name for d in list_devices()]
    ring = AudioRing(16000, capacity_s=600.0)  # the fake device is unpaced: room for a burst
    events = []
    mic = MicSource(ring, device="facecast_fake", sample_rate_hz=rate, on_event=lambda k, m: events.append(k))
    with mic:
        ok = ring.wait_for(n, timeout_s=20.0)
        np.save(out, ring.read(0, n).samples)  # read before stop(): the flood would overwrite it
    print(json.dumps({"devices": devices, "ok": ok, "events": events, "rate": mic.sample_rate_hz}))
    """
)


def run_fake_mic(tmp_path: Path, signal: np.ndarray, rate_hz: int, n_out: int) -> tuple[np.ndarray, dict]:
    if not Path("/usr/share/alsa/alsa.conf").exists():
        pytest.skip("no ALSA configuration (/usr/share/alsa/alsa.conf); install libasound2-data")
    conf = write_fake_mic(tmp_path / "alsa", signal, sample_rate_hz=rate_hz)
    out = tmp_path / "captured.npy"
    proc = subprocess.run(
        [sys.executable, "-c", MIC_SCRIPT, str(n_out), str(rate_hz), str(out)],
        env=fake_mic_env(conf), capture_output=True, text=True, timeout=60,
    )
    if "PortAudio library not found" in proc.stderr:
        pytest.skip("libportaudio2 is not installed")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    assert FAKE_PCM_NAME in info["devices"], info
    assert info["ok"] and info["events"][0] == "opened", info
    return np.load(out), info


def speech_16k_int16(tmp_path: Path) -> np.ndarray:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    wav = tmp_path / "speech.wav"
    subprocess.run(["espeak-ng", "-w", str(wav), "Hello, this is the facecast microphone test."], check=True)
    x, rate = sf.read(wav, dtype="float32")
    y = one_shot_16k(x, rate)
    return np.round(np.clip(y, -1, 32767 / 32768) * 32768).astype(np.int16)


def test_real_microphone_captures_speech_exactly(tmp_path):
    speech = speech_16k_int16(tmp_path)
    assert np.abs(speech).max() > 3000  # really speech, not silence
    captured, info = run_fake_mic(tmp_path, speech, 16_000, len(speech))
    assert info["rate"] == 16_000
    np.testing.assert_array_equal(captured, speech / np.float32(32768.0))


def test_real_microphone_at_48k_is_resampled(tmp_path):
    x = sine(1000.0, 48_000, 1.0)
    pcm = np.round(x * 32768).astype(np.int16)
    n_out = 15_000  # stop short of the end: the tail waits for input beyond the signal
    captured, info = run_fake_mic(tmp_path, pcm, 48_000, n_out)
    assert info["rate"] == 48_000
    np.testing.assert_allclose(captured, one_shot_16k(pcm / 32768.0, 48_000)[:n_out], atol=1e-5)
    assert abs(peak_freq_hz(captured[500:], RATE) - 1000.0) < 2.0
