"""Prepared avatars: a portrait is prepared once and cached by content and options; an .fca loads as is.

    avatar = load_or_prepare("me.jpg", {}, DEFAULT_CACHE)     # -> prepare.Avatar
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

DEFAULT_CACHE = Path.home() / ".cache" / "facecast" / "avatars"


def prepare_file(image_path: str, opts: dict):
    """Prepare a picture file with prepare_avatar options (size, crop_scale, face, face_box) -> Avatar."""
    from facecast.runtime.engine.avatar.prepare import load_portrait, prepare_avatar

    return prepare_avatar(load_portrait(image_path), Path(image_path).name, **opts)


def load_or_prepare(image_path: str, opts: dict, cache_dir: Path | None):
    """An .fca loads as is; a picture is prepared once and cached under cache_dir by content + options."""
    # imported here: the CLI reads DEFAULT_CACHE for its help text without loading the face models
    from facecast.runtime.engine.avatar.prepare import Avatar

    if image_path.endswith(".fca"):
        return Avatar.load(image_path)
    if cache_dir is None:
        return prepare_file(image_path, opts)
    return load_or_prepare_bytes(Path(image_path).read_bytes(), Path(image_path).name, opts, cache_dir)


def load_or_prepare_bytes(data: bytes, name: str, opts: dict, cache_dir: Path | None):
    """The bytes of a picture or of an .fca (a zip) -> Avatar; nothing is written but the cache entry.

    name: how errors refer to the data (a file name, or "the payload of 123 bytes")."""
    import io

    from facecast.runtime.engine.avatar.prepare import Avatar, load_portrait, prepare_avatar

    if data[:4] == b"PK\x03\x04":  # an .fca is an npz, i.e. a zip
        return Avatar.load(data, name)
    key = hashlib.sha256(data + json.dumps(opts, sort_keys=True).encode()).hexdigest()[:20]
    cached = cache_dir / f"{key}.fca" if cache_dir is not None else None
    if cached is not None and cached.exists():
        return Avatar.load(cached)
    avatar = prepare_avatar(load_portrait(io.BytesIO(data)), name, **opts)
    if cached is not None:
        avatar.save(cached)
    return avatar


def usable_renderer(avatar, device: str, name: str):
    """A PortraitRenderer for `avatar`, tried on one neutral frame: a hand-made avatar that passed the file
    checks but breaks the renderer (a degenerate face, a float image) fails here, as one ValueError,
    instead of at the first live frame."""
    from facecast.runtime.engine.avatar.render import PortraitRenderer
    from facecast.runtime.engine.motion.frame import MotionFrame

    try:
        renderer = PortraitRenderer(avatar, device=device)
        renderer.render(MotionFrame(0.0))
    except Exception as exc:
        raise ValueError(f"{name} is not a usable facecast avatar: it cannot be rendered "
                         f"({type(exc).__name__}: {str(exc)[:200]}); prepare it again with `facecast prepare`") from None
    return renderer
