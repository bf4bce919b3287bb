"""RuntimeConfig: every setting of `facecast run`, in one place. The CLI maps its options onto it;
no other module reads argv or environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from facecast.bridge.pubsub import DEFAULT_CONTROL_ENDPOINT, DEFAULT_PUB_ENDPOINT

ASSETS = Path(__file__).resolve().parent.parent / "assets"
SAMPLE_SPEECH = ASSETS / "sample_speech.wav"
SAMPLE_PORTRAIT = ASSETS / "portrait.png"


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    """This installation's folder (its id and signing key live there): $FACECAST_CONFIG_DIR, else
    $XDG_CONFIG_HOME/facecast, else ~/.config/facecast. Not created here. `env` defaults to os.environ."""
    env = os.environ if env is None else env
    if env.get("FACECAST_CONFIG_DIR"):
        return Path(env["FACECAST_CONFIG_DIR"])
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "facecast"


# What a control client may cost the runtime (docs/protocol.md, "Limits", lists the same):
DEFAULT_MAX_SESSIONS = 16          # every session's lip model runs on the loop thread; see create_session
MAX_SESSIONS_LIMIT = 256
MAX_CLIENT_FILE_BYTES = 16 * 1024 * 1024   # an image or .fca named by path, as large as a payload may be
PREPARE_QUEUE = 2                  # portraits waiting for the preparation thread beyond the one it works on


@dataclass
class RuntimeConfig:
    """audio_source: "file" | "mic" | "push"; audio_path for files, mic_device (name substring or
    index, None = default) for the microphone. lips: "model" (the shipped ONNX lip-sync model),
    "model-vad" (the same, its rows gated by voice activity: session.make_lips) or "energy" (the loudness baseline)."""

    session: str = "default"
    audio_source: str = "file"
    audio_path: Path | None = SAMPLE_SPEECH
    mic_device: str | int | None = None
    loop: bool = False
    motion_hz: float = 60.0
    image: Path | None = None      # portrait (picture or .fca); frames are rendered when given
    fps: int = 30
    frames: bool = True           # False: parameters only, even with an image (3D avatars)
    frame_format: str = "jpeg"    # "jpeg" | "rgb24" | "rgba32" | "bgra32"
    background: str = "keep"      # "keep" (the portrait's) | "transparent" (alpha formats only)
    script: Path | None = None     # a timeline file (engine/motion/timeline.py) played on the default session
    jpeg_quality: int = 85
    watermark: bool = True        # provenance mark on every frame; off only by an explicit --no-watermark
    pub_endpoint: str = DEFAULT_PUB_ENDPOINT
    control_endpoint: str = DEFAULT_CONTROL_ENDPOINT
    keys_dir: Path | None = None
    insecure: bool = False
    # folders a control client may name files in (create_session image=, set_avatar path=); none: payloads only
    allow_dirs: tuple[Path, ...] = ()
    max_sessions: int = DEFAULT_MAX_SESSIONS
    device: str = "auto"
    lips: str = "model"
    seed: int = 0
    duration_s: float | None = None
    status_line: bool = True


class DeviceUnavailable(ValueError):
    """--device cuda on a machine (or an install) without CUDA; the message says what is missing and the fix."""


def resolve_device(device: str, need_onnx: bool = True, need_torch: bool = False) -> str:
    """"auto" | "cpu" | "cuda" -> "cpu" or "cuda", one device for onnxruntime (lip model) and torch (renderer).

    "auto" picks CUDA only when every library that will run has it, so the two never sit on different
    devices. "cuda" raises DeviceUnavailable (a ValueError: the CLI prints it on one line and exits 2)
    when a library that will run lacks it; the libraries themselves would fail later and less clearly
    (onnxruntime at session start, torch at the first frame).
    """
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    if device == "cpu":
        return "cpu"
    missing = []
    if need_onnx:
        import onnxruntime

        if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
            missing.append(f"onnxruntime {onnxruntime.__version__} has no CUDAExecutionProvider "
                           f"(install onnxruntime-gpu)")
    if need_torch:
        import torch

        if not torch.cuda.is_available():
            missing.append(f"torch {torch.__version__} sees no CUDA GPU")
    if not missing:
        return "cuda"
    if device == "auto":
        return "cpu"
    raise DeviceUnavailable(f"--device cuda: {'; '.join(missing)}; use --device cpu or --device auto")
