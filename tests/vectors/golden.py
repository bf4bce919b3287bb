"""What one golden vector is, shared by the case modules and the writer (make_vectors.py)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import msgpack

# Fixed times: never time.time(), so every run writes the same bytes.
T_WALL_S = 1764150000.25  # 2025-11-26 09:40:00.25 UTC
SESSION = "default"


@dataclass
class Vector:
    """One message and what a decoder must make of it."""

    name: str
    kind: str            # "stream" | "request" | "reply"
    description: str
    parts: list          # the ZeroMQ message parts, bytes each
    expect_error: str | None = None
    error_stage: str | None = None   # requests only: "decode_request" or "validate"
    payload: dict | None = None      # expected payload values (valid stream and request vectors)
    args: dict | None = None         # valid requests: commands.validate()'s result, defaults filled in


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pack(obj) -> bytes:
    """msgpack exactly as protocol.py packs (str as str, bytes as bin, floats as float64)."""
    return msgpack.packb(obj, use_bin_type=True)


def blob(data: bytes, **extra) -> dict:
    """The payload description every payload gets: its length and SHA-256, then specifics."""
    return {"len": len(data), "sha256": sha256(data), **extra}
