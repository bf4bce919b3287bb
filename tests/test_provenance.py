"""The provenance mark: invisible (PSNR), robust to the edits the issue lists, silent on unmarked frames."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facecast.runtime.engine.config import config_dir
from facecast.runtime.engine.provenance import Marker, Payload, detect, installation_id
from facecast.runtime.engine.provenance import pattern
from facecast.runtime.workshop.bench.watermark import h264, jpeg_roundtrip, psnr_db, resize_rgb, rgb_uint8

PORTRAIT = "runtime/assets/portrait.png"
PAYLOAD = Payload("a1b2c3", "0.1.0")


def _obs_canvas(face: np.ndarray, scale: float, x: int, y: int) -> np.ndarray:
    """A 1920×1080 canvas: gradient, a game-like textured panel and text-like bars around the scaled face."""
    from skimage import data

    yy, xx = np.mgrid[0:1080, 0:1920]
    canvas = np.stack([xx * 255 // 1919, yy * 255 // 1079, np.full_like(xx, 60)], axis=-1).astype(np.uint8)
    canvas[600:1000, 1100:1700] = resize_rgb(rgb_uint8(data.coffee()), 600, 400)
    canvas[80:120, 900:1800] = 255
    canvas[90:110, 920:1700:40] = 0
    s = int(round(face.shape[0] * scale))
    canvas[y:y + s, x:x + s] = resize_rgb(face, s, s)
    return canvas


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    return np.asarray(Image.open(PORTRAIT).convert("RGB").resize((512, 512), Image.LANCZOS))


@pytest.fixture(scope="module")
def marker() -> Marker:
    return Marker(PAYLOAD)


@pytest.fixture(scope="module")
def marked(portrait, marker) -> np.ndarray:
    return marker.mark(portrait)


# ---- payload and identity -------------------------------------------------------------------------------

def test_payload_round_trips_through_shift_symbols():
    for p in [PAYLOAD, Payload("000000", "0.0.0"), Payload("ffffff", "7.31.15")]:
        shifts = pattern.symbols(p.to_bits())
        assert all(r % pattern.SHIFT_STEP_PX == 0 and c % pattern.SHIFT_STEP_PX == 0 for r, c in shifts)
        assert Payload.from_bits(pattern.bits_from_symbols(shifts)) == p


def test_payload_crc_rejects_a_misread_symbol():
    shifts = pattern.symbols(PAYLOAD.to_bits())
    shifts[2] = ((shifts[2][0] + pattern.SHIFT_STEP_PX) % pattern.TILE_PX, shifts[2][1])
    assert Payload.from_bits(pattern.bits_from_symbols(shifts)) is None


def test_payload_refuses_what_does_not_fit():
    with pytest.raises(ValueError):
        Payload("a1b2c3d4", "0.1.0").to_bits()
    with pytest.raises(ValueError):
        Payload("a1b2c3", "0.32.0").to_bits()


def test_patterns_are_orthogonal_at_any_shift():
    pats = pattern.patterns()
    hats = [np.fft.rfft2(p) for p in pats]
    for i in range(len(hats)):
        for j in range(i + 1, len(hats)):
            assert np.abs(hats[i] * np.conj(hats[j])).max() < 1e-3 * np.abs(hats[i]).max() ** 2


def test_installation_id_is_made_once_and_kept(tmp_path):
    first = installation_id(tmp_path)
    assert len(first) == 6 and int(first, 16) >= 0
    assert installation_id(tmp_path) == first
    assert json.loads((tmp_path / "installation.json").read_text()) == {"installation_id": first}
    (tmp_path / "installation.json").write_text("garbage")
    assert len(installation_id(tmp_path)) == 6  # a damaged file is replaced, never a crash


def test_config_dir_follows_env_override_then_xdg(tmp_path, monkeypatch):
    assert config_dir({"FACECAST_CONFIG_DIR": str(tmp_path)}) == tmp_path
    assert config_dir({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "facecast"
    assert config_dir({}) == Path.home() / ".config" / "facecast"
    monkeypatch.setenv("FACECAST_CONFIG_DIR", str(tmp_path / "live"))
    assert config_dir() == tmp_path / "live"  # the process environment when no mapping is given


def test_only_the_config_module_reads_the_environment():
    """STYLE.md: the engine and the command line get settings passed in; engine/config.py alone reads env."""
    root = Path(__file__).resolve().parent.parent / "runtime"
    readers = [str(p.relative_to(root)) for part in ("engine", "cli") for p in sorted((root / part).rglob("*.py"))
               if re.search(r"os\.environ|getenv\(", p.read_text())]
    assert readers == ["engine/config.py"]


# ---- invisible -------------------------------------------------------------------------------------------

def test_mark_is_invisible_by_psnr(portrait, marker):
    from skimage import data

    for img in [portrait, rgb_uint8(data.astronaut()), resize_rgb(rgb_uint8(data.coffee()), 512, 512),
                np.full((512, 512, 3), 128, np.uint8)]:
        assert psnr_db(img, marker.mark(img)) >= 40.0


def test_mark_is_the_saturating_add_of_the_offset(portrait, marker):
    offset = np.rint(np.tile(pattern.tile(PAYLOAD), (4, 4)) * marker.amplitude_levels).astype(np.int16)
    expected = np.clip(portrait.astype(np.int16) + offset[:, :, None], 0, 255).astype(np.uint8)
    assert np.array_equal(marker.mark(portrait), expected)
    inplace = portrait.copy()
    marker.mark(inplace, out=inplace)
    assert np.array_equal(inplace, expected)


# ---- robust ----------------------------------------------------------------------------------------------

def _assert_found(rgb: np.ndarray, what: str, frames: list[np.ndarray] | None = None, payload: bool = True):
    """payload=False: presence must hold, and a payload, when one is read, must be the right one."""
    found = detect(frames if frames is not None else [rgb])
    assert found.present, f"{what}: mark not found (score {found.score:.1f})"
    if payload:
        assert found.payload == PAYLOAD, f"{what}: payload {found.payload} (score {found.score:.1f})"
    else:
        assert found.payload in (None, PAYLOAD), f"{what}: wrong payload {found.payload}"


def test_untouched_frame(marked):
    _assert_found(marked, "untouched")


@pytest.mark.parametrize("quality", [60, 75, 90])
def test_survives_jpeg(marked, quality):
    _assert_found(jpeg_roundtrip(marked, quality), f"JPEG q{quality}")


def test_survives_downscale_to_256(marked):
    _assert_found(resize_rgb(marked, 256, 256), "downscaled to 256²")


@pytest.mark.parametrize("frac", [0.05, 0.10])
@pytest.mark.parametrize("where", ["center", "top-left", "bottom-right"])
def test_survives_crop(marked, frac, where):
    keep = int(round(512 * (1 - frac)))
    y, x = {"center": ((512 - keep) // 2,) * 2, "top-left": (0, 0), "bottom-right": (512 - keep,) * 2}[where]
    _assert_found(marked[y:y + keep, x:x + keep], f"{frac:.0%} crop at {where}")


def test_survives_crop_scaled_back_to_full_size(marked):
    _assert_found(resize_rgb(marked[26:486, 26:486], 512, 512), "10 % crop blown back up to 512²")


@pytest.mark.parametrize("scale,capture", [(0.75, (1920, 1080)), (0.75, (1280, 720)), (1.0, (1600, 900))])
def test_survives_obs_canvas_screen_capture(marked, scale, capture):
    canvas = _obs_canvas(marked, scale, x=170, y=210)
    shot = jpeg_roundtrip(resize_rgb(canvas, *capture), 85)
    # one still of a busy canvas carries too little of the mark to spell the payload every time
    _assert_found(shot, f"OBS canvas at {scale}x captured at {capture}", payload=False)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg with libx264")
def test_survives_h264_at_1_mbit(portrait, marker):
    # a moving source: the face drifts and brightens, so the encoder cannot coast on one static picture
    frames = [marker.mark(np.clip(np.roll(portrait, (i, 2 * i), axis=(0, 1)).astype(np.int16) + i, 0, 255)
                          .astype(np.uint8)) for i in range(20)]
    decoded = h264(frames, 1000)
    _assert_found(decoded[0], "H.264 frames read together", frames=decoded[::4])


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg with libx264")
def test_survives_h264_at_1_mbit_in_one_still_frame(marked):
    decoded = h264([marked] * 20, 1000)
    _assert_found(decoded[12], "one frame of a still H.264 video at 1 Mbit/s")


# ---- silent on what facecast never touched -----------------------------------------------------------------

def _unmarked_corpus(portrait: np.ndarray) -> list[tuple[str, np.ndarray]]:
    from skimage import data

    out = [("portrait", portrait), ("portrait-jpeg60", jpeg_roundtrip(portrait, 60))]
    for name in ["astronaut", "camera", "checkerboard", "chelsea", "clock", "coffee", "coins", "colorwheel",
                 "horse", "logo", "moon", "page", "rocket", "text", "grass", "gravel", "brick", "cat",
                 "shepp_logan_phantom", "hubble_deep_field", "immunohistochemistry", "cell"]:
        img = rgb_uint8(getattr(data, name)())
        out.append((name, img))
        out.append((f"{name}-512", resize_rgb(img, 512, 512)))
    rng = np.random.default_rng(7)
    for i in range(10):  # random crops and rescales of the natural pictures
        src = out[2 + 2 * int(rng.integers(0, 22))][1]
        h, w = src.shape[:2]
        ch, cw = int(h * rng.uniform(0.5, 0.9)), int(w * rng.uniform(0.5, 0.9))
        y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        out.append((f"crop{i}", resize_rgb(src[y:y + ch, x:x + cw], int(cw * 1.3), int(ch * 1.3))))
    yy, xx = np.mgrid[0:512, 0:512]
    patterns_ = {  # test patterns: periodic ones are the hardest, they have their own autocorrelation peaks
        "bars": ((xx // 64) % 2 * 255), "checker16": (((xx // 16) + (yy // 16)) % 2 * 255),
        "checker48": (((xx // 48) + (yy // 48)) % 2 * 255), "zoneplate": 127.5 + 127.5 * np.cos((xx ** 2 + yy ** 2) / 800.0),
        "grating96": 127.5 + 100 * np.sin(2 * np.pi * xx / 96.0) * np.sin(2 * np.pi * yy / 96.0),
        "ramp": xx / 2, "noise": rng.integers(0, 256, (512, 512)), "flat": np.full((512, 512), 90),
    }
    for name, p in patterns_.items():
        out.append((name, rgb_uint8(p.astype(np.uint8))))
    if shutil.which("ffmpeg"):
        for src in ["testsrc=size=512x512:rate=5", "smptebars=size=640x480:rate=5", "mandelbrot=size=512x512:rate=5",
                    "testsrc2=size=512x512:rate=5", "cellauto=size=512x512:rate=5"]:
            w, h = (640, 480) if "640" in src else (512, 512)
            raw = subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", src, "-frames:v", "2",
                                  "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
            for k, f in enumerate(np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)):
                out.append((f"{src.split('=')[0]}-{k}", f))
    return out


def test_no_false_positives_on_unmarked_images(portrait):
    corpus = _unmarked_corpus(portrait)
    assert len(corpus) >= 70
    scores = []
    for name, img in corpus:
        found = detect([img])
        scores.append((found.score, name))
        assert not found.present, f"{name}: false mark (score {found.score:.1f}, payload {found.payload})"
    print("highest unmarked scores:", sorted(scores)[-5:])


def test_no_false_positive_on_an_unmarked_canvas(portrait):
    found = detect([_obs_canvas(portrait, 0.75, x=170, y=210)])
    assert not found.present and found.payload is None


# ---- where the mark goes on and how it is checked ------------------------------------------------------------

def test_frame_worker_marks_frames_before_encoding(portrait, marker):
    import time
    from types import SimpleNamespace

    from facecast.runtime.engine.frames import FrameWorker

    sent = []

    class Publisher:
        def frame(self, session, t_audio_s, fmt, w, h, stride, data):
            sent.append(data)
            return SimpleNamespace(stamp=SimpleNamespace(t_wall_s=time.time()))

    class Renderer:
        def render(self, frame):
            return portrait

    worker = FrameWorker("s", Renderer(), Publisher(), fps=30, frame_format="rgb24", marker=marker).start()
    try:
        worker.offer(SimpleNamespace(t_audio_s=0.1), time.time())
        deadline = time.time() + 10
        while not sent and time.time() < deadline:
            time.sleep(0.01)
    finally:
        worker.stop()
    assert sent, "the worker published no frame"
    assert np.array_equal(np.asarray(sent[0]), marker.mark(portrait))
    assert np.array_equal(portrait, np.asarray(Image.open(PORTRAIT).convert("RGB").resize((512, 512), Image.LANCZOS)))


def test_verify_command_exit_codes_and_json(tmp_path, marked, portrait, capsys):
    from facecast.runtime.cli import main

    Image.fromarray(marked).save(tmp_path / "marked.jpg", quality=70)
    Image.fromarray(portrait).save(tmp_path / "plain.png")
    (tmp_path / "junk.mp4").write_bytes(b"\x00not a video" * 100)
    assert main(["verify", str(tmp_path / "marked.jpg"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["present"] and report["payload"] == {"generator": "facecast", "version": "0.1.0",
                                                      "installation_id": PAYLOAD.installation_id}
    assert main(["verify", str(tmp_path / "plain.png")]) == 1
    assert "no facecast mark" in capsys.readouterr().out
    assert main(["verify", str(tmp_path / "junk.mp4")]) == 2
    assert main(["verify", str(tmp_path / "missing.png"), "--json"]) == 2
    assert "no such file" in json.loads(capsys.readouterr().out)["error"]


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
def test_verify_reads_a_video(tmp_path, marked, capsys):
    from facecast.runtime.cli import main

    path = tmp_path / "clip.mkv"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "512x512", "-r", "30",
                    "-i", "-", "-c:v", "libx264", "-b:v", "1000k", "-pix_fmt", "yuv420p", str(path)],
                   input=marked.tobytes() * 30, check=True)
    assert main(["verify", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["frames_examined"] == 4 and report["payload"]["installation_id"] == PAYLOAD.installation_id
