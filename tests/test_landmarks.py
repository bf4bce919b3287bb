"""Face detection + 468-point mesh + iris on onnxruntime, checked against mediapipe 0.10.21's own
output saved in tests/data/ by `python -m facecast.runtime.workshop.face.reference_check`."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("skimage", reason="the portraits come from scikit-image (pip install scikit-image)")
pytest.importorskip("matplotlib", reason="grace_hopper.jpg comes from matplotlib's sample data")

from facecast.runtime.engine.avatar import landmarks as lm  # noqa: E402
from facecast.runtime.workshop.face.reference_check import load_photos  # noqa: E402

DATA = Path(__file__).parent / "data"
PHOTOS = ("astronaut", "grace_hopper")
# Person's right-eye / left-eye contour indices of the 468 mesh matching the iris model's first 16
# contour points (MediaPipe's UpdateFaceLandmarksCalculator order).
RIGHT_EYE = [33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173]
LEFT_EYE = [263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398]


@pytest.fixture(scope="module")
def photos() -> dict[str, np.ndarray]:
    return load_photos()


@pytest.fixture(scope="module")
def analyzer() -> lm.FaceAnalyzer:
    return lm.FaceAnalyzer(threads=1)


def ref_mesh(name: str) -> np.ndarray:
    return np.load(DATA / f"{name}_mesh_ref.npy")


def ref_box(name: str) -> np.ndarray:
    return np.load(DATA / f"{name}_box_ref.npy")


def mesh_of(analyzer: lm.FaceAnalyzer, image: np.ndarray) -> np.ndarray:
    faces = analyzer.detect_faces(image)
    assert len(faces) == 1, f"expected one face, got {len(faces)}"
    return analyzer.face_mesh(image, faces[0])


@pytest.mark.parametrize("name", PHOTOS)
def test_one_face_with_the_box_around_it(analyzer, photos, name):
    image = photos[name]
    faces = analyzer.detect_faces(image)
    assert len(faces) == 1
    face = faces[0]
    assert 0.5 <= face.score <= 1.0
    ours = np.array([*face.box, *face.keypoints.ravel()])
    np.testing.assert_allclose(ours, ref_box(name), atol=0.05)  # mediapipe's own detection, pixels
    x, y, w, h = face.box
    mesh = ref_mesh(name)
    inside = ((mesh[:, 0] > x - 0.3 * w) & (mesh[:, 0] < x + 1.3 * w)
              & (mesh[:, 1] > y - 0.5 * h) & (mesh[:, 1] < y + 1.3 * h))
    assert inside.all()  # the box sits on the face, not somewhere else in the frame
    right_eye, left_eye = face.keypoint("right_eye"), face.keypoint("left_eye")
    assert right_eye[0] < left_eye[0]  # person's right eye on the image left


@pytest.mark.parametrize("name", PHOTOS)
def test_mesh_matches_mediapipe(analyzer, photos, name):
    got = mesh_of(analyzer, photos[name])
    assert got.shape == (468, 3) and got.dtype == np.float32
    ref = ref_mesh(name)
    dist = np.linalg.norm(got[:, :2] - ref[:, :2], axis=1)
    # Measured 0.0003 / 0.0017 px mean: the crop reproduces OpenCV's sampling exactly.
    assert dist.mean() < 0.05 and dist.max() < 0.25, (dist.mean(), dist.max())
    assert np.abs(got[:, 2] - ref[:, 2]).max() < 0.25


@pytest.mark.parametrize("name", PHOTOS)
def test_tracking_crop_matches_mediapipe_video_mode(analyzer, photos, name):
    # mediapipe's second video frame is cropped from the first frame's landmarks.
    got = analyzer.face_mesh(photos[name], lm.roi_from_landmarks(ref_mesh(name)))
    ref = np.load(DATA / f"{name}_track_ref.npy")
    dist = np.linalg.norm(got[:, :2] - ref[:, :2], axis=1)
    assert dist.mean() < 0.05 and dist.max() < 0.25, (dist.mean(), dist.max())


@pytest.mark.parametrize("image", ["coffee", "gradient", "noise", "black"])
def test_no_face_gives_no_detection(analyzer, image):
    from skimage import data

    ramp = np.linspace(0, 255, 640, dtype=np.float32).astype(np.uint8)
    images = {
        "coffee": data.coffee(),
        "gradient": np.repeat(np.tile(ramp, (480, 1))[:, :, None], 3, axis=2),
        "noise": np.random.default_rng(0).integers(0, 256, (300, 400, 3), dtype=np.uint8),
        "black": np.zeros((64, 64, 3), np.uint8),
    }
    assert analyzer.detect_faces(images[image]) == []


def test_no_face_error_names_image_and_fix(photos):
    from skimage import data

    with pytest.raises(lm.NoFaceFound, match=r"no face in coffee.jpg \(600x400\).*frontal face"):
        lm.portrait_landmarks(data.coffee(), "coffee.jpg")


def test_mirrored_portrait(analyzer, photos):
    image = photos["astronaut"]
    w = image.shape[1]
    got = mesh_of(analyzer, image[:, ::-1].copy())
    back = np.column_stack([w - 1 - got[:, 0], got[:, 1]])
    # A mirror swaps the person's sides, so compare as point sets (nearest reference point).
    ref = ref_mesh("astronaut")[:, :2]
    nearest = np.linalg.norm(back[:, None] - ref[None], axis=2).min(axis=1)
    assert nearest.mean() < 2.0


@pytest.mark.parametrize("quarter_turns", [1, 3])
def test_sideways_portrait(analyzer, photos, quarter_turns):
    image = photos["astronaut"]
    h, w = image.shape[:2]
    turned = np.rot90(image, quarter_turns).copy()
    got = mesh_of(analyzer, turned)
    # The detector's eye keypoints are rough on a face lying sideways (crop 15-40 degrees off);
    # re-cropping from the mesh's own eye corners, as MediaPipe's tracking does, recovers it.
    for _ in range(2):
        got = analyzer.face_mesh(turned, lm.roi_from_landmarks(got))
    # np.rot90 turns counter-clockwise: (x, y) -> (y, w-1-x) per quarter turn; undo it.
    for _ in range(quarter_turns):
        got = np.column_stack([w - 1 - got[:, 1], got[:, 0], got[:, 2]])
    dist = np.linalg.norm(got[:, :2] - ref_mesh("astronaut")[:, :2], axis=1)
    assert dist.mean() < 2.0  # 2 % of the face width


@pytest.mark.parametrize("angle_deg", [-30, 30])
def test_tilted_portrait(analyzer, photos, angle_deg):
    from PIL import Image

    image = photos["astronaut"]
    h, w = image.shape[:2]
    tilted = np.asarray(Image.fromarray(image).rotate(angle_deg, resample=Image.BILINEAR))
    got = mesh_of(analyzer, tilted)
    t, (cx, cy) = np.deg2rad(angle_deg), (w / 2, h / 2)
    x, y = got[:, 0] - cx, got[:, 1] - cy
    back = np.column_stack([np.cos(t) * x - np.sin(t) * y + cx, np.sin(t) * x + np.cos(t) * y + cy])
    assert np.linalg.norm(back - ref_mesh("astronaut")[:, :2], axis=1).mean() < 2.0


def test_upside_down_portrait_is_still_found(analyzer, photos):
    image = photos["astronaut"]
    h, w = image.shape[:2]
    faces = analyzer.detect_faces(image[::-1, ::-1].copy())
    assert len(faces) == 1
    x, y, bw, bh = faces[0].box
    ref = ref_box("astronaut")
    cx, cy = w - (ref[0] + ref[2] / 2), h - (ref[1] + ref[3] / 2)
    assert x < cx < x + bw and y < cy < y + bh


@pytest.mark.parametrize("wide", [True, False])
def test_letterboxed_input(analyzer, photos, wide):
    image = photos["astronaut"]
    shape = (512, 700, 3) if wide else (700, 512, 3)
    canvas = np.full(shape, 128, np.uint8)
    canvas[(shape[0] - 512) // 2:][:512, (shape[1] - 512) // 2:][:, :512] = image
    got = mesh_of(analyzer, canvas)
    offset = np.array([(shape[1] - 512) // 2, (shape[0] - 512) // 2])
    dist = np.linalg.norm(got[:, :2] - offset - ref_mesh("astronaut")[:, :2], axis=1)
    assert dist.mean() < 1.5


@pytest.mark.parametrize("name", PHOTOS)
def test_iris_on_the_eyes(analyzer, photos, name):
    image = photos[name]
    mesh = mesh_of(analyzer, image)
    result = analyzer.iris(image, mesh)
    assert result.iris.shape == (2, 5, 3) and result.contour.shape == (2, 71, 3)
    for contour, indices in zip(result.contour, (RIGHT_EYE, LEFT_EYE)):
        # The refined eye contour must land on the mesh's own eye landmarks (a mirrored or
        # misplaced crop puts it >10 px off); glasses make grace_hopper's the looser one.
        assert np.linalg.norm(contour[:16, :2] - mesh[indices, :2], axis=1).mean() < 5.0
    for iris, indices in zip(result.iris, (RIGHT_EYE, LEFT_EYE)):
        corners = mesh[[indices[0], indices[8]], :2]
        assert corners[:, 0].min() < iris[0, 0] < corners[:, 0].max()  # centre between the corners
        radius = np.linalg.norm(iris[1:, :2] - iris[0, :2], axis=1).mean()
        assert 0.1 < radius / np.linalg.norm(corners[1] - corners[0]) < 0.4


def test_weighted_nms_merges_overlaps_and_keeps_separate_faces():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], np.float64)
    keypoints = np.zeros((3, 6, 2))
    keypoints[1] += 3.0
    scores = np.array([0.9, 0.6, 0.7])
    out = lm.weighted_nms(boxes, keypoints, scores)
    assert [s for _, _, s in out] == [0.9, 0.7]
    np.testing.assert_allclose(out[0][0], [0.4, 0, 10.4, 10])  # score-weighted mean of the pair
    np.testing.assert_allclose(out[0][1], 1.2)


def test_rejects_non_rgb_uint8(analyzer):
    with pytest.raises(ValueError, match="RGB uint8"):
        analyzer.detect_faces(np.zeros((64, 64), np.uint8))
    with pytest.raises(ValueError, match="RGB uint8"):
        analyzer.detect_faces(np.zeros((64, 64, 3), np.float32))


def test_shipped_models_match_their_record():
    models = Path(lm.__file__).parent / "models"
    record = json.loads((models / "conversion.json").read_text())
    total = 0
    for name, info in record["models"].items():
        data = (models / f"{name}.onnx").read_bytes()
        assert hashlib.sha256(data).hexdigest() == info["onnx_sha256"], f"{name}.onnx is stale"
        total += len(data)
    assert total < 8e6
    assert "Apache-2.0" in (models / "MODELS.md").read_text()
