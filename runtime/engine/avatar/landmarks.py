"""Face detection, 468-point face mesh and iris landmarks: MediaPipe's models on onnxruntime + numpy.

Reproduces MediaPipe's CPU graphs (face_detection_short_range, face_landmark, iris_landmark; models
converted by `convert_models.py`) without mediapipe, TensorFlow or OpenCV, down to OpenCV's
sampling convention, so the landmarks match mediapipe 0.10.21's own to well under a pixel.

Conventions, for every function here:
  - images are RGB uint8 arrays of shape (H, W, 3), any size;
  - coordinates are image pixels, x right in [0, W], y down in [0, H]: mediapipe's normalized
    coordinates times the image size, so ours and theirs compare directly (crops sample the image
    at integer pixel positions, as OpenCV does; the sub-pixel convention is MediaPipe's, unpinned
    to within half a crop pixel);
  - z is depth relative to the face centre in the same pixel scale as x (smaller = nearer the
    camera), as MediaPipe's z scaled by the image width;
  - "right"/"left" are the person's: a face looking at the camera has its right eye on the image left.

The short-range detector is trained for faces that fill a good part of the frame (roughly within
2 m of a webcam; face height ≳ 20 % of the image's long side). Portraits are that case; a small face
in a wide shot may go undetected: crop the photo closer, or pass a hand-made FaceBox to face_mesh.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import onnxruntime as ort

MODELS_DIR = Path(__file__).resolve().parent / "models"
DETECTOR_SIZE = 128
MESH_SIZE = 192
IRIS_SIZE = 64
MIN_DETECTION_SCORE = 0.5
NMS_IOU = 0.3
# A picture this much wider than tall (or taller than wide) is also searched in overlapping square tiles:
# letterboxed whole into the detector's 128 x 128, three portraits side by side leave each face ~10 % of
# the long side, below what the short-range model finds.
TILE_ASPECT = 1.5
MESH_ROI_SCALE = 1.5   # face box -> mesh crop, as face_detection_front_detection_to_roi
IRIS_ROI_SCALE = 2.3   # eye corners -> iris crop, as iris_landmark_landmarks_to_roi
# Eye-corner landmarks of the 468 mesh, image-left to image-right: person's right eye, then left eye.
EYE_CORNERS = ((33, 133), (362, 263))
KEYPOINT_NAMES = ("right_eye", "left_eye", "nose_tip", "mouth_center",
                  "right_ear_tragion", "left_ear_tragion")


class NoFaceFound(RuntimeError):
    """Raised by helpers that need a face where none was detected."""


@dataclass(frozen=True)
class FaceBox:
    """One detected face. `box` = (x_min, y_min, width, height) in pixels; `keypoints` (6, 2) float32
    pixels in KEYPOINT_NAMES order; `score` in [0.5, 1] (the detector's sigmoid confidence)."""

    box: tuple[float, float, float, float]
    keypoints: np.ndarray
    score: float

    @property
    def center(self) -> tuple[float, float]:
        x, y, w, h = self.box
        return x + w / 2, y + h / 2

    def keypoint(self, name: str) -> np.ndarray:
        return self.keypoints[KEYPOINT_NAMES.index(name)]


@dataclass(frozen=True)
class Roi:
    """A square, rotated crop: centre (cx, cy) and side in pixels, rotation in radians (clockwise on
    screen, i.e. positive turns the crop's x axis towards image +y)."""

    cx: float
    cy: float
    side: float
    rotation: float

    def to_image(self, uv: np.ndarray, size: int) -> np.ndarray:
        """Map (N, 2) crop pixel coordinates (0..size, corner convention) to image pixels."""
        c, s = np.cos(self.rotation), np.sin(self.rotation)
        rel = (uv / size - 0.5) * self.side
        return np.stack([c * rel[:, 0] - s * rel[:, 1] + self.cx,
                         s * rel[:, 0] + c * rel[:, 1] + self.cy], axis=1)


@dataclass(frozen=True)
class Mesh:
    """`landmarks` (468, 3) float32 pixels (x, y, z); `presence` in [0, 1] (the model's face flag);
    `roi` the crop the model saw."""

    landmarks: np.ndarray
    presence: float
    roi: Roi


@dataclass(frozen=True)
class Irises:
    """`iris` (2, 5, 3) float32 pixels: [right eye, left eye] x [centre, 4 points on the iris rim];
    `contour` (2, 71, 3) the refined eye contour + brow points per eye. z as in the module doc."""

    iris: np.ndarray
    contour: np.ndarray


def sample_crop(image: np.ndarray, roi: Roi, size: int, border_replicate: bool,
                flip: bool = False) -> np.ndarray:
    """Bilinear (size, size, 3) uint8 crop of `roi`, as cv2.warpPerspective(INTER_LINEAR) does it:
    output pixel (u, v) samples roi.to_image((u, v)) with coordinates rounded to 1/32 pixel and the
    result rounded half up to uint8. Outside the image: nearest edge pixel (replicate) or black (zero)."""
    h, w = image.shape[:2]
    u, v = np.meshgrid(np.arange(size, dtype=np.float64), np.arange(size, dtype=np.float64))
    if flip:  # mirror the crop: output column u shows what column size - u would
        u = size - u
    xy = roi.to_image(np.stack([u.ravel(), v.ravel()], axis=1), size)
    xy = np.round(xy * 32.0) / 32.0  # OpenCV's INTER_BITS = 5 fixed-point coordinates
    x0 = np.floor(xy[:, 0])
    y0 = np.floor(xy[:, 1])
    # Weights are multiples of 1/1024, so float32 sums below are exact.
    fx = (xy[:, 0] - x0).astype(np.float32)[:, None]
    fy = (xy[:, 1] - y0).astype(np.float32)[:, None]
    x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
    flat = image.reshape(-1, 3)
    out = np.zeros((size * size, 3), np.float32)
    for yi, wy in ((y0, 1 - fy), (y0 + 1, fy)):
        row = np.clip(yi, 0, h - 1) * w
        for xi, wx in ((x0, 1 - fx), (x0 + 1, fx)):
            weight = wx * wy
            if not border_replicate:
                weight = weight * ((xi >= 0) & (xi < w) & (yi >= 0) & (yi < h))[:, None]
            out += flat[row + np.clip(xi, 0, w - 1)] * weight
    # With 1/32 fractions OpenCV's 15-bit weights are exact; its `(sum + 2**14) >> 15` rounds half up.
    return np.clip(np.floor(out + 0.5), 0, 255).astype(np.uint8).reshape(size, size, 3)


def _anchors() -> np.ndarray:
    """(896, 2) anchor centres in [0, 1] of BlazeFace short range (SsdAnchorsCalculator options:
    strides 8, 16, 16, 16; one aspect ratio + interpolated scale = 2 anchors per layer; fixed size)."""
    centres = []
    for stride, per_cell in ((8, 2), (16, 6)):
        n = DETECTOR_SIZE // stride
        y, x = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        grid = np.stack([(x + 0.5) / n, (y + 0.5) / n], axis=-1).reshape(-1, 1, 2)
        centres.append(np.repeat(grid, per_cell, axis=1).reshape(-1, 2))
    return np.concatenate(centres).astype(np.float32)


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one (xmin, ymin, xmax, ymax) box with (N, 4) boxes."""
    ix = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = ix * iy
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
    return inter / np.maximum(area(box) + area(boxes) - inter, 1e-12)


def weighted_nms(boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray,
                 iou_threshold: float = NMS_IOU) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """MediaPipe's WEIGHTED non-max suppression: each cluster (IoU > threshold with the best
    remaining box) becomes its score-weighted mean box and keypoints, keeping the best score.
    boxes (N, 4) xmin, ymin, xmax, ymax; keypoints (N, K, 2); scores (N,). Sorted by score."""
    order = np.argsort(-scores, kind="stable")
    out = []
    while order.size:
        best = order[0]
        member = _iou(boxes[best], boxes[order]) > iou_threshold
        cluster, order = order[member], order[~member]
        if cluster.size == 0:  # a degenerate best box overlaps nothing, itself included
            cluster, order = np.array([best]), order[order != best]
        wts = scores[cluster][:, None]
        total = wts.sum()
        out.append(((boxes[cluster] * wts).sum(0) / total,
                    (keypoints[cluster] * wts[:, :, None]).sum(0) / total, float(scores[best])))
    return out


def _corners(face: FaceBox) -> np.ndarray:
    """(4,) xmin, ymin, xmax, ymax of a detection's box."""
    x, y, w, h = face.box
    return np.array([x, y, x + w, y + h])


