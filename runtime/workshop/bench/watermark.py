"""Provenance mark benchmark: what marking costs, how visible it is, what it survives, and how quiet the
detector stays on pictures nobody marked.

    result = bench_watermark(runs=5)     # JSON-ready dict

- embed: `Marker.mark` on a 512×512 frame (the live path: one saturating add per channel, numpy on one
  thread); ms per frame = median over `frames_per_run` frames, given per run, and the median of the runs.
- psnr_db: marked against unmarked, on the bundled portrait and on the pictures of the corpus.
- attacks: the detection score (sync peak in standard deviations; present at >= detect.PRESENT_SCORE, or
  detect.PRESENT_SCORE_WITH_PAYLOAD with a valid CRC) and whether the payload reads back, after JPEG q60,
  H.264 at 1 Mbit/s through ffmpeg (a moving clip read as verify reads it, and one frame of a still clip),
  a downscale to 256², a 10 % crop (as is, and scaled back to 512²) and a scaled 1080p canvas (the frame
  at 0.75x among other content, captured as 1080p and as 720p JPEG).
- false_positives: the highest score over unmarked pictures (scikit-image's sample pictures when installed,
  crops and rescales of them, synthetic test patterns, ffmpeg's test sources) and an unmarked canvas.
Figures are as good as the machine is quiet: `machine.loadavg` is recorded before and after.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
from PIL import Image

from facecast.runtime.workshop.bench import machine_info

PORTRAIT = Path(__file__).resolve().parents[2] / "assets" / "portrait.png"
FRAME_PX = 512
SKIMAGE_PICTURES = ["astronaut", "camera", "checkerboard", "chelsea", "clock", "coffee", "coins", "colorwheel",
                    "horse", "logo", "moon", "page", "rocket", "text", "grass", "gravel", "brick", "cat",
                    "shepp_logan_phantom", "hubble_deep_field", "immunohistochemistry", "cell"]
FFMPEG_SOURCES = ["testsrc=size=512x512", "smptebars=size=640x480", "mandelbrot=size=512x512",
                  "testsrc2=size=512x512", "cellauto=size=512x512"]


def rgb_uint8(a: np.ndarray) -> np.ndarray:
    """Any scikit-image sample (bool, float 0..1, gray, RGBA) -> (H, W, 3) uint8."""
    if a.dtype == bool:
        a = a.astype(np.uint8) * 255
    elif a.dtype != np.uint8:
        a = np.clip(a * 255, 0, 255).astype(np.uint8)
    if a.ndim == 2:
        a = np.stack([a] * 3, axis=-1)
    return np.ascontiguousarray(a[..., :3])


def resize_rgb(rgb: np.ndarray, w: int, h: int) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).resize((w, h), Image.BILINEAR))


def jpeg_roundtrip(rgb: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def psnr_db(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))


def h264(frames: list[np.ndarray], kbps: int) -> list[np.ndarray]:
    """Encode (H, W, 3) uint8 frames with ffmpeg's libx264 at `kbps` and decode them back."""
    h, w = frames[0].shape[:2]
    enc = subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
                          "-r", "30", "-i", "-", "-c:v", "libx264", "-b:v", f"{kbps}k", "-pix_fmt", "yuv420p",
                          "-f", "mp4", "-movflags", "frag_keyframe+empty_moov", "-"],
                         input=b"".join(f.tobytes() for f in frames), capture_output=True, check=True).stdout
    raw = subprocess.run(["ffmpeg", "-loglevel", "error", "-i", "-", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         input=enc, capture_output=True, check=True).stdout
    return list(np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3))


