"""The docs' portraits and their contact sheets (docs/sheets/<name>.png), made with the renderer's own sheet.

    python -m facecast.runtime.workshop.face.docsheets docs/sheets
"""

from __future__ import annotations

from PIL import Image

from facecast.runtime.engine.avatar.sheet import expression_sheet

DOC_PORTRAITS = {  # name -> (image function, face box or None, caption)
    "astronaut": ("astronaut", None, "photo (scikit-image astronaut, NASA, public domain)"),
    "grace_hopper": ("grace_hopper", None, "photo (matplotlib sample data), glasses"),
    "obama": ("obama", None, "photo (official White House portrait, public domain): toothy smile, lips closed at rest"),
    "biden": ("biden", None, "photo (official White House photograph, public domain): hooded lids, head tilted"),
    "painting": ("painting", None, "painting-like: Kuwahara oil filter over the Grace Hopper photo"),
    "lfw": ("lfw_thumbnail", None, "a third person: 25x25 LFW thumbnail from scikit-image, enlarged"),
    "pencil": ("pencil_sketch", (177, 83, 96, 96),
               "pencil drawing of the astronaut: not detected, placed with --face-box 177,83,96,96"),
    "closeup_obama": ("closeup_obama", None, "close-up (Obama photo cut to the face): crop fitted, the rest filled"),
    "closeup_biden": ("closeup_biden", None, "close-up (Biden photo cut to the face): crop fitted, the rest filled"),
    "closeup_lfw": ("closeup_lfw", None, "close-up: a raw 25x25 LFW face, enlarged, nothing around it"),
}


def doc_avatar(name: str):
    """The prepared Avatar of DOC_PORTRAITS[name], prepared as its sheet is (face box where one is needed)."""
    from facecast.runtime.workshop.face import samples
    from facecast.runtime.engine.avatar.prepare import prepare_avatar

    fn, box, _ = DOC_PORTRAITS[name]
    image = samples.CLOSEUPS[fn]() if fn in samples.CLOSEUPS else getattr(samples, fn)()
    return prepare_avatar(image, name, face_box=box)


def write_doc_sheets(out_dir) -> list:
    """docs/sheets/<name>.png: the expression sheet of every DOC_PORTRAITS entry."""
    from pathlib import Path

    from facecast.runtime.engine.avatar.render import PortraitRenderer

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (_, _, caption) in DOC_PORTRAITS.items():
        avatar = doc_avatar(name)
        sheet = expression_sheet(PortraitRenderer(avatar, device="cpu"), f"{name}: {caption}", source=avatar.image)
        path = out_dir / f"{name}.png"
        Image.fromarray(sheet).save(path, optimize=True)
        written.append(path)
    return written


if __name__ == "__main__":   # python -m facecast.runtime.workshop.face.docsheets docs/sheets
    import sys

    for p in write_doc_sheets(sys.argv[1] if len(sys.argv) > 1 else "docs/sheets"):
        print(p)
