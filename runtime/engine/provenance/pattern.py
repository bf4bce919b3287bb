"""The keyed mark pattern and the payload it carries.

The mark is one 128×128 tile of band-limited noise repeated over the frame and added to the luma. The tile
is the sum of a sync pattern and DATA_PATTERNS data patterns (each on its own frequency bins), each data
pattern circularly shifted by an amount that spells 12 bits of the payload (6 bits of row shift, 6 of column shift, in steps of 2 px so
that a half-pixel misreading of the peak cannot flip a symbol). Repetition makes the mark survive crops
(a crop is only a cyclic shift of the tile), and lets a detector fold a whole frame into one tile.

The patterns come from a fixed public key: anyone can check a mark, which is the point of it.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

TILE_PX = 128
DATA_PATTERNS = 4
SHIFT_STEP_PX = 2
SYMBOL_BITS = 12                      # 6 bits of row shift + 6 of column shift
PAYLOAD_BITS = DATA_PATTERNS * SYMBOL_BITS  # 48 = id 24 + version 12 + crc 12
KEY = 0xFACECA57
# Pass band, cycles per pixel at the native scale: below 0.2 so that a 2x downscale and JPEG keep most of
# it, above 0.025 so that the content's own low frequencies (faces, gradients) do not drown it.
BAND_CPP = (0.025, 0.2)
# Share of the band's frequency bins (so of the mark's energy) given to the sync pattern; the rest is split
# evenly between the data patterns. Presence rests on sync alone, so it gets the most.
SYNC_SHARE = 0.5


def band_mask(shape: tuple[int, int]) -> np.ndarray:
    """(H, W//2+1) bool: rfft2 bins inside BAND_CPP for an (H, W) tile, column 0 left out (its bins pair
    up as conjugates, which would couple two patterns)."""
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.rfftfreq(shape[1])[None, :]
    radius = np.hypot(fy, fx)
    return (radius >= BAND_CPP[0]) & (radius <= BAND_CPP[1]) & (fx > 0)


@lru_cache(maxsize=1)
def pattern_bins() -> np.ndarray:
    """(TILE_PX, TILE_PX//2+1) int8: which pattern owns each rfft2 bin (-1: none). Disjoint bins make the
    patterns exactly orthogonal at every relative shift, so data never masks sync or other data."""
    rng = np.random.default_rng(KEY)
    band = band_mask((TILE_PX, TILE_PX))
    share = [SYNC_SHARE] + [(1 - SYNC_SHARE) / DATA_PATTERNS] * DATA_PATTERNS
    owner = np.full(band.shape, -1, np.int8)
    owner[band] = rng.choice(len(share), size=int(band.sum()), p=share)
    return owner


@lru_cache(maxsize=1)
def patterns() -> np.ndarray:
    """(1 + DATA_PATTERNS, TILE_PX, TILE_PX) float32 zero-mean patterns; index 0 is sync. Their sum has unit
    RMS; each has a flat spectrum on its own bins (a sharp, ~3 px wide correlation peak)."""
    rng = np.random.default_rng(KEY + 1)
    owner = pattern_bins()
    phase = np.exp(2j * np.pi * rng.random(owner.shape))
    out = np.stack([np.fft.irfft2(np.where(owner == k, phase, 0), s=(TILE_PX, TILE_PX))
                    for k in range(1 + DATA_PATTERNS)])
    out /= np.sqrt((out.sum(axis=0) ** 2).mean())
    return out.astype(np.float32)


@dataclass(frozen=True)
class Payload:
    """What every mark says: made by facecast `version` on the installation `installation_id`.

    installation_id: 24-bit random number (6 hex digits), made once per installation, no personal data.
    version: "MAJOR.MINOR.PATCH" with MAJOR < 8, MINOR < 32, PATCH < 16 (larger parts are refused)."""

    installation_id: str
    version: str

    def to_bits(self) -> int:
        ident = int(self.installation_id, 16)
        if not 0 <= ident < 1 << 24:
            raise ValueError(f"installation id {self.installation_id!r} is not 6 hex digits")
        major, minor, patch = _version_parts(self.version)
        body = (ident << 12) | (major << 9) | (minor << 4) | patch
        return (body << 12) | _crc12(body)

    @classmethod
    def from_bits(cls, bits: int) -> "Payload | None":
        """The payload a 48-bit word spells, or None when its CRC-12 does not match."""
        body, crc = bits >> 12, bits & 0xFFF
        if _crc12(body) != crc:
            return None
        ident, ver = body >> 12, body & 0xFFF
        return cls(f"{ident:06x}", f"{ver >> 9}.{(ver >> 4) & 31}.{ver & 15}")


def _version_parts(version: str) -> tuple[int, int, int]:
    parts = [int("".join(ch for ch in p if ch.isdigit()) or 0) for p in version.split(".")[:3]]
    major, minor, patch = (parts + [0, 0, 0])[:3]
    if major >= 8 or minor >= 32 or patch >= 16:
        raise ValueError(f"version {version!r} does not fit the mark (major < 8, minor < 32, patch < 16)")
    return major, minor, patch


def _crc12(body: int) -> int:
    # crc32 folded to 12 bits: a misread payload passes with probability 2^-12
    crc = zlib.crc32(body.to_bytes(5, "big") + b"facecast")
    return (crc ^ (crc >> 12) ^ (crc >> 24)) & 0xFFF


def symbols(bits: int) -> list[tuple[int, int]]:
    """48-bit word -> DATA_PATTERNS (row, col) shifts in px, multiples of SHIFT_STEP_PX below TILE_PX."""
    out = []
    for k in range(DATA_PATTERNS):
        sym = (bits >> (SYMBOL_BITS * (DATA_PATTERNS - 1 - k))) & ((1 << SYMBOL_BITS) - 1)
        out.append(((sym >> 6) * SHIFT_STEP_PX, (sym & 63) * SHIFT_STEP_PX))
    return out


def bits_from_symbols(shifts: list[tuple[int, int]]) -> int:
    """Inverse of symbols(): shifts already rounded to multiples of SHIFT_STEP_PX (mod TILE_PX)."""
    bits = 0
    for row, col in shifts:
        sym = ((row // SHIFT_STEP_PX) % 64) << 6 | ((col // SHIFT_STEP_PX) % 64)
        bits = (bits << SYMBOL_BITS) | sym
    return bits


def tile(payload: Payload) -> np.ndarray:
    """(TILE_PX, TILE_PX) float32 unit-RMS mark tile for `payload` (sync + shifted data patterns)."""
    pats = patterns()
    acc = pats[0].astype(np.float64).copy()
    for k, (row, col) in enumerate(symbols(payload.to_bits())):
        acc += np.roll(pats[1 + k], (row, col), axis=(0, 1))
    return acc.astype(np.float32)  # already unit RMS: rolling keeps the bins, so the sum stays orthogonal
