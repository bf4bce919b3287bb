"""Files from outside are not trusted: .fca avatars (hand-made, corrupted, hostile), portraits, and the
files a control client names. Each bad input ends in one clear error, before anything large is allocated."""

from __future__ import annotations

import io
import json
import os
import zipfile

import numpy as np
import pytest
from PIL import Image

from facecast.runtime.engine.avatar.fca import MAX_SIZE_PX, NotAnAvatar, read_fca
from facecast.runtime.engine.avatar.prepare import Avatar, load_portrait, prepare_avatar
from facecast.runtime.engine.intake import FileRefused, read_client_file

SIDE = 96


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=True)
    return buf.getvalue()


def _arrays() -> dict[str, np.ndarray]:
    """The arrays of a small valid avatar (a synthetic face: landmarks on an ellipse inside the picture)."""
    rng = np.random.default_rng(0)
    angle = np.linspace(0, 2 * np.pi, 468, endpoint=False)
    landmarks = np.stack([48 + 20 * np.cos(angle), 44 + 26 * np.sin(angle), 5 * np.sin(3 * angle)], 1)
    iris = np.stack([np.full((5, 3), (40.0, 40.0, 0.0)), np.full((5, 3), (56.0, 40.0, 0.0))])
    mask = np.zeros((SIDE, SIDE), np.uint8)
    mask[20:70, 25:70] = 255
    meta = np.frombuffer(json.dumps({"fca_version": 2, "source": "synthetic"}).encode(), np.uint8)
    image = rng.integers(0, 256, (SIDE, SIDE, 3), dtype=np.uint8)
    return {"image": image, "landmarks": landmarks.astype(np.float32), "iris": iris.astype(np.float32),
            "plate": image.copy(), "meta": meta, "mask_face": mask, "mask_mouth": mask, "mask_eyes": mask,
            "mask_head": mask}


