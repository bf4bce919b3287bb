"""Head-motion and blink statistics of the engine over a few minutes of speech: `motion_stats(...) -> dict`.

The audio is the bundled runtime/assets/sample_speech.wav (12.5 s) looped with seeded pauses of 0.4-2.5 s to
~3 min, baked by the live code (stream.bake, LipModel, MotionEngine(seed)). Reported:
- head pitch/yaw/roll in degrees: p5, p95, p5..p95 range, and max |angle|;
- blinks: a blink is a run of frames with eyeBlinkLeft > 0.1 whose peak reaches 0.5; its duration is the
  run's length (closing + hold + reopening). Blinks per minute, and duration median / min / max in ms;
- jawOpen mean and the fraction of frames with speaking=True, for context.
`plot_excerpt(frames, out_png, start_s, length_s)` draws jawOpen, head angles and blinks over an excerpt.
`python -m facecast.runtime.workshop.motion.motion_stats --png docs/motion_stats.png` prints the dict and writes the plot.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from facecast.bridge.schema import BLENDSHAPE_NAMES

from facecast.runtime.engine.motion.engine import MotionEngine
from facecast.runtime.engine.motion.features import SAMPLE_RATE_HZ
from facecast.runtime.engine.motion.frame import MotionFrame
from facecast.runtime.engine.motion.stream import bake

BLINK_ON = 0.1
BLINK_PEAK = 0.5
_BS = {n: i for i, n in enumerate(BLENDSHAPE_NAMES)}


def speech_minutes(total_s: float = 180.0, seed: int = 0) -> np.ndarray:
    """sample_speech.wav looped with seeded 0.4-2.5 s pauses to total_s seconds, 16 kHz mono float32."""
    from facecast.runtime.engine.audio.files import load_audio_16k
    from facecast.runtime.engine.config import SAMPLE_SPEECH

    speech = load_audio_16k(SAMPLE_SPEECH)
    rng = np.random.default_rng(seed)
    parts, n = [], 0
    while n < total_s * SAMPLE_RATE_HZ:
        pause = np.zeros(int(rng.uniform(0.4, 2.5) * SAMPLE_RATE_HZ), np.float32)
        parts += [speech, pause]
        n += len(speech) + len(pause)
    return np.concatenate(parts)[: int(total_s * SAMPLE_RATE_HZ)]


def bake_frames(audio_16k: np.ndarray, lips=None, seed: int = 0) -> list[MotionFrame]:
    if lips is None:
        from facecast.runtime.engine.motion.lips import LipModel

        lips = LipModel(device="cpu")
    lips.reset()
    return bake(audio_16k, lips, MotionEngine(seed=seed))


def _blinks(blink: np.ndarray, rate_hz: float) -> list[tuple[int, int]]:
    """(first, last+1) frame index of each blink (module docstring's definition)."""
    on = np.concatenate([[False], blink > BLINK_ON, [False]])
    edges = np.flatnonzero(np.diff(on.astype(int)))
    return [(a, b) for a, b in zip(edges[::2], edges[1::2]) if blink[a:b].max() >= BLINK_PEAK]


def _angle_stats(x: np.ndarray) -> dict:
    p5, p95 = np.percentile(x, [5, 95])
    return {"p5_deg": round(float(p5), 2), "p95_deg": round(float(p95), 2),
            "range_p5_p95_deg": round(float(p95 - p5), 2), "max_abs_deg": round(float(np.abs(x).max()), 2)}


def frame_stats(frames: list[MotionFrame], rate_hz: float = 60.0) -> dict:
    """Head and blink statistics of baked frames (module docstring)."""
    head = np.array([f.head for f in frames])
    blink = np.array([f.blendshapes[_BS["eyeBlinkLeft"]] for f in frames])
    runs = _blinks(blink, rate_hz)
    durations_ms = np.array([(b - a) * 1000.0 / rate_hz for a, b in runs]) if runs else np.array([np.nan])
    minutes = len(frames) / rate_hz / 60.0
    return {
        "duration_s": round(len(frames) / rate_hz, 2),
        "head": {"pitch": _angle_stats(head[:, 0]), "yaw": _angle_stats(head[:, 1]), "roll": _angle_stats(head[:, 2])},
        "blinks": {"count": len(runs), "per_minute": round(len(runs) / minutes, 2),
                   "duration_ms_median": round(float(np.nanmedian(durations_ms)), 1),
                   "duration_ms_min": round(float(np.nanmin(durations_ms)), 1),
                   "duration_ms_max": round(float(np.nanmax(durations_ms)), 1)},
        "jaw_open_mean": round(float(np.mean([f.blend("jawOpen") for f in frames])), 3),
        "speaking_fraction": round(float(np.mean([f.speaking for f in frames])), 3),
    }


def motion_stats(total_s: float = 180.0, seed: int = 0, lips=None, png: str | Path | None = None,
                 excerpt_start_s: float = 10.0, excerpt_s: float = 20.0) -> dict:
    """Bake ~total_s of looped sample speech and return frame_stats; optionally write the excerpt plot."""
    frames = bake_frames(speech_minutes(total_s, seed), lips, seed)
    out = frame_stats(frames)
    out["audio"] = f"runtime/assets/sample_speech.wav looped with 0.4-2.5 s pauses (seed {seed})"
    if png is not None:
        plot_excerpt(frames, png, excerpt_start_s, excerpt_s)
        out["png"] = str(png)
    return out


def plot_excerpt(frames: list[MotionFrame], out_png: str | Path, start_s: float = 10.0, length_s: float = 20.0) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = np.array([f.t_audio_s for f in frames])
    sel = (t >= start_s) & (t < start_s + length_s)
    fr = [f for f, s in zip(frames, sel) if s]
    t = t[sel]
    jaw = np.array([f.blend("jawOpen") for f in fr])
    aperture = np.array([f.lip_aperture() for f in fr])
    head = np.array([f.head for f in fr])
    blink = np.array([f.blendshapes[_BS["eyeBlinkLeft"]] for f in fr])
    speaking = np.array([f.speaking for f in fr])
    fig, ax = plt.subplots(3, 1, figsize=(12, 7), sharex=True)
    ax[0].plot(t, jaw, lw=0.8, label="jawOpen")
    ax[0].plot(t, aperture, lw=0.8, label="lip aperture (jawOpen - mouthClose)")
    ax[0].fill_between(t, 0, speaking * jaw.max(), color="0.9", step="mid", label="speaking")
    ax[0].set_ylabel("weight")
    ax[0].legend(loc="upper right", fontsize=8)
    for k, name in enumerate(("pitch", "yaw", "roll")):
        ax[1].plot(t, head[:, k], lw=1.0, label=name)
    ax[1].set_ylabel("head (deg)")
    ax[1].legend(loc="upper right", fontsize=8)
    ax[2].plot(t, blink, lw=0.8, color="k", label="eyeBlinkLeft")
    for a, b in _blinks(blink, 60.0):
        ax[2].axvspan(t[a], t[min(b, len(t) - 1)], color="tab:red", alpha=0.3)
    ax[2].set_ylabel("blink")
    ax[2].set_xlabel("t_audio (s)")
    ax[2].legend(loc="upper right", fontsize=8)
    fig.suptitle(f"facecast motion engine, {length_s:.0f} s excerpt of looped sample speech (LipModel, seed 0)")
    fig.tight_layout()
    Path(out_png).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=90)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Head-motion and blink statistics over ~3 min of speech")
    p.add_argument("--seconds", type=float, default=180.0)
    p.add_argument("--png", default=None)
    args = p.parse_args(argv)
    print(json.dumps(motion_stats(args.seconds, png=args.png), indent=2))


if __name__ == "__main__":
    main()
