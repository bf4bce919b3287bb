"""Portrait uploads: checked before any pixel is decoded, and, for a face the detector misses, cut around the
box the user drew so the face fills the picture the runtime prepares."""

from __future__ import annotations

import io
import struct

from facecast.bridge.protocol import MAX_CONTROL_PAYLOAD_BYTES

MAX_UPLOAD_BYTES = MAX_CONTROL_PAYLOAD_BYTES   # what set_avatar's payload may carry
MAX_IMAGE_PIXELS = 40_000_000                  # a 40 MP photo; larger is refused before decoding
UPLOAD_FORMATS = ("JPEG", "PNG", "WEBP")
# The cut-out around a hand-drawn face box, as a multiple of the box's longer side: the detector finds a
# face that fills about a third of its picture, and the renderer keeps hair and shoulders.
FACE_BOX_CONTEXT = 2.5


def validate_image(data: bytes) -> tuple[str, int, int]:
    """Image bytes -> (format, width, height); ValueError naming what is wrong. Decodes headers only and
    verifies the file's structure; pixels are left to the runtime's preparation."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise ValueError("the upload is empty; choose a JPEG, PNG or WebP portrait")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValueError(f"the image is {len(data) / 2**20:.1f} MiB; the limit is {MAX_UPLOAD_BYTES / 2**20:.0f} MiB")
    try:
        with Image.open(io.BytesIO(data), formats=UPLOAD_FORMATS) as im:
            fmt, (w, h) = im.format, im.size
            if w * h > MAX_IMAGE_PIXELS:
                raise ValueError(f"the image is {w}x{h} ({w * h / 1e6:.0f} MP); the limit is "
                                 f"{MAX_IMAGE_PIXELS / 1e6:.0f} MP: scale it down")
            if min(w, h) < 64:
                raise ValueError(f"the image is {w}x{h}; a portrait needs at least 64 pixels each way")
            im.verify()
    except (UnidentifiedImageError, Image.DecompressionBombError):
        raise ValueError("not a JPEG, PNG or WebP image") from None
    except (OSError, SyntaxError, struct.error) as exc:  # PIL's verify() reports broken files so
        raise ValueError(f"the {fmt} image is damaged: {exc}") from None
    return fmt, w, h


def parse_face_box(text: str, width: int, height: int) -> tuple[float, float, float, float]:
    """"x,y,w,h" in pixels of the upright image -> floats; ValueError unless it lies on the image."""
    try:
        x, y, w, h = (float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"face box must be x,y,w,h in pixels, got {text[:40]!r}") from None
    if not (w >= 8 and h >= 8 and x >= -w and y >= -h and x < width and y < height):
        raise ValueError(f"face box {text[:40]} is not on the {width}x{height} image")
    return x, y, w, h


def crop_to_face_box(data: bytes, box_text: str) -> bytes:
    """A validated image and the face box drawn on it (upright pixels, EXIF orientation applied, as the
    browser shows it) -> PNG bytes of the square around the box, FACE_BOX_CONTEXT times its size, kept on the
    image. ValueError when the box is not on the image."""
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(data), formats=UPLOAD_FORMATS) as im:
        upright = ImageOps.exif_transpose(im).convert("RGB")
    width, height = upright.size
    x, y, w, h = parse_face_box(box_text, width, height)
    side = min(max(w, h) * FACE_BOX_CONTEXT, width, height)
    left = min(max(x + w / 2 - side / 2, 0), width - side)
    top = min(max(y + h / 2 - side / 2, 0), height - side)
    buf = io.BytesIO()
    upright.crop((round(left), round(top), round(left + side), round(top + side))).save(buf, format="PNG")
    return buf.getvalue()