def _fca(members: dict[str, bytes | np.ndarray]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, value in members.items():
            z.writestr(name + ".npy", value if isinstance(value, bytes) else _npy(value))
    return buf.getvalue()


def _declared_only(shape: tuple, dtype="|u1") -> bytes:
    """An .npy header that declares `shape` followed by a few bytes of data: the file stays tiny."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buf.getvalue() + b"\0" * 64


def test_a_valid_file_round_trips(tmp_path):
    data = _fca(_arrays())
    avatar = Avatar.load(data, "synthetic.fca")
    assert avatar.size == SIDE and avatar.landmarks.dtype == np.float32
    path = avatar.save(tmp_path / "a.fca")
    again = Avatar.load(path)
    assert np.array_equal(again.image, avatar.image) and set(again.masks) == set(avatar.masks)


def _variants() -> dict[str, bytes]:
    good = _arrays()

    def edit(**changes):
        members = dict(good)
        for k, v in changes.items():
            if v is None:
                members.pop(k)
            else:
                members[k] = v
        return _fca(members)

    huge_landmarks = good["landmarks"] * 1e15
    nan_landmarks = good["landmarks"].copy()
    nan_landmarks[7, 1] = np.nan
    collapsed = np.zeros((468, 3), np.float32)
    return {
        "not a zip": b"facecast? no." * 100,
        "truncated zip": _fca(good)[:5000],
        "empty zip": _fca({}),
        "no image": edit(image=None),
        "no landmarks": edit(landmarks=None),
        "no face mask": edit(mask_face=None),
        "20000x20000 image declared": edit(image=_declared_only((20000, 20000, 3))),
        "image over the size limit": edit(image=_declared_only((MAX_SIZE_PX + 1, MAX_SIZE_PX + 1, 3))),
        "truncated image data": edit(image=_declared_only((SIDE, SIDE, 3))),
        "float64 image": edit(image=good["image"].astype(np.float64)),
        "grey image": edit(image=good["image"][:, :, 0]),
        "pickled object array": edit(meta=np.array([{"fca_version": 2}], dtype=object)),
        "meta not JSON": edit(meta=np.frombuffer(b"\xff\xfe{", np.uint8)),
        "meta a list": edit(meta=np.frombuffer(b"[1, 2]", np.uint8)),
        "newer format": edit(meta=np.frombuffer(b'{"fca_version": 99}', np.uint8)),
        "landmarks scaled by 1e15": edit(landmarks=huge_landmarks),
        "a NaN landmark": edit(landmarks=nan_landmarks),
        "68 landmarks": edit(landmarks=good["landmarks"][:68]),
        "all landmarks on one point": edit(landmarks=collapsed),
        "iris of the wrong shape": edit(iris=good["iris"][:1]),
        "mask of another size": edit(mask_face=np.zeros((SIDE // 2, SIDE // 2), np.uint8)),
        "plate of another size": edit(plate=np.zeros((SIDE // 2, SIDE // 2, 3), np.uint8)),
        "declared 2**40 meta bytes": edit(meta=_declared_only((2**40,))),
        "many members": _fca({**good, **{f"x{i}": np.zeros(1, np.uint8) for i in range(40)}}),
    }


@pytest.mark.parametrize("kind", list(_variants()))
def test_a_bad_avatar_file_is_one_clear_error(kind, tmp_path):
    data = _variants()[kind]
    path = tmp_path / "bad.fca"
    path.write_bytes(data)
    for source in (path, data):  # a file on disk and a payload alike
        with pytest.raises(NotAnAvatar) as err:
            Avatar.load(source)
        message = str(err.value)
        assert ("not a usable facecast avatar" in message or "newer facecast" in message), message
        assert "facecast prepare" in message, message
    assert len(data) < 2_000_000  # every hostile file here is small: the refusals come before allocation


def test_declared_giant_image_is_refused_from_its_header():
    """A 20000 x 20000 x 3 image would be 1.2 GB: the header alone is read."""
    data = _variants()["20000x20000 image declared"]
    with pytest.raises(NotAnAvatar, match="shape"):
        read_fca(data)


def test_16_bit_grey_png_keeps_its_tones(tmp_path):
    ramp = (np.linspace(0, 65535, 64 * 64).reshape(64, 64)).astype(np.uint16)
    path = tmp_path / "grey16.png"
    Image.fromarray(ramp).save(path)
    rgb = load_portrait(path)
    assert rgb.shape == (64, 64, 3) and rgb.dtype == np.uint8
    assert rgb[0, 0, 0] < 5 and rgb[-1, -1, 0] > 250 and 100 < rgb[32, 0, 0] < 156, "scaled, not clipped white"


def test_portrait_declaring_too_many_pixels_is_refused_before_decoding(tmp_path):
    path = tmp_path / "wide.png"
    Image.new("L", (12000, 5000)).save(path)  # compresses to a few kB, decodes to 60 MP
    with pytest.raises(ValueError, match="megapixel limit"):
        load_portrait(path)


@pytest.mark.parametrize("size, crop_scale", [(0, 2.3), (-1, 2.3), (10000, 2.3), (512, 0.0), (512, float("nan"))])
def test_prepare_refuses_sizes_out_of_range(size, crop_scale):
    with pytest.raises(ValueError, match="outside"):
        prepare_avatar(np.zeros((64, 64, 3), np.uint8), size=size, crop_scale=crop_scale)


# -- files named by control clients ----------------------------------------------------------------------

def test_client_files_only_in_allowed_folders_and_only_regular(tmp_path):
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "ok.png").write_bytes(b"x" * 100)
    assert read_client_file(str(allowed / "ok.png"), (allowed,)) == b"x" * 100
    with pytest.raises(FileRefused, match="payload"):
        read_client_file(str(allowed / "ok.png"), ())  # no --allow-dir: payloads only
    with pytest.raises(FileRefused, match="outside"):
        read_client_file("/dev/zero", (allowed,))
    (allowed / "zero").symlink_to("/dev/zero")
    with pytest.raises(FileRefused, match="outside"):  # a link out of the folder is followed, then refused
        read_client_file(str(allowed / "zero"), (allowed,))
    with pytest.raises(FileRefused, match="outside"):
        read_client_file(str(allowed / ".." / "elsewhere.png"), (allowed,))
    os.mkfifo(allowed / "fifo")  # nobody writes it: reading it would block forever
    with pytest.raises(FileRefused, match="not a regular file"):
        read_client_file(str(allowed / "fifo"), (allowed,))
    with pytest.raises(FileRefused, match="not a regular file"):
        read_client_file(str(allowed), (allowed,))
    (allowed / "big.png").write_bytes(b"\0" * 2048)
    with pytest.raises(FileRefused, match="limit"):
        read_client_file(str(allowed / "big.png"), (allowed,), max_bytes=1024)
    with pytest.raises(FileNotFoundError):
        read_client_file(str(allowed / "missing.png"), (allowed,))


def test_three_portraits_side_by_side_each_face_by_index():
    """Letterboxed whole, each face of a 3:1 row is too small for the short-range detector ('no face' for
    every --face); square tiles find all three, numbered left to right as they are the same size."""
    from facecast.runtime.engine.avatar.landmarks import NoFaceFound
    from facecast.runtime.workshop.face import samples

    one = samples.astronaut()
    side = one.shape[1]
    row = np.ascontiguousarray(np.concatenate([one, one, one], axis=1))
    single = prepare_avatar(one, "astronaut").meta["crop_box"]
    for face in range(3):
        x, y, crop_side = prepare_avatar(row, "three", face=face).meta["crop_box"]
        # the same head-and-shoulders crop as the portrait alone, moved to its copy
        assert np.allclose([x - face * side, y, crop_side], single, atol=2.0), (face, (x, y, crop_side), single)
    with pytest.raises(NoFaceFound, match=r"three has 3 face\(s\).*--face takes 0\.\.2"):
        prepare_avatar(row, "three", face=3)
