"""Avatar preparation: one portrait in, a cached `.fca` avatar out (done once per photo).

    avatar = prepare_avatar(load_portrait("me.jpg"), name="me.jpg")   # detection, crop, landmarks, masks
    avatar.save("me.fca"); Avatar.load("me.fca")                      # an uncompressed npz: loads in ms

Conventions as in landmarks.py: RGB uint8 (H, W, 3); pixel coordinates with x right, y down, the
corner convention (pixel i spans [i, i + 1]); z in the same pixel scale, smaller = nearer the camera.

The crop is head-and-shoulders: a square `crop_scale` times the face's landmark extent, centred a
little below the face so the neck and shoulders show; outside the photo the edge pixels repeat.
Landmarks are measured again on the crop (more pixels per face than in the original frame).
The head mask is a soft layer (0..255) cut from the picture itself (background.py: colour models
seeded by the face oval and the crop's top corners, a graph cut, a guided-filter edge): the face,
hair and neck that move with the head. The plate is the portrait with that layer filled in with
background: the renderer lays the moving head over it.

Format 2 added the plate and the cut head mask; a format-1 file is brought up to date on load
(about half a second; prepare it again to skip that).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageOps

from facecast.runtime.engine.avatar import landmarks as lm
from facecast.runtime.engine.avatar.background import background_plate, head_mask_and_plate
from facecast.runtime.engine.avatar.mesh import FACE_OVAL, LEFT_EYE, OUTER_LIP, RIGHT_EYE, head_ring

FCA_VERSION = 2
DEFAULT_SIZE = 512
DEFAULT_CROP_SCALE = 2.3    # crop side / face landmark extent: head, hair and shoulders
CROP_DROP = 0.22            # crop centre this fraction of the face extent below the face centre
MIN_PRESENCE = 0.5


@dataclass
class Avatar:
    """A prepared portrait. image (S, S, 3) uint8; landmarks (468, 3) float32 and iris (2, 5, 3) float32
    in image pixels; masks: name -> (S, S) uint8 0/255 for "face", "mouth", "eyes", and "head" soft
    0..255 (the layer that moves with the head); meta: where it came from (source name and size, crop
    box in source pixels, face index); plate (S, S, 3) uint8: the portrait with the head filled in
    with background, equal to image wherever masks["head"] is 0 and a few pixels away from it
    (made from image and the head mask when not given)."""

    image: np.ndarray
    landmarks: np.ndarray
    iris: np.ndarray
    masks: dict[str, np.ndarray]
    meta: dict = field(default_factory=dict)
    plate: np.ndarray | None = None

    def __post_init__(self):
        if self.plate is None:
            self.plate = background_plate(self.image, self.masks["head"].astype(np.float32) / 255, self.landmarks)

    @property
    def size(self) -> int:
        return self.image.shape[0]

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {"image": self.image, "landmarks": self.landmarks, "iris": self.iris, "plate": self.plate,
                  "meta": np.frombuffer(json.dumps({"fca_version": FCA_VERSION, **self.meta}).encode(), np.uint8)}
        arrays.update({f"mask_{k}": v for k, v in self.masks.items()})
        with path.open("wb") as f:  # a file object: np.savez would otherwise append ".npz"
            np.savez(f, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Avatar":
        try:
            with np.load(Path(path), allow_pickle=False) as z:
                meta = json.loads(z["meta"].tobytes().decode())
                masks = {k[5:]: z[k] for k in z.files if k.startswith("mask_")}
                image, landmarks, iris = z["image"], z["landmarks"], z["iris"]
                plate = z["plate"] if "plate" in z.files else None
        except (OSError, ValueError, KeyError) as exc:
            raise ValueError(f"{path} is not a facecast avatar ({exc}); make one with "
                             f"`facecast prepare IMAGE -o {Path(path).name}`") from None
        if meta.get("fca_version", 0) > FCA_VERSION:
            raise ValueError(f"{path} was made by a newer facecast (format {meta['fca_version']}); "
                             "prepare it again with this version")
        if plate is None:
            # format 1: its head mask was a ring estimate; cut the head from the picture as prepare does now
            masks["head"], plate = head_mask_and_plate(image, landmarks)
        return cls(image, landmarks, iris, masks, meta, plate)


def load_portrait(path: str | Path) -> np.ndarray:
    """JPEG/PNG/WebP/... of any size -> RGB uint8, with the EXIF orientation applied."""
    try:
        with Image.open(path) as im:
            im = ImageOps.exif_transpose(im)
            return np.asarray(im.convert("RGB"))
    except (OSError, Image.DecompressionBombError) as exc:
        raise ValueError(f"cannot read image {path}: {exc}") from None


def parse_face_box(text: str) -> tuple[float, float, float, float]:
    """"x,y,w,h" (pixels of the original image, after EXIF rotation) -> a tuple; ValueError says the form."""
    try:
        x, y, w, h = (float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"--face-box expects x,y,w,h in pixels (e.g. 120,80,200,240), got {text!r}") from None
    if w <= 0 or h <= 0:
        raise ValueError(f"--face-box width and height must be positive, got {text!r}")
    return x, y, w, h


def find_face(image: np.ndarray, name: str = "portrait", face: int = 0,
              face_box: tuple[float, float, float, float] | None = None,
              analyzer: lm.FaceAnalyzer | None = None) -> np.ndarray:
    """(468, 3) landmarks of the chosen face in `image`: faces are ordered largest first and `face`
    picks one; `face_box` (x, y, w, h) skips detection. Raises NoFaceFound naming the fix."""
    an = analyzer or lm.default_analyzer()
    h, w = image.shape[:2]
    if face_box is not None:
        bx, by, bw, bh = face_box
        mesh = an.mesh(image, lm.Roi(bx + bw / 2, by + bh / 2, max(bw, bh) * lm.MESH_ROI_SCALE, 0.0))
        if mesh.presence < MIN_PRESENCE:
            raise lm.NoFaceFound(f"no face inside --face-box {bx:g},{by:g},{bw:g},{bh:g} of {name} ({w}x{h}) "
                                 f"(face score {mesh.presence:.2f}); draw the box around the eyes, nose and mouth")
        return an.mesh(image, lm.roi_from_landmarks(mesh.landmarks)).landmarks
    faces = sorted(an.detect_faces(image), key=lambda f: -f.box[2] * f.box[3])
    if not faces:
        raise lm.NoFaceFound(f"no face in {name} ({w}x{h}); use a photo with a visible frontal face filling a "
                             "good part of the frame, crop it closer, or place the face by hand with "
                             "--face-box x,y,w,h")
    if not 0 <= face < len(faces):
        raise lm.NoFaceFound(f"{name} has {len(faces)} face(s); --face takes 0..{len(faces) - 1} "
                             "(0 = the largest)")
    first = an.mesh(image, faces[face]).landmarks
    return an.mesh(image, lm.roi_from_landmarks(first)).landmarks  # a levelled second pass


def crop_box(landmarks: np.ndarray, crop_scale: float = DEFAULT_CROP_SCALE) -> tuple[float, float, float]:
    """(cx, cy, side) in source pixels of the head-and-shoulders square around a face's landmarks."""
    lo, hi = landmarks[:, :2].min(0), landmarks[:, :2].max(0)
    extent = float((hi - lo).max())
    cx, cy = (lo + hi) / 2
    return float(cx), float(cy + CROP_DROP * extent), extent * crop_scale


