"""Avatar preparation: one portrait in, a cached `.fca` avatar out (done once per photo).

    avatar = prepare_avatar(load_portrait("me.jpg"), name="me.jpg")   # detection, crop, landmarks, masks
    avatar.save("me.fca"); Avatar.load("me.fca")                      # an uncompressed npz: loads in ms

Conventions as in landmarks.py: RGB uint8 (H, W, 3); pixel coordinates with x right, y down, the
corner convention (pixel i spans [i, i + 1]); z in the same pixel scale, smaller = nearer the camera.

The crop is head-and-shoulders: a square `crop_scale` times the face's landmark extent, centred a
little below the face so the neck and shoulders show. A close-up (the face fills the photo) has no
room for that square: the crop is first shifted into the photo (the face kept inside it), then
tightened down to MIN_CROP_SCALE, and whatever still lies outside the photo is filled by the plate's
own push-pull fill with matched grain (background.extend_outside), never by repeating edge pixels.
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
from facecast.runtime.engine.avatar.background import (background_plate, extend_outside, head_mask_and_plate,
                                                       person_head_and_plate)
from facecast.runtime.engine.avatar.mesh import FACE_OVAL, LEFT_EYE, OUTER_LIP, RIGHT_EYE, head_ring

FCA_VERSION = 2
DEFAULT_SIZE = 512
DEFAULT_CROP_SCALE = 2.3    # crop side / face landmark extent: head, hair and shoulders
MIN_CROP_SCALE = 1.6        # a close-up's crop tightens at most to this: the head, and room under the chin for
                            # the open jaw (at 1.45 the chin neared the frame's edge and jawOpen read less open)
FACE_MARGIN = 0.08          # a shifted crop keeps this much of the face extent between face and crop edge
MIN_CROP_SCALE_ARG, MAX_CROP_SCALE_ARG = 1.0, 8.0   # --crop-scale: the face at least, at most a wide shot
CROP_DROP = 0.22            # crop centre this fraction of the face extent below the face centre
MIN_PRESENCE = 0.5


@dataclass
class Avatar:
    """A prepared portrait. image (S, S, 3) uint8; landmarks (468, 3) float32 and iris (2, 5, 3) float32
    in image pixels; masks: name -> (S, S) uint8 0/255 for "face", "mouth", "eyes", and "head" soft
    0..255 (the layer that moves with the head) and "person" soft 0..255 (all of the person, body too: the
    alpha of a transparent background; files prepared before it lack it); meta: where it came from (source name and size, crop
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
    def load(cls, path: str | Path | bytes, name: str | None = None) -> "Avatar":
        """An .fca file (its path or its bytes), validated before anything is allocated (fca.read_fca).
        Raises fca.NotAnAvatar (a ValueError) naming what is wrong."""
        from facecast.runtime.engine.avatar.fca import NotAnAvatar, read_fca

        parts = read_fca(path, name)
        name = name or (str(path) if not isinstance(path, bytes) else "the avatar payload")
        meta, image, landmarks, masks, plate = (parts[k] for k in ("meta", "image", "landmarks", "masks", "plate"))
        version = meta.get("fca_version", 0)
        if not isinstance(version, int) or version > FCA_VERSION:
            raise NotAnAvatar(f"{name} was made by a newer facecast (format {version!r}); "
                              "prepare it again with this version (`facecast prepare IMAGE -o avatar.fca`)")
        try:
            if plate is None:
                # format 1: its head mask was a ring estimate; cut the head from the picture as prepare does now
                masks["head"], plate = head_mask_and_plate(image, landmarks)
            return cls(image, landmarks, parts["iris"], masks, meta, plate)
        except Exception as exc:  # hand-edited values the checks let through (a degenerate face): still one error
            raise NotAnAvatar(f"{name} is not a usable facecast avatar: {type(exc).__name__}: {exc}; make one "
                              f"with `facecast prepare IMAGE -o avatar.fca`") from None


MAX_PORTRAIT_PIXELS = 50_000_000  # a 16 MiB PNG may declare far more; decoding it would take gigabytes


def load_portrait(path) -> np.ndarray:
    """JPEG/PNG/WebP/... (a path or a binary file object) of up to MAX_PORTRAIT_PIXELS -> RGB uint8,
    with the EXIF orientation applied; 16-bit and float greyscale are scaled, not clipped to white."""
    name = getattr(path, "name", path)
    try:
        with Image.open(path) as im:
            w, h = im.size  # from the header: checked before any pixel is decoded
            if w * h > MAX_PORTRAIT_PIXELS:
                raise ValueError(f"{w}x{h} pixels, over the {MAX_PORTRAIT_PIXELS // 1_000_000} megapixel "
                                 f"limit; scale the photo down")
            im = ImageOps.exif_transpose(im)
            if im.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
                grey = np.asarray(im, np.float64)
                # PIL's convert("RGB") clips these at 255: a 16-bit photo would come out white
                peak = 65535.0 if im.mode.startswith("I;16") or grey.max() > 255 else 255.0
                grey = np.clip(np.nan_to_num(grey) * (255.0 / peak), 0, 255).round().astype(np.uint8)
                return np.repeat(grey[:, :, None], 3, axis=2)
            return np.asarray(im.convert("RGB"))
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ValueError(f"cannot read image {name}: {exc}") from None


def parse_face_box(text: str) -> tuple[float, float, float, float]:
    """"x,y,w,h" (pixels of the original image, after EXIF rotation) -> a tuple; ValueError says the form."""
    try:
        x, y, w, h = (float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"--face-box expects x,y,w,h in pixels (e.g. 120,80,200,240), got {text!r}") from None
    if w <= 0 or h <= 0:
        raise ValueError(f"--face-box width and height must be positive, got {text!r}")
    return x, y, w, h


SAME_SIZE = 0.8   # faces whose side is within this ratio of a larger one's count as the same size for --face


def order_faces(faces: list[lm.FaceBox]) -> list[lm.FaceBox]:
    """--face order: largest first; faces of about the same size (side within SAME_SIZE of the largest
    of their group) left to right, so a row of similar faces is numbered as it reads, not by pixels."""
    by_size = sorted(faces, key=lambda f: -max(f.box[2], f.box[3]))
    ordered: list[lm.FaceBox] = []
    while by_size:
        top = max(by_size[0].box[2], by_size[0].box[3])
        group = [f for f in by_size if max(f.box[2], f.box[3]) >= SAME_SIZE * top]
        ordered += sorted(group, key=lambda f: f.center[0])
        by_size = by_size[len(group):]
    return ordered


def find_face(image: np.ndarray, name: str = "portrait", face: int = 0,
              face_box: tuple[float, float, float, float] | None = None,
              analyzer: lm.FaceAnalyzer | None = None) -> np.ndarray:
    """(468, 3) landmarks of the chosen face in `image`: faces are ordered as order_faces does and
    `face` picks one; `face_box` (x, y, w, h) skips detection. Raises NoFaceFound naming the fix."""
    an = analyzer or lm.default_analyzer()
    h, w = image.shape[:2]
    if face_box is not None:
        bx, by, bw, bh = face_box
        mesh = an.mesh(image, lm.Roi(bx + bw / 2, by + bh / 2, max(bw, bh) * lm.MESH_ROI_SCALE, 0.0))
        if mesh.presence < MIN_PRESENCE:
            raise lm.NoFaceFound(f"no face inside --face-box {bx:g},{by:g},{bw:g},{bh:g} of {name} ({w}x{h}) "
                                 f"(face score {mesh.presence:.2f}); draw the box around the eyes, nose and mouth")
        return an.mesh(image, lm.roi_from_landmarks(mesh.landmarks)).landmarks
    faces = order_faces(an.detect_faces(image))
    if not faces:
        raise lm.NoFaceFound(f"no face in {name} ({w}x{h}); use a photo with a visible frontal face filling a "
                             "good part of the frame, crop it closer, or place the face by hand with "
                             "--face-box x,y,w,h")
    if not 0 <= face < len(faces):
        where = ", ".join(f"{i} at x={f.center[0]:.0f}" for i, f in enumerate(faces))
        raise lm.NoFaceFound(f"{name} has {len(faces)} face(s) ({where}); --face takes 0..{len(faces) - 1} "
                             "(0 = the largest; faces of about the same size count from the left)")
    first = an.mesh(image, faces[face]).landmarks
    return an.mesh(image, lm.roi_from_landmarks(first)).landmarks  # a levelled second pass


def crop_box(landmarks: np.ndarray, crop_scale: float = DEFAULT_CROP_SCALE) -> tuple[float, float, float]:
    """(cx, cy, side) in source pixels of the head-and-shoulders square around a face's landmarks."""
    lo, hi = landmarks[:, :2].min(0), landmarks[:, :2].max(0)
    extent = float((hi - lo).max())
    cx, cy = (lo + hi) / 2
    return float(cx), float(cy + CROP_DROP * extent), extent * crop_scale


def _outside_px(lo: float, hi: float, extent: float) -> float:
    """How far [lo, hi] reaches past [0, extent], both ends together (pixels)."""
    return max(0.0, -lo) + max(0.0, hi - extent)


def fit_crop(landmarks: np.ndarray, image_wh: tuple[int, int], crop_scale: float = DEFAULT_CROP_SCALE,
             min_scale: float = MIN_CROP_SCALE) -> tuple[float, float, float]:
    """crop_box, fitted to an image of (width, height) pixels: (cx, cy, side) in source pixels.
    Where the head-and-shoulders square reaches past the photo (a close-up), its centre shifts back
    into the photo as far as keeps the face inside (FACE_MARGIN), and its side shrinks step by step
    towards min_scale x the face extent until nothing is outside; else the smallest square with the
    least outside is kept, and prepare fills the rest."""
    cx0, cy0, side0 = crop_box(landmarks, crop_scale)
    lo, hi = landmarks[:, :2].min(0), landmarks[:, :2].max(0)
    extent = float((hi - lo).max())
    margin = FACE_MARGIN * extent
    best = None
    min_side = min(side0, min_scale * extent)
    for side in np.linspace(side0, min_side, 9):
        centre = []
        # a tighter square has less room under the chin: its centre rises to the face's at the tightest
        tightened = (side0 - side) / (side0 - min_side) if side0 > min_side else 0.0
        cy_want = cy0 - CROP_DROP * extent * tightened
        for want, f_lo, f_hi, size in ((cx0, lo[0], hi[0], image_wh[0]), (cy_want, lo[1], hi[1], image_wh[1])):
            # the crop's centre range that keeps the face inside, and the one that keeps the crop in the photo
            face_lo, face_hi = f_hi + margin - side / 2, f_lo - margin + side / 2
            c = float(np.clip(want, side / 2, size - side / 2)) if side <= size else size / 2
            centre.append(float(np.clip(c, face_lo, face_hi)) if face_lo <= face_hi else (f_lo + f_hi) / 2)
        out = (_outside_px(centre[0] - side / 2, centre[0] + side / 2, image_wh[0])
               + _outside_px(centre[1] - side / 2, centre[1] + side / 2, image_wh[1])) / side
        if best is None or out < best[0] - 1e-6:
            best = (out, centre[0], centre[1], float(side))
        if out <= 1e-6:
            break
    return best[1], best[2], best[3]


def crop_inside(image_wh: tuple[int, int], cx: float, cy: float, side: float, size: int) -> np.ndarray:
    """(size, size) bool: crop pixels whose centre samples inside the photo (half a pixel in from its
    edge, where bilinear sampling needs no padding)."""
    t = (np.arange(size) + 0.5) * (side / size)
    xs, ys = cx - side / 2 + t, cy - side / 2 + t
    in_x = (xs >= 0.5) & (xs <= image_wh[0] - 0.5)
    in_y = (ys >= 0.5) & (ys <= image_wh[1] - 0.5)
    return in_y[:, None] & in_x[None, :]


def _resample_crop(image: np.ndarray, cx: float, cy: float, side: float, size: int) -> np.ndarray:
    """Bilinear size x size crop; big photos are first shrunk with a Lanczos filter so the crop is not
    aliased. Outside the photo the edge pixels repeat here: prepare_avatar fills that part afterwards
    (crop_inside says where)."""
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
    from facecast.runtime.engine.avatar.fca import MAX_SIZE_PX, MIN_SIZE_PX

    if not (isinstance(size, int) and MIN_SIZE_PX <= size <= MAX_SIZE_PX):
        raise ValueError(f"size {size!r} outside {MIN_SIZE_PX}..{MAX_SIZE_PX} pixels; 512 is the default")
    if not MIN_CROP_SCALE_ARG <= crop_scale <= MAX_CROP_SCALE_ARG:  # NaN fails too
        raise ValueError(f"crop scale {crop_scale!r} outside {MIN_CROP_SCALE_ARG:g}..{MAX_CROP_SCALE_ARG:g}; "
                         f"{DEFAULT_CROP_SCALE} (the default) shows head and shoulders")
    an = analyzer or lm.default_analyzer()
    src_landmarks = find_face(image, name, face, face_box, an)
    image_wh = (int(image.shape[1]), int(image.shape[0]))
    cx, cy, side = fit_crop(src_landmarks, image_wh, crop_scale)
    crop = _resample_crop(image, cx, cy, side, size)
    inside = crop_inside(image_wh, cx, cy, side, size)
    if not inside.all():
        # a close-up: what the photo does not show is filled from around it, not smeared edge rows
        crop = extend_outside(crop, inside)
    # The source landmarks mapped into the crop seed a tracking-style mesh pass there.
    seed = src_landmarks.copy()
    seed[:, :2] = (seed[:, :2] - [cx - side / 2, cy - side / 2]) * (size / side)
    landmarks = an.mesh(crop, lm.roi_from_landmarks(seed)).landmarks
    landmarks = an.mesh(crop, lm.roi_from_landmarks(landmarks)).landmarks
    irises = an.iris(crop, landmarks).iris
    meta = {"source": str(name), "source_size": [int(image.shape[1]), int(image.shape[0])],
            "crop_box": [cx - side / 2, cy - side / 2, side], "face": face, "size": size,
            "crop_scale": crop_scale, "face_box": list(face_box) if face_box else None,
            "outside_fraction": round(float(1.0 - inside.mean()), 4)}
    landmarks = landmarks.astype(np.float32)    # as stored: a format-1 file re-cut on load gets the same head
    masks = make_masks(landmarks, size)
    masks["person"], masks["head"], plate = person_head_and_plate(crop, landmarks)
    return Avatar(crop, landmarks, irises.astype(np.float32), masks, meta, plate)
