"""Portraits for tests and docs: real people, and stylized versions of them.

Four real people come at a usable resolution. Two ship inside installed packages (scikit-image's
astronaut: Eileen Collins, NASA, public domain; matplotlib's grace_hopper.jpg); two live in the
repository, tests/data/portraits/ (Barack Obama and Joe Biden, official White House photographs,
public domain: see the README there), so they exist only in a source checkout. LFW's 25 x 25
thumbnails in scikit-image are a fifth source, at thumbnail quality. The paintings and the pencil
drawing are filters over those photos: different *inputs* (no photo texture, flat colour patches,
lines), not different people.

Every function returns an (H, W, 3) uint8 RGB array.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage


def astronaut() -> np.ndarray:
    import skimage.data

    return skimage.data.astronaut()


def grace_hopper() -> np.ndarray:
    from matplotlib import cbook

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        return np.asarray(Image.open(f).convert("RGB"))


# runtime/workshop/face/samples.py -> the repository root (the package is installed editable)
REPO_PORTRAITS = Path(__file__).resolve().parents[3] / "tests" / "data" / "portraits"


def _repo_portrait(name: str) -> np.ndarray:
    path = REPO_PORTRAITS / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: this portrait lives in the facecast source checkout "
                                "(tests/data/portraits/), not in an installed package")
    return np.asarray(Image.open(path).convert("RGB"))


def obama() -> np.ndarray:
    """Barack Obama, official White House portrait (public domain), head and shoulders, 640 x 640.
    Smiles with parted lips and teeth showing, as the astronaut does."""
    return _repo_portrait("obama.jpg")


def biden() -> np.ndarray:
    """Joe Biden, official White House photograph (public domain), head and shoulders, 640 x 640.
    Older skin, hooded upper lids, closed mouth, head a little tilted."""
    return _repo_portrait("biden.jpg")


def lfw_thumbnail(index: int = 0, size: int = 256) -> np.ndarray:
    """One of scikit-image's LFW faces (25 x 25 grey, a tight face crop), enlarged with Lanczos and set
    on a soft background (its own edges, blurred) so that a head-and-shoulders crop has something
    around the face: a low-quality third person."""
    import skimage.data

    face = skimage.data.lfw_subset()[index]
    im = Image.fromarray(np.uint8(np.clip(face * 255, 0, 255))).resize((size, size), Image.LANCZOS)
    grey = np.asarray(im).astype(np.float32)
    pad = size // 2
    around = ndimage.gaussian_filter(np.pad(grey, pad, mode="edge"), 24)
    yy, xx = np.mgrid[-pad:size + pad, -pad:size + pad]
    inside = np.clip(np.minimum.reduce([xx, yy, size - 1 - xx, size - 1 - yy]) / 12.0, 0, 1)
    out = around * (1 - inside) + np.pad(grey, pad, mode="edge") * inside
    return np.repeat(np.clip(out, 0, 255).astype(np.uint8)[:, :, None], 3, axis=2)


# Close-ups, as in selfies and profile pictures: the face fills the photo, so a head-and-shoulders
# crop reaches past it on most sides. Boxes (x0, y0, x1, y1) in the source photo's pixels.
CLOSEUP_BOXES = {
    "astronaut": (160, 48, 294, 202),      # forehead to just under the chin
    "grace_hopper": (140, 100, 392, 372),  # cap badge to chin, glasses whole
    "obama": (200, 60, 444, 350),          # hairline above, chin near the bottom edge
    "biden": (215, 110, 482, 430),
    "obama_left": (214, 84, 458, 338),     # off-centre: the face against the left edge
}


def closeup(name: str) -> np.ndarray:
    """A close-up cut from one of the photos above (CLOSEUP_BOXES[name])."""
    source = {"obama_left": "obama"}.get(name, name)
    x0, y0, x1, y1 = CLOSEUP_BOXES[name]
    return np.ascontiguousarray(globals()[source]()[y0:y1, x0:x1])


def lfw_closeup(index: int = 3, size: int = 256) -> np.ndarray:
    """One of scikit-image's LFW faces as it is (a 25 x 25 grey crop tight round the face), enlarged:
    the face fills the picture, with nothing around it."""
    import skimage.data

    face = skimage.data.lfw_subset()[index]
    im = Image.fromarray(np.uint8(np.clip(face * 255, 0, 255))).resize((size, size), Image.LANCZOS)
    return np.repeat(np.asarray(im)[:, :, None], 3, axis=2)


def _shifted(a: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """a[y + dy, x + dx], edges repeated."""
    r = max(abs(dy), abs(dx))
    pad = [(r, r), (r, r)] + [(0, 0)] * (a.ndim - 2)
    p = np.pad(a, pad, mode="edge")
    return p[r + dy:r + dy + a.shape[0], r + dx:r + dx + a.shape[1]]


def kuwahara(image: np.ndarray, radius: int = 4) -> np.ndarray:
    """Kuwahara filter (an oil-paint look): each pixel takes the mean colour of the least varied of
    the four (radius + 1)^2 quadrants that have it as a corner."""
    img = image.astype(np.float32)
    lum = img.mean(2)
    k, h = radius + 1, radius // 2
    mean = ndimage.uniform_filter(img, (k, k, 1))
    lmean = ndimage.uniform_filter(lum, k)
    var = ndimage.uniform_filter(lum * lum, k) - lmean ** 2
    quads = [(-h, -h), (-h, h), (h, -h), (h, h)]
    vars_ = np.stack([_shifted(var, dy, dx) for dy, dx in quads])
    means = np.stack([_shifted(mean, dy, dx) for dy, dx in quads])
    best = np.argmin(vars_, axis=0)
    out = np.take_along_axis(means, best[None, ..., None].repeat(3, -1), 0)[0]
    return np.clip(out, 0, 255).astype(np.uint8)


def painting(image: np.ndarray | None = None) -> np.ndarray:
    """A painting-like portrait: Kuwahara brush strokes, fewer colours, a faint canvas weave."""
    img = grace_hopper() if image is None else image
    paint = kuwahara(kuwahara(img, 4), 4)
    paint = (np.round(paint.astype(np.float32) / 20) * 20).clip(0, 255)
    yy, xx = np.mgrid[: paint.shape[0], : paint.shape[1]]
    weave = 6 * np.sin(xx * 1.7) * np.sin(yy * 1.7)
    return np.clip(paint * np.array([1.04, 0.98, 0.86]) + weave[..., None], 0, 255).astype(np.uint8)


def painting_obama() -> np.ndarray:
    """The painting filter over the Obama photo: a stylized darker-skinned face."""
    return painting(obama())


def pencil_sketch(image: np.ndarray | None = None) -> np.ndarray:
    """A pencil drawing: colour-dodge of the grey image by its blurred negative, on warm paper."""
    img = astronaut() if image is None else image
    grey = img.astype(np.float32).mean(2)
    blur = ndimage.gaussian_filter(255 - grey, 6)
    sketch = np.clip(grey * 255 / np.maximum(255 - blur, 1), 0, 255)
    sketch = 255 - (255 - sketch) * 1.6
    paper = np.array([246, 240, 226], np.float32)
    return np.clip(sketch[..., None] / 255 * paper, 0, 255).astype(np.uint8)


def no_face() -> np.ndarray:
    """A photo without a face (scikit-image's coffee cup)."""
    import skimage.data

    return skimage.data.coffee()


PORTRAITS = {"astronaut": astronaut, "grace_hopper": grace_hopper, "obama": obama, "biden": biden,
             "painting": painting, "painting_obama": painting_obama, "pencil": pencil_sketch,
             "lfw": lfw_thumbnail}
CLOSEUPS = {**{f"closeup_{k}": (lambda k=k: closeup(k)) for k in CLOSEUP_BOXES}, "closeup_lfw": lfw_closeup}