def _resample_crop(image: np.ndarray, cx: float, cy: float, side: float, size: int) -> np.ndarray:
    """Bilinear size x size crop (edge pixels repeated outside); big photos are first shrunk with a
    Lanczos filter so the crop is not aliased."""
    factor = size / side
    if factor < 0.5:
        shrink = min(1.0, 2 * factor)
        h, w = image.shape[:2]
        image = np.asarray(Image.fromarray(image).resize((max(1, round(w * shrink)), max(1, round(h * shrink))),
                                                          Image.LANCZOS))
        cx, cy, side = cx * image.shape[1] / w, cy * image.shape[0] / h, side * image.shape[1] / w
    return lm.sample_crop(image, lm.Roi(cx, cy, side, 0.0), size, border_replicate=True)


def _polygon_mask(size: int, *polygons: np.ndarray) -> np.ndarray:
    im = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(im)
    for poly in polygons:
        draw.polygon([tuple(p) for p in np.asarray(poly, np.float64)[:, :2]], fill=255)
    return np.asarray(im).copy()


def make_masks(landmarks: np.ndarray, size: int, image: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """face (the face oval), mouth (outer lip contour), eyes (both eye contours), head: with the
    image, the soft head layer cut from it (background.head_layer); without, a 0/255 ring estimate
    (mesh.head_ring: face + a hair/neck margin)."""
    pts = landmarks[:, :2]
    if image is not None:
        head = head_mask_and_plate(image, landmarks)[0]
    else:
        head = _polygon_mask(size, head_ring(landmarks)[:, :2])
    return {"face": _polygon_mask(size, pts[FACE_OVAL]),
            "mouth": _polygon_mask(size, pts[OUTER_LIP]),
            "eyes": _polygon_mask(size, pts[RIGHT_EYE], pts[LEFT_EYE]),
            "head": head}


def prepare_avatar(image: np.ndarray, name: str = "portrait", size: int = DEFAULT_SIZE,
                   crop_scale: float = DEFAULT_CROP_SCALE, face: int = 0,
                   face_box: tuple[float, float, float, float] | None = None,
                   analyzer: lm.FaceAnalyzer | None = None) -> Avatar:
    """Detect (or take `face_box`), crop head-and-shoulders to size x size, measure the face again
    on the crop (mesh + iris), draw the masks, cut the head out and fill the plate behind it."""
    an = analyzer or lm.default_analyzer()
    src_landmarks = find_face(image, name, face, face_box, an)
    cx, cy, side = crop_box(src_landmarks, crop_scale)
    crop = _resample_crop(image, cx, cy, side, size)
    # The source landmarks mapped into the crop seed a tracking-style mesh pass there.
    seed = src_landmarks.copy()
    seed[:, :2] = (seed[:, :2] - [cx - side / 2, cy - side / 2]) * (size / side)
    landmarks = an.mesh(crop, lm.roi_from_landmarks(seed)).landmarks
    landmarks = an.mesh(crop, lm.roi_from_landmarks(landmarks)).landmarks
    irises = an.iris(crop, landmarks).iris
    meta = {"source": str(name), "source_size": [int(image.shape[1]), int(image.shape[0])],
            "crop_box": [cx - side / 2, cy - side / 2, side], "face": face, "size": size,
            "crop_scale": crop_scale, "face_box": list(face_box) if face_box else None}
    landmarks = landmarks.astype(np.float32)    # as stored: a format-1 file re-cut on load gets the same head
    masks = make_masks(landmarks, size)
    masks["head"], plate = head_mask_and_plate(crop, landmarks)
    return Avatar(crop, landmarks, irises.astype(np.float32), masks, meta, plate)
