"""Reading `.fca` avatar files without trusting them.

An .fca is an uncompressed npz (a zip of .npy arrays) that may come from anyone: a client's payload, a
download, a hand edit. Every array's header (dtype, shape) is checked against what an avatar holds before
its data is read, so a small file that declares a 20000 x 20000 image is refused in microseconds instead
of allocating gigabytes; values are checked after (finite landmarks near the picture). Any failure is one
NotAnAvatar error: not a usable facecast avatar, and why.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

MIN_SIZE_PX = 64            # avatar side: below this a face has no features to move
MAX_SIZE_PX = 2048          # above this a frame takes seconds and gigabytes to render
MAX_FILE_BYTES = 256 * 1024 * 1024   # a 2048-pixel avatar with its plate and masks is ~55 MB
MAX_META_BYTES = 64 * 1024
MAX_MEMBERS = 32
N_LANDMARKS = 468
REQUIRED_MASKS = ("face", "mouth", "eyes", "head")
# landmarks may sit a little outside the crop (a chin cut by the frame), never far
LANDMARK_MARGIN = 1.0       # in avatar sides
MIN_FACE_EXTENT_PX = 8.0


class NotAnAvatar(ValueError):
    """The file is not a usable facecast avatar; the message says why and how to make one."""


def _fail(name: str, why: str) -> NotAnAvatar:
    return NotAnAvatar(f"{name} is not a usable facecast avatar: {why}; make one with "
                       f"`facecast prepare IMAGE -o {Path(name).name or 'avatar.fca'}`")


def _read_member(z: zipfile.ZipFile, member: str, name: str, dtypes: tuple, shape_ok) -> np.ndarray:
    """One .npy member, its header checked before its data is read."""
    try:
        info = z.getinfo(member)
    except KeyError:
        raise _fail(name, f"it lacks {member[:-4]!r}") from None
    with z.open(info) as f:
        try:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f"npy format {version}")
        except ValueError as exc:
            raise _fail(name, f"{member[:-4]!r} has a bad array header ({exc})") from None
        if dtype.hasobject or dtype.str not in dtypes:
            raise _fail(name, f"{member[:-4]!r} has dtype {dtype.str}, expected one of {list(dtypes)}")
        if not shape_ok(shape):
            raise _fail(name, f"{member[:-4]!r} has shape {shape}")
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        data = f.read(nbytes)
        if len(data) != nbytes:
            raise _fail(name, f"{member[:-4]!r} is truncated ({len(data)} of {nbytes} bytes)")
    arr = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")
    return np.ascontiguousarray(arr.astype(dtype.newbyteorder("="), copy=False))


def read_fca(source: str | Path | bytes, name: str | None = None) -> dict:
    """An .fca file (path or its bytes) -> {"image", "landmarks", "iris", "masks", "meta", "plate" (or None)},
    every array of the shape, dtype and range prepare.Avatar documents. Raises NotAnAvatar."""
    name = name or (str(source) if not isinstance(source, bytes) else "the avatar payload")
    if isinstance(source, bytes):
        size, fileobj = len(source), io.BytesIO(source)
    else:
        try:
            size, fileobj = Path(source).stat().st_size, source
        except OSError as exc:
            raise _fail(name, exc.strerror or str(exc)) from None
    if size > MAX_FILE_BYTES:
        raise _fail(name, f"{size} bytes, over the {MAX_FILE_BYTES} byte limit")
    try:
        with zipfile.ZipFile(fileobj) as z:
            return _read_zip(z, name)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
        raise _fail(name, f"not a readable avatar archive ({type(exc).__name__}: {exc})") from None


def _read_zip(z: zipfile.ZipFile, name: str) -> dict:
    members = z.namelist()
    if len(members) > MAX_MEMBERS:
        raise _fail(name, f"{len(members)} entries, an avatar has at most {MAX_MEMBERS}")
    image = _read_member(z, "image.npy", name, ("|u1",),
                         lambda s: len(s) == 3 and s[0] == s[1] and s[2] == 3 and MIN_SIZE_PX <= s[0] <= MAX_SIZE_PX)
    side = image.shape[0]
    raw_meta = _read_member(z, "meta.npy", name, ("|u1",), lambda s: len(s) == 1 and s[0] <= MAX_META_BYTES)
    try:
        meta = json.loads(raw_meta.tobytes().decode())
    except (UnicodeDecodeError, ValueError) as exc:
        raise _fail(name, f"its meta is not JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise _fail(name, "its meta is not a JSON object")
    floats = ("<f4", "<f8", ">f4", ">f8")
    landmarks = _read_member(z, "landmarks.npy", name, floats, lambda s: s == (N_LANDMARKS, 3)).astype(np.float32)
    iris = _read_member(z, "iris.npy", name, floats, lambda s: s == (2, 5, 3)).astype(np.float32)
    for what, pts in (("landmarks", landmarks), ("iris", iris)):
        lo, hi = -LANDMARK_MARGIN * side, (1 + LANDMARK_MARGIN) * side
        if not np.isfinite(pts).all() or pts.min() < lo or pts.max() > hi:
            raise _fail(name, f"its {what} are not finite or lie outside [{lo:g}, {hi:g}] pixels of a "
                              f"{side}-pixel avatar")
    extent = landmarks[:, :2].max(0) - landmarks[:, :2].min(0)
    if extent.min() < MIN_FACE_EXTENT_PX:
        raise _fail(name, f"its face is {extent[0]:.1f} x {extent[1]:.1f} pixels")
    square = lambda s: s == (side, side)  # noqa: E731
    masks = {}
    for member in members:
        if member.startswith("mask_") and member.endswith(".npy"):
            masks[member[5:-4]] = _read_member(z, member, name, ("|u1",), square)
    missing = [m for m in REQUIRED_MASKS if m not in masks and not (m == "head" and "plate.npy" not in members)]
    if missing:
        raise _fail(name, f"it lacks the mask(s) {missing}")
    plate = None
    if "plate.npy" in members:
        plate = _read_member(z, "plate.npy", name, ("|u1",), lambda s: s == (side, side, 3))
    return {"image": image, "landmarks": landmarks, "iris": iris, "masks": masks, "meta": meta, "plate": plate}
