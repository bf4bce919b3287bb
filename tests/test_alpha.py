"""Transparent background: render_rgba's alpha is the person (soft edges), the head's part moving with
the head; the colour matches the opaque frame where the person is solid; WebM VP9 with alpha, PNG
sequences and rgba32/bgra32 live frames carry it."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
import torch

torch.set_num_threads(1)

from facecast.runtime.workshop.face import samples  # noqa: E402
from facecast.runtime.engine.avatar.prepare import prepare_avatar  # noqa: E402
from facecast.runtime.engine.avatar.render import PortraitRenderer  # noqa: E402
from facecast.runtime.engine.avatar.sheet import motion_frame  # noqa: E402
from facecast.runtime.engine.avatar.video import PngSequenceWriter, VideoWriter, check_video_out  # noqa: E402


@pytest.fixture(scope="module")
def renderer():
    return PortraitRenderer(prepare_avatar(samples.obama(), "obama"), device="cpu")


def test_still_alpha_is_the_person_mask(renderer):
    rgba = renderer.render_rgba(motion_frame({}))
    person = renderer.avatar.masks["person"].astype(int)
    assert np.abs(rgba[..., 3].astype(int) - person).max() <= 2
    assert rgba[:20, :20, 3].max() == 0                     # the backdrop's top corner
    face = renderer.avatar.masks["face"] > 0
    assert (rgba[..., 3][face] == 255).all()
    soft = (person > 20) & (person < 235)                    # hair and shoulder edges are soft, not cut
    assert soft.sum() > 500


def test_colour_matches_the_opaque_frame_where_solid(renderer):
    frame = motion_frame({"jawOpen": 0.5})
    rgba, rgb = renderer.render_rgba(frame), renderer.render(frame)
    solid = rgba[..., 3] == 255
    assert np.abs(rgba[..., :3][solid].astype(int) - rgb[solid]).max() <= 1


def test_head_alpha_moves_with_the_head(renderer):
    still = renderer.render_rgba(motion_frame({}))[..., 3].astype(int)
    turned = renderer.render_rgba(motion_frame({}, (0, 20, 0, 0, 0, 0)))[..., 3].astype(int)
    top = renderer.avatar.landmarks[10, 1]
    head_rows = slice(0, int(top) + 40)
    assert np.abs(turned[head_rows] - still[head_rows]).sum() > 255 * 500   # the hair's outline moved
    assert np.array_equal(turned[-40:], still[-40:])                        # the body did not


def test_transparent_output_needs_an_alpha_container():
    with pytest.raises(ValueError, match="no alpha"):
        check_video_out("out.mp4", alpha=True)
    with pytest.raises(ValueError, match="frame-number"):
        check_video_out("frames.png", alpha=True)
    check_video_out("out.webm", alpha=True)
    check_video_out("frames/%05d.png", alpha=True)


def test_png_sequence_keeps_alpha(renderer, tmp_path):
    from PIL import Image

    rgba = renderer.render_rgba(motion_frame({}))
    with PngSequenceWriter(tmp_path / "f" / "%04d.png", rgba.shape[0], alpha=True) as w:
        w.write(rgba)
        w.write(rgba)
    back = np.asarray(Image.open(tmp_path / "f" / "0002.png"))
    assert back.shape == rgba.shape and np.array_equal(back, rgba)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
def test_webm_vp9_keeps_alpha(renderer, tmp_path):
    rgba = renderer.render_rgba(motion_frame({}))
    out = tmp_path / "clip.webm"
    with VideoWriter(out, rgba.shape[0], 30, alpha=True) as w:
        for _ in range(3):
            w.write(rgba)
    raw = subprocess.run(["ffmpeg", "-loglevel", "error", "-c:v", "libvpx-vp9", "-i", str(out), "-frames:v", "1",
                          "-f", "rawvideo", "-pix_fmt", "rgba", "-"], capture_output=True, check=True).stdout
    alpha = np.frombuffer(raw, np.uint8).reshape(rgba.shape)[..., 3].astype(int)
    assert np.abs(alpha - rgba[..., 3]).mean() < 3 and alpha[:20, :20].max() < 10


class _Publisher:
    def __init__(self):
        self.frames = []

    def frame(self, session, t, fmt, w, h, stride, data):
        self.frames.append((fmt, w, h, stride, np.asarray(data)))

        class Msg:
            class stamp:
                t_wall_s = 0.0
        return Msg


@pytest.mark.parametrize("fmt", ["rgba32", "bgra32"])
def test_live_alpha_frames(renderer, fmt):
    from facecast.runtime.engine.frames import FrameWorker

    pub = _Publisher()
    worker = FrameWorker("default", renderer, pub, frame_format=fmt, transparent=True).start()
    frame = motion_frame({})
    frame.t_audio_s = 0.1
    worker.offer(frame, 0.0)
    for _ in range(200):                  # the worker's thread renders it: wait for the publish, not a time
        if pub.frames:
            break
        worker._thread.join(timeout=0.05)
    worker.stop()
    got_fmt, w, h, stride, data = pub.frames[0]
    assert (got_fmt, w, h, stride) == (fmt, 512, 512, 4 * 512)
    rgba = renderer.render_rgba(motion_frame({}))
    pixels = data if fmt == "rgba32" else data[..., [2, 1, 0, 3]]
    assert np.array_equal(pixels[..., 3], rgba[..., 3]) and np.array_equal(pixels[..., :3], rgba[..., :3])
    with pytest.raises(ValueError, match="alpha"):
        FrameWorker("default", renderer, pub, frame_format="jpeg", transparent=True)