def _cut_by_tile(face: FaceBox, tile: Roi, w: int, h: int, slack: float = 0.1) -> bool:
    """Whether `face` runs over an edge of the square `tile` that lies inside the w x h picture (by more
    than `slack` of its box): half a face at a tile's inner edge is seen whole in the next tile."""
    x, y, bw, bh = face.box
    lo_x, lo_y = tile.cx - tile.side / 2, tile.cy - tile.side / 2
    hi_x, hi_y = lo_x + tile.side, lo_y + tile.side
    return ((lo_x > 0.5 and x < lo_x - slack * bw) or (hi_x < w - 0.5 and x + bw > hi_x + slack * bw)
            or (lo_y > 0.5 and y < lo_y - slack * bh) or (hi_y < h - 0.5 and y + bh > hi_y + slack * bh))


def _session(path: Path, threads: int) -> ort.InferenceSession:
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; run `python -m facecast.runtime.engine.avatar."
                                f"convert_models --out {path.parent}`")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def _check_image(image: np.ndarray) -> None:
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an RGB uint8 (H, W, 3) image, got {image.dtype} {image.shape}; "
                         "convert with np.asarray(PIL.Image.open(path).convert('RGB'))")


class FaceAnalyzer:
    """The three models behind one object; sessions load on first use. `threads`: onnxruntime
    intra-op threads per session (1 keeps it polite next to a real-time audio thread)."""

    def __init__(self, models_dir: Path = MODELS_DIR, threads: int = 1):
        self.models_dir = Path(models_dir)
        self.threads = threads
        self._anchors = _anchors()

    @cached_property
    def _detector(self) -> ort.InferenceSession:
        return _session(self.models_dir / "face_detection_short_range.onnx", self.threads)

    @cached_property
    def _mesh(self) -> ort.InferenceSession:
        return _session(self.models_dir / "face_landmark.onnx", self.threads)

    @cached_property
    def _iris(self) -> ort.InferenceSession:
        return _session(self.models_dir / "iris_landmark.onnx", self.threads)

    def detect_faces(self, image: np.ndarray, min_score: float = MIN_DETECTION_SCORE) -> list[FaceBox]:
        """All faces in `image` (RGB uint8 (H, W, 3)), best score first; [] when there is none.
        The image is letterboxed (zero padding) to a square, resized to 128 x 128, mapped to [-1, 1].
        A picture at least TILE_ASPECT times wider than tall (or taller than wide) is also searched in
        square tiles of its short side, half a tile apart, so faces side by side each get a tile's
        resolution; one face seen in several passes is kept once, from the pass that scored it best."""
        _check_image(image)
        h, w = image.shape[:2]
        side = float(max(h, w))
        whole = Roi((w - 1) / 2 + 0.5, (h - 1) / 2 + 0.5, side, 0.0)  # centre of the pixel area
        found = self._detect_in(image, whole, min_score)
        short, long_ = min(h, w), max(h, w)
        if long_ < TILE_ASPECT * short:
            return found
        # tile starts evenly spaced, at most half a tile apart: a face up to half a tile wide lies whole
        # inside at least one tile, so faces cut by a tile's inner edge can be dropped
        n = int(np.ceil((long_ - short) / (short / 2))) + 1
        for start in np.linspace(0.0, long_ - short, n):
            cx, cy = (start + short / 2, h / 2) if w > h else (w / 2, start + short / 2)
            tile = Roi(float(cx), float(cy), float(short), 0.0)
            found += [f for f in self._detect_in(image, tile, min_score) if not _cut_by_tile(f, tile, w, h)]
        kept: list[FaceBox] = []
        for face in sorted(found, key=lambda f: -f.score):
            if all(_iou(_corners(face), _corners(k)[None])[0] <= NMS_IOU for k in kept):
                kept.append(face)
        return kept

    def _detect_in(self, image: np.ndarray, roi: Roi, min_score: float) -> list[FaceBox]:
        """One detector pass over the unrotated square `roi` of `image` (zero outside the picture)."""
        side = roi.side
        crop = sample_crop(image, roi, DETECTOR_SIZE, border_replicate=False)
        x = (crop.astype(np.float32) * (2.0 / 255.0) - 1.0).transpose(2, 0, 1)[None]
        regressors, logits = self._detector.run(None, {self._detector.get_inputs()[0].name: x})
        raw = regressors.reshape(-1, 16) / DETECTOR_SIZE
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits.reshape(-1).astype(np.float64), -100.0, 100.0)))
        keep = scores >= min_score
        if not keep.any():
            return []
        raw, scores, anchors = raw[keep], scores[keep], self._anchors[keep]
        centre = raw[:, :2] + anchors
        half = raw[:, 2:4] / 2
        boxes = np.concatenate([centre - half, centre + half], axis=1)
        keypoints = raw[:, 4:].reshape(-1, 6, 2) + anchors[:, None, :]
        origin = np.array([roi.cx - side / 2, roi.cy - side / 2])  # letterbox removal, to pixels
        faces = []
        for box, kps, score in weighted_nms(boxes, keypoints, scores):
            x0, y0 = box[:2] * side + origin
            x1, y1 = box[2:] * side + origin
            faces.append(FaceBox((float(x0), float(y0), float(x1 - x0), float(y1 - y0)),
                                 (kps * side + origin).astype(np.float32), score))
        return faces

    def mesh_roi(self, face: FaceBox) -> Roi:
        """The mesh crop for a detection: box centre, 1.5 x its long side, turned so the eyes lie
        level (rotation from the right-eye to the left-eye keypoint)."""
        x, y, w, h = face.box
        (rx, ry), (lx, ly) = face.keypoints[0], face.keypoints[1]
        rotation = np.arctan2(ly - ry, lx - rx)
        return Roi(x + w / 2, y + h / 2, max(w, h) * MESH_ROI_SCALE, float(rotation))

    def mesh(self, image: np.ndarray, face: FaceBox | Roi) -> Mesh:
        """468 landmarks of the face in `face` (a detection, or a crop Roi e.g. from the previous
        frame's landmarks). The crop is 192 x 192, edge-replicated, values in [0, 1]."""
        _check_image(image)
        roi = face if isinstance(face, Roi) else self.mesh_roi(face)
        crop = sample_crop(image, roi, MESH_SIZE, border_replicate=True)
        x = (crop.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]
        raw, flag = self._mesh.run(None, {self._mesh.get_inputs()[0].name: x})
        pts = raw.reshape(468, 3).astype(np.float64)
        xy = roi.to_image(pts[:, :2], MESH_SIZE)
        z = pts[:, 2] / MESH_SIZE * roi.side
        presence = float(1.0 / (1.0 + np.exp(-flag.reshape(()))))
        return Mesh(np.column_stack([xy, z]).astype(np.float32), presence, roi)

    def face_mesh(self, image: np.ndarray, face: FaceBox | Roi) -> np.ndarray:
        """(468, 3) float32 landmarks in image pixels (x, y, z); see `mesh` and the module doc."""
        return self.mesh(image, face).landmarks

    def iris(self, image: np.ndarray, landmarks: np.ndarray) -> Irises:
        """Iris and refined eye contour of both eyes, from a 468-point mesh of the same image.
        Each eye crop: 2.3 x the corner-to-corner extent, level with the corners, 64 x 64, [0, 1].
        The model knows the eye on the image's left only (MediaPipe's "left", the person's right),
        so the other eye's crop is mirrored and its output mirrored back. Not checked against
        mediapipe's own iris graph (its Python wheel exposes none): the ONNX model matches the
        tflite to 5e-5, and the refined eye contour lands on the mesh's eye landmarks (tests)."""
        _check_image(image)
        irises, contours = [], []
        for (a, b), mirror in zip(EYE_CORNERS, (False, True)):
            p0, p1 = landmarks[a, :2].astype(np.float64), landmarks[b, :2].astype(np.float64)
            lo, hi = np.minimum(p0, p1), np.maximum(p0, p1)
            centre = (lo + hi) / 2
            side = float((hi - lo).max()) * IRIS_ROI_SCALE
            roi = Roi(centre[0], centre[1], side, float(np.arctan2(p1[1] - p0[1], p1[0] - p0[0])))
            crop = sample_crop(image, roi, IRIS_SIZE, border_replicate=True, flip=mirror)
            x = (crop.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]
            contour, iris = self._iris.run(None, {self._iris.get_inputs()[0].name: x})
            for raw, dest in ((iris, irises), (contour, contours)):
                pts = raw.reshape(-1, 3).astype(np.float64)
                if mirror:
                    pts[:, 0] = IRIS_SIZE - pts[:, 0]
                xy = roi.to_image(pts[:, :2], IRIS_SIZE)
                dest.append(np.column_stack([xy, pts[:, 2] / IRIS_SIZE * side]))
        return Irises(np.stack(irises).astype(np.float32), np.stack(contours).astype(np.float32))


