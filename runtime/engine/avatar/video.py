"""Video out through the ffmpeg binary: raw frames on a pipe, the audio file muxed in; or PNG files.

    with VideoWriter("out.mp4", size=512, fps=30, audio="speech.wav") as w:
        w.write(frame_rgb)          # (size, size, 3) uint8
    VideoWriter("out.webm", 512, 30, audio=..., alpha=True).write(frame_rgba)   # VP9 with alpha, Opus
    PngSequenceWriter("frames/%05d.png", 512, alpha=True).write(frame_rgba)     # frames/00001.png, ...

MP4 is H.264 (yuv420p, no alpha); WebM is VP9 (yuva420p when alpha, which browsers, OBS's media
source and ffmpeg read) with Opus audio.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np


class FfmpegMissing(RuntimeError):
    pass


def ffmpeg_binary() -> str:
    path = shutil.which("ffmpeg")
    if path is None:
        raise FfmpegMissing("ffmpeg is not installed or not on PATH; install it (Debian/Ubuntu: "
                            "`apt-get install ffmpeg`, macOS: `brew install ffmpeg`) or write a contact "
                            "sheet only with --sheet")
    return path


# every channel's NaN / +-inf sample set to 0 (about 1 s of ffmpeg time per 10 minutes of 16 kHz audio)
FINITE_AUDIO = "aeval=exprs='if(isnan(val(ch))+isinf(val(ch)),0,val(ch))':c=same"

ALPHA_SUFFIXES = (".webm",)   # any other video suffix is H.264 in the container ffmpeg picks by name


def check_video_out(out: str | Path, alpha: bool) -> None:
    """ValueError naming the fix for an output the writers cannot make (before any work is done)."""
    suffix = Path(out).suffix.lower()
    if suffix == ".png":
        if "%" not in str(out):
            raise ValueError(f"a PNG sequence needs a frame-number field in its name, e.g. frames/%05d.png "
                             f"(got {out})")
        return
    if alpha and suffix not in ALPHA_SUFFIXES:
        raise ValueError(f"{out}: {suffix or 'this output'} (H.264) has no alpha; for a transparent background write "
                         f".webm (VP9 with alpha) or a PNG sequence such as frames/%05d.png")


class VideoWriter:
    def __init__(self, out: str | Path, size: int, fps: float, audio: str | Path | None = None, crf: int = 20,
                 alpha: bool = False):
        check_video_out(out, alpha)
        self.out = Path(out)
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.size = size
        self.channels = 4 if alpha else 3
        cmd = [ffmpeg_binary(), "-loglevel", "error", "-y", "-f", "rawvideo",
               "-pix_fmt", "rgba" if alpha else "rgb24", "-s", f"{size}x{size}", "-r", f"{fps:g}", "-i", "-"]
        webm = self.out.suffix.lower() == ".webm"
        if audio is not None:
            # the file as it is, so NaN / infinite samples (float files) become 0 as load_audio_16k makes them
            # for the motion: the AAC encoder stops at the first NaN ("Input contains (near) NaN/+-Inf")
            cmd += ["-i", str(audio), "-shortest", "-af", FINITE_AUDIO]
            cmd += ["-c:a", "libopus", "-b:a", "96k"] if webm else ["-c:a", "aac", "-b:a", "128k"]
        if webm:
            # constant quality; alt-ref frames off: libvpx drops the alpha plane with them
            cmd += ["-c:v", "libvpx-vp9", "-crf", str(crf + 12), "-b:v", "0", "-deadline", "good", "-cpu-used", "4",
                    "-row-mt", "1", "-auto-alt-ref", "0", "-pix_fmt", "yuva420p" if alpha else "yuv420p", str(self.out)]
        else:
            cmd += ["-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-pix_fmt", "yuv420p",
                    "-movflags", "+faststart", str(self.out)]
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        self.frames = 0
        self._closed = False

    def write(self, frame: np.ndarray) -> None:
        if frame.shape != (self.size, self.size, self.channels) or frame.dtype != np.uint8:
            raise ValueError(f"expected ({self.size}, {self.size}, {self.channels}) uint8, got {frame.dtype} {frame.shape}")
        try:
            self._proc.stdin.write(np.ascontiguousarray(frame).tobytes())
        except BrokenPipeError:
            self.close()   # raises with ffmpeg's own message
        self.frames += 1

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._proc.stdin and not self._proc.stdin.closed:
            try:
                self._proc.stdin.close()
            except BrokenPipeError:
                pass
        err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
        if self._proc.wait() != 0:
            raise RuntimeError(f"ffmpeg failed writing {self.out}: {err.strip()[-800:]}")

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class PngSequenceWriter:
    """One PNG per frame, numbered from 1 through a printf field in the name ("frames/%05d.png");
    RGBA when alpha. Same write/close interface as VideoWriter (audio is not kept: mux it later)."""

    def __init__(self, pattern: str | Path, size: int, alpha: bool = False):
        check_video_out(pattern, alpha)
        self.pattern = str(pattern)
        try:
            self.pattern % 1
        except (TypeError, ValueError):
            raise ValueError(f"{pattern}: the name needs exactly one frame-number field such as %05d") from None
        Path(self.pattern % 1).parent.mkdir(parents=True, exist_ok=True)
        self.size = size
        self.channels = 4 if alpha else 3
        self.frames = 0

    def write(self, frame: np.ndarray) -> None:
        from PIL import Image

        if frame.shape != (self.size, self.size, self.channels) or frame.dtype != np.uint8:
            raise ValueError(f"expected ({self.size}, {self.size}, {self.channels}) uint8, got {frame.dtype} {frame.shape}")
        self.frames += 1
        # fast zlib level: a 512x512 RGBA frame in a few ms, files about a quarter larger than level 9
        Image.fromarray(frame).save(self.pattern % self.frames, compress_level=1)

    def close(self) -> None:
        pass

    def __enter__(self) -> "PngSequenceWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
