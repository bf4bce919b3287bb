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
    key = hashlib.sha256(Path(image_path).read_bytes() + json.dumps(opts, sort_keys=True).encode()).hexdigest()[:20]
    cached = cache_dir / f"{key}.fca"
    if cached.exists():
        return Avatar.load(cached)
    avatar = prepare_file(image_path, opts)
    avatar.save(cached)
    return avatar
