"""MP4 out through the ffmpeg binary: raw RGB frames on a pipe, the audio file muxed in.

    with VideoWriter("out.mp4", size=512, fps=30, audio="speech.wav") as w:
        w.write(frame_rgb)          # (size, size, 3) uint8
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


class VideoWriter:
    def __init__(self, out: str | Path, size: int, fps: float, audio: str | Path | None = None, crf: int = 20):
        self.out = Path(out)
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.size = size
        cmd = [ffmpeg_binary(), "-loglevel", "error", "-y",
               "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{size}x{size}", "-r", f"{fps:g}", "-i", "-"]
        if audio is not None:
            cmd += ["-i", str(audio), "-c:a", "aac", "-b:a", "128k", "-shortest"]
        cmd += ["-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-pix_fmt", "yuv420p",
                "-movflags", "+faststart", str(self.out)]
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        self.frames = 0
        self._closed = False

    def write(self, frame: np.ndarray) -> None:
        if frame.shape != (self.size, self.size, 3) or frame.dtype != np.uint8:
            raise ValueError(f"expected ({self.size}, {self.size}, 3) uint8, got {frame.dtype} {frame.shape}")
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