def canvas_1080p(face: np.ndarray, scale: float, x: int = 170, y: int = 210) -> np.ndarray:
    """(1080, 1920, 3) uint8: a streaming-software canvas (gradient, a textured panel, text-like bars) with
    `face` scaled by `scale` at (x, y)."""
    yy, xx = np.mgrid[0:1080, 0:1920]
    canvas = np.stack([xx * 255 // 1919, yy * 255 // 1079, np.full_like(xx, 60)], axis=-1).astype(np.uint8)
    rng = np.random.default_rng(3)  # a panel of coarse texture, standing in for a game or a slide
    panel = np.kron(rng.integers(0, 256, (50, 75, 3)), np.ones((8, 8, 1))).astype(np.uint8)
    canvas[600:1000, 1100:1700] = panel
    canvas[80:120, 900:1800] = 255
    canvas[90:110, 920:1700:40] = 0
    s = int(round(face.shape[0] * scale))
    canvas[y:y + s, x:x + s] = resize_rgb(face, s, s)
    return canvas


def _ffmpeg_frames(source: str, n: int) -> list[np.ndarray]:
    w, h = (int(v) for v in source.split("size=")[1].split("x"))
    raw = subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", f"{source}:rate=5", "-frames:v", str(n),
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return list(np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3))


def unmarked_corpus(portrait: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """(name, (H, W, 3) uint8) pictures that never went through facecast's marker."""
    out = [("portrait", portrait), ("portrait-jpeg60", jpeg_roundtrip(portrait, 60))]
    try:
        from skimage import data
    except ImportError:  # scikit-image is a dev extra: the corpus is smaller without it, and says so
        data = None
    naturals = []
    for name in SKIMAGE_PICTURES if data is not None else []:
        img = rgb_uint8(getattr(data, name)())
        naturals.append(img)
        out += [(name, img), (f"{name}-512", resize_rgb(img, FRAME_PX, FRAME_PX))]
    rng = np.random.default_rng(7)
    for i in range(10 if naturals else 0):  # random crops and rescales of the natural pictures
        src = naturals[int(rng.integers(0, len(naturals)))]
        h, w = src.shape[:2]
        ch, cw = int(h * rng.uniform(0.5, 0.9)), int(w * rng.uniform(0.5, 0.9))
        y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        out.append((f"crop{i}", resize_rgb(src[y:y + ch, x:x + cw], int(cw * 1.3), int(ch * 1.3))))
    yy, xx = np.mgrid[0:FRAME_PX, 0:FRAME_PX]
    patterns = {  # periodic patterns are the hardest: they have autocorrelation peaks of their own
        "bars": (xx // 64) % 2 * 255, "checker16": ((xx // 16) + (yy // 16)) % 2 * 255,
        "checker48": ((xx // 48) + (yy // 48)) % 2 * 255,
        "zoneplate": 127.5 + 127.5 * np.cos((xx ** 2 + yy ** 2) / 800.0),
        "grating96": 127.5 + 100 * np.sin(2 * np.pi * xx / 96.0) * np.sin(2 * np.pi * yy / 96.0),
        "ramp": xx / 2, "noise": rng.integers(0, 256, (FRAME_PX, FRAME_PX)), "flat": np.full((FRAME_PX, FRAME_PX), 90),
    }
    out += [(name, rgb_uint8(p.astype(np.uint8))) for name, p in patterns.items()]
    if shutil.which("ffmpeg"):
        for src in FFMPEG_SOURCES:
            out += [(f"{src.split('=')[0]}-{k}", f) for k, f in enumerate(_ffmpeg_frames(src, 2))]
    return out


def _embed_ms(marker, frame: np.ndarray, runs: int, frames_per_run: int) -> dict:
    out = np.empty_like(frame)
    marker.mark(frame, out=out)  # the offset image is made once per size: not part of the per-frame cost
    per_run = []
    for _ in range(runs):
        times = []
        for _ in range(frames_per_run):
            t0 = time.perf_counter()
            marker.mark(frame, out=out)
            times.append((time.perf_counter() - t0) * 1e3)
        per_run.append(float(np.median(times)))
    return {"median_ms": round(float(np.median(per_run)), 3), "runs_ms": [round(v, 3) for v in per_run],
            "frames_per_run": frames_per_run, "threads": 1}


def _outcome(found, payload) -> dict:
    return {"score": round(found.score, 2), "present": bool(found.present),
            "payload_read": found.payload == payload, "scale": round(found.scale, 3)}


def bench_watermark(runs: int = 5, frames_per_run: int = 200) -> dict:
    from facecast.runtime.engine.provenance import Marker, Payload, detect
    from facecast.runtime.engine.provenance.detect import PRESENT_SCORE, PRESENT_SCORE_WITH_PAYLOAD

    load_before = machine_info()["loadavg"]
    payload = Payload("a1b2c3", "0.1.0")
    marker = Marker(payload)
    portrait = np.asarray(Image.open(PORTRAIT).convert("RGB").resize((FRAME_PX, FRAME_PX), Image.LANCZOS))
    marked = marker.mark(portrait)
    embed = _embed_ms(marker, portrait, runs, frames_per_run)

    detect_ms = []
    for _ in range(runs):
        t0 = time.perf_counter()
        detect([marked])
        detect_ms.append((time.perf_counter() - t0) * 1e3)

    keep = int(round(FRAME_PX * 0.9))
    lo = (FRAME_PX - keep) // 2
    cases = {
        "untouched": [marked],
        "jpeg_q60": [jpeg_roundtrip(marked, 60)],
        "downscale_256": [resize_rgb(marked, 256, 256)],
        "crop_10pct": [marked[lo:lo + keep, lo:lo + keep]],
        "crop_10pct_scaled_back_512": [resize_rgb(marked[lo:lo + keep, lo:lo + keep], FRAME_PX, FRAME_PX)],
        "canvas_1080p_0.75x_captured_1080p_jpeg85": [jpeg_roundtrip(canvas_1080p(marked, 0.75), 85)],
        "canvas_1080p_0.75x_captured_720p_jpeg85": [jpeg_roundtrip(resize_rgb(canvas_1080p(marked, 0.75), 1280, 720), 85)],
        "downscale_256_then_jpeg_q60": [jpeg_roundtrip(resize_rgb(marked, 256, 256), 60)],
    }
    if shutil.which("ffmpeg"):
        # a moving source, so the encoder cannot coast on one picture; verify reads every 8th frame of a file,
        # here every 4th of 20 frames
        moving = [marker.mark(np.clip(np.roll(portrait, (i, 2 * i), axis=(0, 1)).astype(np.int16) + i, 0, 255)
                              .astype(np.uint8)) for i in range(20)]
        cases["h264_1mbit_moving_clip_5_frames"] = h264(moving, 1000)[::4]
        cases["h264_1mbit_still_clip_one_frame"] = [h264([marked] * 20, 1000)[12]]
    attacks = {name: _outcome(detect(frames), payload) for name, frames in cases.items()}

    corpus = unmarked_corpus(portrait)
    found = [(detect([img]), name) for name, img in corpus]
    scores = sorted(((d.score, name) for d, name in found), reverse=True)
    false_present = [name for d, name in found if d.present]
    canvas = detect([canvas_1080p(portrait, 0.75)])
    psnrs = [psnr_db(img, marker.mark(img)) for _, img in corpus if img.std() > 0]
    return {
        "machine": {**machine_info(), "loadavg_before": load_before},
        "frame_px": FRAME_PX,
        "embed": embed,
        "detect_one_512_still_ms": round(float(np.median(detect_ms)), 1),
        "psnr_db": {"portrait": round(psnr_db(portrait, marked), 2), "corpus_min": round(min(psnrs), 2),
                    "corpus_median": round(float(np.median(psnrs)), 2)},
        "thresholds": {"present_score": PRESENT_SCORE, "present_score_with_payload": PRESENT_SCORE_WITH_PAYLOAD},
        "attacks": attacks,
        "false_positives": {
            "unmarked_pictures": len(corpus), "found_present": false_present + (["canvas_1080p"] if canvas.present else []),
            "max_score": round(scores[0][0], 2), "top5": [[name, round(s, 2)] for s, name in scores[:5]],
            "unmarked_canvas_1080p_score": round(canvas.score, 2),
            "skimage_pictures": any(name == SKIMAGE_PICTURES[0] for name, _ in corpus)},
    }
