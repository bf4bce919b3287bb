"""facecast.runtime.engine.audio: audio in — sources → 16 kHz mono ring buffer stamped with the one clock.

    ring = AudioRing()                       # 16 kHz, 30 s
    src = MicSource(ring, device="USB").start()   # or FileSource(path, ring, realtime=True).start()
    span = ring.read_from(cursor)            # AudioSpan: samples, start_index, t_audio_s, arrival

Every sample has an absolute index (t_audio_s = index / 16 000) and the wall time its chunk
arrived (``ring.arrival(index)``), so latency can be measured from the audio's arrival.
"""

from .mic import DeviceNotFound, InputDevice, MicSource, find_device, list_devices
from .resample import StreamResampler, to_mono
from .ring import (
    MODEL_SAMPLE_RATE_HZ,
    Arrival,
    AudioRing,
    AudioSpan,
    SamplesNotYetWritten,
    SamplesOverwritten,
)
from .sources import AudioFileError, AudioSource, Feeder, FileSource, PushSource

__all__ = [
    "MODEL_SAMPLE_RATE_HZ",
    "Arrival",
    "AudioFileError",
    "AudioRing",
    "AudioSource",
    "AudioSpan",
    "DeviceNotFound",
    "Feeder",
    "FileSource",
    "InputDevice",
    "MicSource",
    "PushSource",
    "SamplesNotYetWritten",
    "SamplesOverwritten",
    "StreamResampler",
    "find_device",
    "list_devices",
    "to_mono",
]
