"""Portrait renderer benchmark: frames per second and per-stage times for 512 x 512 frames.

    result = bench_render(duration_s=5.0)     # JSON-ready dict

Renders a synthetic but busy motion sequence (talking jaw and lips, blinks, head sway of up to
±15° yaw, gaze) from the bundled portrait (runtime/assets/portrait.png), prepared once. Stages as PortraitRenderer.timings:
vertices (blendshapes + head pose), raster (coarse flow), warp (flow upsampling, fine lip/eye
flow, grid_sample), mouth (interior + eyelids), alpha (with alpha=True: the transparent
background's alpha and unmixed colour), output (uint8 frame). torch runs with
`threads` intra-op threads (1 by default: the renderer shares the machine with audio and motion).
Figures are as good as the machine is quiet: `machine.loadavg` is recorded.
"""

from __future__ import annotations

import resource
import time
from pathlib import Path

import numpy as np

from facecast.runtime.workshop.bench import machine_info

WARMUP_FRAMES = 10
PORTRAIT = Path(__file__).resolve().parents[2] / "assets" / "portrait.png"


def motion_sequence(n: int, fps: float = 60.0):
    """n MotionFrames of plausible talking motion."""
    from facecast.runtime.engine.avatar.sheet import motion_frame

    frames = []
    for i in range(n):
        t = i / fps
        jaw = max(0.0, 0.45 * np.sin(2 * np.pi * 3.1 * t) + 0.15 * np.sin(2 * np.pi * 7.3 * t))
        blink = max(0.0, 1.0 - abs((t % 3.0) - 1.5) / 0.08)
        blend = {"jawOpen": jaw, "mouthFunnel": 0.3 * max(0.0, np.sin(2 * np.pi * 1.3 * t)),
                 "mouthSmileLeft": 0.3, "mouthSmileRight": 0.3, "eyeBlinkLeft": blink, "eyeBlinkRight": blink,
                 "browInnerUp": 0.3 * max(0.0, np.sin(2 * np.pi * 0.4 * t))}
        head = (6 * np.sin(2 * np.pi * 0.3 * t), 15 * np.sin(2 * np.pi * 0.2 * t), 4 * np.sin(2 * np.pi * 0.25 * t),
                0.0, 0.0, 0.02 * np.sin(2 * np.pi * 0.1 * t))
        gaze = (10 * np.sin(2 * np.pi * 0.5 * t), 0.0, 10 * np.sin(2 * np.pi * 0.5 * t), 0.0)
        frames.append(motion_frame(blend, head, gaze))
    return frames


def bench_render(duration_s: float = 5.0, size: int = 512, device: str = "auto", threads: int = 1,
                 image=None, alpha: bool = False) -> dict:
    """alpha: time render_rgba (transparent background, straight RGBA) instead of render."""
    import torch

    from facecast.runtime.engine.avatar.prepare import load_portrait, prepare_avatar
    from facecast.runtime.engine.avatar.render import PortraitRenderer

    torch.set_num_threads(threads)
    img = load_portrait(PORTRAIT) if image is None else image
    t0 = time.perf_counter()
    avatar = prepare_avatar(img, "bench portrait", size=size)
    prepare_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    renderer = PortraitRenderer(avatar, device=device)
    init_s = time.perf_counter() - t0
    motion = motion_sequence(WARMUP_FRAMES + int(duration_s * 400) + 1)   # more than any CPU renders
    draw = renderer.render_rgba if alpha else renderer.render
    for f in motion[:WARMUP_FRAMES]:
        draw(f)
    per_frame, stages = [], {}
    start = time.perf_counter()
    for f in motion[WARMUP_FRAMES:]:
        t = time.perf_counter()
        draw(f)
        per_frame.append(time.perf_counter() - t)
        for k, v in renderer.timings.items():
            stages.setdefault(k, []).append(v)
        if time.perf_counter() - start >= duration_s:
            break
    ms = np.array(per_frame) * 1000
    return {
        "benchmark": "render",
        "size": size,
        "alpha": alpha,
        "device": str(renderer.device),
        "torch_threads": torch.get_num_threads(),
        "frames": len(per_frame),
        "fps": round(len(per_frame) / sum(per_frame), 1),
        "ms_per_frame": {"p50": round(float(np.percentile(ms, 50)), 2), "p95": round(float(np.percentile(ms, 95)), 2),
                         "mean": round(float(ms.mean()), 2)},
        "stages_ms_p50": {k: round(float(np.median(v)) * 1000, 3) for k, v in stages.items()},
        "target": {"fps": 60, "ms_per_frame": 16.7},
        "prepare_s": round(prepare_s, 3),
        "renderer_init_s": round(init_s, 3),
        # resident memory of the whole process (Python, torch, onnxruntime and the landmark models included)
        "rss_peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "avatar_arrays_mib": round(sum(a.nbytes for a in (avatar.image, avatar.plate, *avatar.masks.values())
                                       if a is not None) / 2 ** 20, 2),
        "machine": {**machine_info(), "torch": torch.__version__},
    }