def roi_from_landmarks(landmarks: np.ndarray) -> Roi:
    """The mesh crop MediaPipe tracks with in video mode (matches its second frame to < 0.01 px):
    the landmarks' bounding box centre, 1.5 x its long side, levelled on the outer eye corners.
    Feed it the previous frame's (468, 3) landmarks, or re-run a mesh on its own result: for a
    face turned far from upright the detector's eye keypoints are rough, and one such pass
    recovers the crop."""
    lo, hi = landmarks[:, :2].min(axis=0), landmarks[:, :2].max(axis=0)
    (rx, ry), (lx, ly) = landmarks[33, :2], landmarks[263, :2]
    centre = (lo + hi) / 2
    return Roi(float(centre[0]), float(centre[1]), float((hi - lo).max()) * MESH_ROI_SCALE,
               float(np.arctan2(ly - ry, lx - rx)))


_default: FaceAnalyzer | None = None


def default_analyzer() -> FaceAnalyzer:
    global _default
    if _default is None:
        _default = FaceAnalyzer()
    return _default


def detect_faces(image_rgb: np.ndarray) -> list[FaceBox]:
    """Faces in an RGB uint8 (H, W, 3) image, best first; [] if none. See FaceAnalyzer.detect_faces."""
    return default_analyzer().detect_faces(image_rgb)


def face_mesh(image_rgb: np.ndarray, box: FaceBox | Roi) -> np.ndarray:
    """(468, 3) float32 landmarks in image pixels for the face in `box`. See FaceAnalyzer.mesh."""
    return default_analyzer().face_mesh(image_rgb, box)


def iris(image_rgb: np.ndarray, landmarks: np.ndarray) -> Irises:
    """Iris (2, 5, 3) and eye contour (2, 71, 3) pixels from a (468, 3) mesh. See FaceAnalyzer.iris."""
    return default_analyzer().iris(image_rgb, landmarks)


def portrait_landmarks(image_rgb: np.ndarray, name: str = "portrait") -> np.ndarray:
    """(468, 3) landmarks of the best face, or NoFaceFound naming the image and the fix."""
    faces = detect_faces(image_rgb)
    if not faces:
        h, w = image_rgb.shape[:2]
        raise NoFaceFound(f"no face in {name} ({w}x{h}); use a photo with a visible frontal face "
                          "filling a good part of the frame")
    return face_mesh(image_rgb, faces[0])
