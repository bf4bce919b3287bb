"""RuntimeConfig: every setting of `facecast run`, in one place. The CLI maps its options onto it;
no other module reads argv or environment variables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from facecast.bridge.pubsub import DEFAULT_CONTROL_ENDPOINT, DEFAULT_PUB_ENDPOINT

ASSETS = Path(__file__).with_name("assets")
SAMPLE_SPEECH = ASSETS / "sample_speech.wav"
SAMPLE_PORTRAIT = ASSETS / "portrait.png"


@dataclass
class RuntimeConfig:
    """audio_source: "file" | "mic" | "push"; audio_path for files, mic_device (name substring or
    index, None = default) for the microphone. lips: "model" (the shipped ONNX lip-sync model) or
    "energy" (the loudness baseline)."""

    session: str = "default"
    audio_source: str = "file"
    audio_path: Path | None = SAMPLE_SPEECH
    mic_device: str | int | None = None
    loop: bool = False
    motion_hz: float = 60.0
    image: Path | None = None      # portrait (picture or .fca); frames are rendered when given
    fps: int = 30
    frames: bool = True           # False: parameters only, even with an image (3D avatars)
    frame_format: str = "jpeg"    # "jpeg" | "rgb24"
    jpeg_quality: int = 85
    pub_endpoint: str = DEFAULT_PUB_ENDPOINT
    control_endpoint: str = DEFAULT_CONTROL_ENDPOINT
    keys_dir: Path | None = None
    insecure: bool = False
    device: str = "auto"
    lips: str = "model"
    seed: int = 0
    duration_s: float | None = None
    status_line: bool = True
