"""Close-up portraits (the face fills the photo): the crop is shifted and tightened into the photo,
and what is still outside it is filled, never smeared edge pixels (quality.edge_streaks)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

torch.set_num_threads(1)

from facecast.runtime.workshop.face import quality, samples  # noqa: E402
from facecast.runtime.engine.avatar import prepare as P  # noqa: E402
from facecast.runtime.engine.avatar.render import PortraitRenderer  # noqa: E402
from facecast.runtime.engine.avatar.sheet import motion_frame  # noqa: E402

CASES = ["closeup_obama", "closeup_biden", "closeup_obama_left", "closeup_astronaut", "closeup_lfw"]
FRAMES = {"neutral": motion_frame({}), "turn": motion_frame({"jawOpen": 0.5}, (0, 15, 0, 0, 0, 0)),
          "nod": motion_frame({}, (10, -10, 5, 0, 0, 0))}


@pytest.fixture(scope="module")
def closeups():
    out = {}
    for name in CASES:
        image = samples.CLOSEUPS[name]()
        out[name] = (image, P.prepare_avatar(image, name))
    return out


def test_streak_measure_catches_repeated_edge_pixels(closeups):
    """The old crop (edge rows and columns repeated past the photo) fails the measure the renders pass."""
    image, _ = closeups["closeup_obama"]
    cx, cy, side = P.crop_box(P.find_face(image))
    padded = P._resample_crop(image, cx, cy, side, 512)
    streaks = quality.edge_streaks(padded)
    assert min(streaks.values()) < 0.05, streaks


@pytest.mark.parametrize("name", CASES)
def test_closeup_frames_have_no_smeared_edges(closeups, name):
    _, avatar = closeups[name]
    renderer = PortraitRenderer(avatar, device="cpu")
    for label, frame in FRAMES.items():
        streaks = quality.edge_streaks(renderer.render(frame))
        assert min(streaks.values()) >= quality.STREAK_RATIO, (label, streaks)


@pytest.mark.parametrize("name", CASES)
def test_closeup_crop_is_fitted_to_the_photo(closeups, name):
    """Shifted and tightened: less of the crop lies outside the photo than the plain crop's, and the
    face stays whole inside it."""
    image, avatar = closeups[name]
    h, w = image.shape[:2]
    cx, cy, side = P.crop_box(P.find_face(image))
    plain_outside = 1.0 - P.crop_inside((w, h), cx, cy, side, 128).mean()
    assert avatar.meta["outside_fraction"] < plain_outside - 0.05
    lo, hi = avatar.landmarks[:, :2].min(0), avatar.landmarks[:, :2].max(0)
    assert lo.min() > 0 and hi.max() < avatar.size


def test_fit_crop_leaves_a_roomy_photo_alone():
    """A head-and-shoulders photo with room around the face keeps the usual crop exactly."""
    image = samples.obama()
    landmarks = P.find_face(image)
    assert np.allclose(P.fit_crop(landmarks, (image.shape[1], image.shape[0])), P.crop_box(landmarks))


def test_fit_crop_with_a_crop_scale_below_the_minimum():
    image = samples.CLOSEUPS["closeup_biden"]()
    landmarks = P.find_face(image)
    cx, cy, side = P.fit_crop(landmarks, (image.shape[1], image.shape[0]), crop_scale=1.0)
    assert np.isfinite([cx, cy, side]).all() and side > 0
