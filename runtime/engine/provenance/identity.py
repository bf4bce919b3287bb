"""The per-installation id every mark carries: 24 random bits made on first use, kept in the user's config
folder. It names an installation, not a person: nothing about the user or the machine goes into it."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from .pattern import Payload

ID_FILE = "installation.json"


def config_dir(env: dict | None = None) -> Path:
    """$FACECAST_CONFIG_DIR, else $XDG_CONFIG_HOME/facecast, else ~/.config/facecast (not created here)."""
    env = os.environ if env is None else env
    if env.get("FACECAST_CONFIG_DIR"):
        return Path(env["FACECAST_CONFIG_DIR"])
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "facecast"


def installation_id(folder: Path | None = None) -> str:
    """6 hex digits, made once (first call) and read back from `folder`/installation.json afterwards."""
    folder = config_dir() if folder is None else folder
    path = folder / ID_FILE
    try:
        ident = json.loads(path.read_text())["installation_id"]
        if len(ident) == 6 and int(ident, 16) >= 0:
            return ident
    except (OSError, ValueError, KeyError, TypeError):
        pass  # missing or damaged: make a fresh one
    ident = f"{secrets.randbits(24):06x}"
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"installation_id": ident}) + "\n")
    os.replace(tmp, path)  # atomic: two first runs at once never leave half a file
    return ident


def facecast_version() -> str:
    try:
        from importlib.metadata import version

        return version("facecast")
    except Exception:  # running from a source tree that was never installed
        return "0.0.0"


def this_installation(folder: Path | None = None) -> Payload:
    """The payload this installation marks with: its id and facecast's version."""
    return Payload(installation_id(folder), facecast_version())
