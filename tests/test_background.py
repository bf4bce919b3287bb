"""Head vs background (runtime/engine/avatar/background.py) and the renderer's head-over-plate composite.

Thresholds: the head mask is 255 on the whole face oval and 0 in the crop's top corners on every
sample portrait; the plate equals the portrait wherever the mask is 0; with yaw +-20 or pitch +-15 every
pixel further than 40 px from the head mask and every pixel below the neck's base is bit-identical
to the portrait (the background and the body stay put); where the head uncovers what it covered,
the output is the plate (mean difference <= 6 levels), which is not the face or hair that was there
(mean difference from the portrait >= 25 levels); a format-1 .fca file without a plate still loads.

Envelope (background.head_envelope): on all six sample portraits (obama, biden, astronaut,
grace_hopper, painting, pencil) the head mask is 0 everywhere outside it (above the jaw line: the
superellipse reaching 0.35 face widths past the cheeks and 0.6 face heights past the forehead top),
255 on the face oval, > 200 on average in the hair band 0.1 face heights above the forehead top;
on obama, whose short hair stands before a bright window, the top 10% of the crop's rows are 0.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

pytest.importorskip("skimage", reason="the portraits come from scikit-image (pip install scikit-image)")
pytest.importorskip("matplotlib", reason="grace_hopper.jpg comes from matplotlib's sample data")

from scipy import ndimage  # noqa: E402

from facecast.runtime.workshop.face import samples  # noqa: E402
from facecast.runtime.engine.avatar.background import head_envelope, push_pull  # noqa: E402
from facecast.runtime.engine.avatar.prepare import FCA_VERSION, Avatar, make_masks, prepare_avatar  # noqa: E402
from facecast.runtime.engine.avatar.render import PortraitRenderer  # noqa: E402
from facecast.runtime.engine.avatar.sheet import motion_frame  # noqa: E402

torch.set_num_threads(1)

TURNS = [(0, 20, 0, 0, 0, 0), (0, -20, 0, 0, 0, 0), (15, 0, 0, 0, 0, 0), (-15, 0, 0, 0, 0, 0)]


@pytest.fixture(scope="module")
def avatars() -> dict[str, Avatar]:
    return {"astronaut": prepare_avatar(samples.astronaut(), "astronaut"),
            "grace_hopper": prepare_avatar(samples.grace_hopper(), "grace_hopper"),
            "painting": prepare_avatar(samples.painting(), "painting"),
            "pencil": prepare_avatar(samples.pencil_sketch(), "pencil", face_box=(177, 83, 96, 96)),
            "obama": prepare_avatar(samples.obama(), "obama"),
            "biden": prepare_avatar(samples.biden(), "biden")}


@pytest.fixture(scope="module")
def renderers(avatars) -> dict[str, PortraitRenderer]:
    return {k: PortraitRenderer(avatars[k], device="cpu") for k in ("astronaut", "grace_hopper")}


def _full(renderer: PortraitRenderer, region_values: torch.Tensor) -> np.ndarray:
    """(S, S) array of a per-region (h, w) tensor, 0 outside the region."""
    x0, y0, w, h = renderer.region
    out = np.zeros((renderer.size, renderer.size), np.float32)
    out[y0:y0 + h, x0:x0 + w] = region_values.cpu().numpy()
    return out


ALL = ["astronaut", "grace_hopper", "painting", "pencil", "obama", "biden"]


@pytest.mark.parametrize("name", ALL)
def test_head_mask_covers_the_face_and_leaves_the_top_corners(avatars, name):
    av = avatars[name]
    head, face = av.masks["head"], av.masks["face"] > 0
    assert head.dtype == np.uint8 and head.shape == face.shape
    assert (head[face] == 255).all()                     # never cuts into the face oval
    corner = av.size // 12
    assert (head[:corner, :corner] == 0).all() and (head[:corner, -corner:] == 0).all()
    # soft: a feathered edge, not a polygon
    assert ((head > 0) & (head < 255)).sum() > 200
    # hair (or a hat) above the forehead belongs to the head: the band just over the face oval's top
    top = av.landmarks[10, :2]
    fr_h = float(np.linalg.norm(av.landmarks[10, :2] - av.landmarks[152, :2]))
    x, y = int(top[0]), int(top[1] - 0.1 * fr_h)
    assert head[y - 3:y + 3, x - 10:x + 10].mean() > 200, name


@pytest.mark.parametrize("name", ALL)
def test_head_mask_stays_in_the_envelope(avatars, name):
    av = avatars[name]
    outside = ~head_envelope(av.landmarks, av.size)
    assert outside.sum() > 0.1 * av.size ** 2           # the envelope does bound something
    assert (av.masks["head"][outside] == 0).all(), name


def test_obama_window_above_the_head_is_not_head(avatars):
    av = avatars["obama"]
    assert (av.masks["head"][: av.size // 10] == 0).all()


@pytest.mark.parametrize("name", ["astronaut", "grace_hopper"])
def test_plate_is_the_portrait_outside_the_head_and_background_inside(avatars, name):
    av = avatars[name]
    outside = av.masks["head"] == 0
    np.testing.assert_array_equal(av.plate[outside], av.image[outside])
    face = av.masks["face"] > 0
    # the face is gone from the plate: what is there is in the colours of the background around it
    assert np.abs(av.plate[face].astype(int) - av.image[face]).mean() > 25
    near = outside & (ndimage.distance_transform_edt(outside) < 30)
    near[int(av.landmarks[152, 1]):] = False             # beside and above the head, not the body
    assert np.linalg.norm(av.plate[face].mean(0) - av.image[near].mean(0)) < 40
    # and it is not a flat smear: some grain is left
    assert av.plate[face].astype(float).std(0).mean() > 2


@pytest.mark.parametrize("name", ["astronaut", "grace_hopper"])
@pytest.mark.parametrize("head", TURNS)
def test_turning_head_leaves_background_and_body_alone(renderers, avatars, name, head):
    r, av = renderers[name], avatars[name]
    out = r.render(motion_frame({}, head))
    far = ndimage.distance_transform_edt(av.masks["head"] == 0) > 40
    np.testing.assert_array_equal(out[far], av.image[far])
    lm = av.landmarks
    below_neck = int(lm[152, 1] + 0.45 * np.linalg.norm(lm[10, :2] - lm[152, :2]))
    np.testing.assert_array_equal(out[below_neck:], av.image[below_neck:])


@pytest.mark.parametrize("name", ["astronaut", "grace_hopper"])
@pytest.mark.parametrize("head", TURNS[:2])
def test_what_the_head_uncovers_is_the_plate(renderers, avatars, name, head):
    r, av = renderers[name], avatars[name]
    out = r.render(motion_frame({}, head))
    alpha = _full(r, r.head_alpha)
    uncovered = (av.masks["head"] > 240) & (alpha < 0.01)
    assert uncovered.sum() > 300, uncovered.sum()        # a 20° turn does uncover something
    shown = out[uncovered].astype(int)
    assert np.abs(shown - av.plate[uncovered]).mean() <= 6
    assert np.abs(shown - av.image[uncovered]).mean() >= 25   # not a stretched copy of what was there


def test_still_head_is_the_portrait_outside_the_head(renderers, avatars):
    r, av = renderers["grace_hopper"], avatars["grace_hopper"]
    out = r.render(motion_frame({"jawOpen": 0.7, "eyeBlinkRight": 1.0, "mouthSmileLeft": 1.0}, gaze=(15, 5, 15, 5)))
    outside = av.masks["head"] == 0
    np.testing.assert_array_equal(out[outside], av.image[outside])
    # inside, away from the painted mouth and eyes, the unmoved layer over the plate is the portrait too
    hair = (av.masks["head"] > 0) & (np.arange(av.size)[:, None] < av.landmarks[10, 1] - 5)
    assert np.abs(out[hair].astype(int) - av.image[hair]).max() <= 1


def test_format_1_file_without_a_plate_still_loads(avatars, tmp_path):
    av = avatars["astronaut"]
    old = make_masks(av.landmarks, av.size)                # format 1: a polygon ring for the head
    arrays = {"image": av.image, "landmarks": av.landmarks, "iris": av.iris,
              "meta": np.frombuffer(json.dumps({"fca_version": 1, "source": "old"}).encode(), np.uint8)}
    arrays.update({f"mask_{k}": v for k, v in old.items()})
    with (tmp_path / "old.fca").open("wb") as f:
        np.savez(f, **arrays)
    back = Avatar.load(tmp_path / "old.fca")
    assert back.plate.shape == av.image.shape and back.plate.dtype == np.uint8
    np.testing.assert_array_equal(back.masks["head"], av.masks["head"])   # cut again, as prepare does
    np.testing.assert_array_equal(back.plate, av.plate)
    assert back.meta["source"] == "old"
    # saved again, it is a current file with the plate inside
    again = Avatar.load(back.save(tmp_path / "new.fca"))
    np.testing.assert_array_equal(again.plate, av.plate)
    assert FCA_VERSION >= 2
    out = PortraitRenderer(back, device="cpu").render(motion_frame({}, (0, 20, 0, 0, 0, 0)))
    assert out.shape == av.image.shape


def test_push_pull_fills_a_hole_from_its_surroundings():
    yy, xx = np.mgrid[:64, :64]
    ramp = np.stack([xx * 2.0, yy * 3.0, np.full((64, 64), 50.0)], -1)
    known = np.ones((64, 64), bool)
    known[20:40, 16:44] = False
    filled = push_pull(ramp, known)
    np.testing.assert_allclose(filled[known], ramp[known], atol=1e-9)       # known pixels kept
    assert np.abs(filled[~known] - ramp[~known]).mean() < 12                 # hole follows the ramp
    assert np.abs(filled[~known][:, 2] - 50).max() < 1e-6                    # a flat channel stays flat
