"""The per-installation id every mark carries: 24 random bits made on first use, kept in the user's config
folder. It names an installation, not a person: nothing about the user or the machine goes into it.
Which folder is the caller's to say (engine.config.config_dir()): only the config module reads the
environment."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from .pattern import Payload

ID_FILE = "installation.json"


def _read_id(path: Path) -> str | None:
    try:
        ident = json.loads(path.read_text())["installation_id"]
        if len(ident) == 6 and int(ident, 16) >= 0:
            return ident
    except (OSError, ValueError, KeyError, TypeError):
        pass  # missing or damaged
    return None


def installation_id(folder: Path) -> str:
    """6 hex digits, made once (first call) and read back from `folder`/installation.json afterwards.
    folder: the installation's config folder (engine.config.config_dir() finds it)."""
    path = folder / ID_FILE
    # whether it was there is taken before reading: a file that appears between a failed read and the
    # write below is another first run's, to be used, not a damaged one to replace
    damaged = path.exists()
    ident = _read_id(path)
    if ident is not None:
        return ident
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)  # it will hold the signing key too
    tmp = folder / f".{ID_FILE}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    tmp.write_text(json.dumps({"installation_id": f"{secrets.randbits(24):06x}"}) + "\n")
    try:
        if damaged:
            os.replace(tmp, path)  # damaged: replaced whole, never left half-written
        else:
            try:
                os.link(tmp, path)  # two first runs at once: the first wins and both use its id
            except FileExistsError:
                pass
            except OSError:  # a file system without hard links
                os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    ident = _read_id(path)
    if ident is None:
        raise OSError(f"{path} was written but cannot be read back")
    return ident


def facecast_version() -> str:
    try:
        from importlib.metadata import version

        return version("facecast")
    except Exception:  # running from a source tree that was never installed
        return "0.0.0"


def this_installation(folder: Path) -> Payload:
    """The payload this installation marks with: its id and facecast's version."""
    return Payload(installation_id(folder), facecast_version())
