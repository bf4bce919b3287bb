"""A tiny, dependency-free baseline JPEG encoder for the golden vectors, and its reference decode.

The image is a grid of flat 8x8 blocks (4:4:4, quantisation all ones, the standard Huffman tables
of ITU-T T.81 Annex K.3). A flat block has only a DC coefficient, so every conforming decoder
reconstructs it exactly in YCbCr; decoders differ only in how they round the YCbCr -> RGB step.
That makes the expected pixels a computation, not a snapshot of one library's output, and the
bytes independent of whichever JPEG library happens to be installed.
"""

from __future__ import annotations

import math
import struct

# T.81 Annex K.3: (table class << 4 | id, code counts for lengths 1..16, symbols)
_HUFFMAN = {
    "dc_luma": (0x00, "00010501010101010100000000000000", "000102030405060708090a0b"),
    "dc_chroma": (0x01, "00030101010101010101010000000000", "000102030405060708090a0b"),
    "ac_luma": (0x10, "0002010303020403050504040000017d",
                "01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25"
                "262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a83"
                "8485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3"
                "d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9fa"),
    "ac_chroma": (0x11, "00020102040403040705040400010277",
                  "000102031104052131061241510761711322328108144291a1b1c109233352f0156272d10a162434e125f1"
                  "1718191a262728292a35363738393a434445464748494a535455565758595a636465666768696a7374757677"
                  "78797a82838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6"
                  "c7c8c9cad2d3d4d5d6d7d8d9dae2e3e4e5e6e7e8e9eaf2f3f4f5f6f7f8f9fa"),
}

# Decoders round YCbCr -> RGB in fixed point (libjpeg-turbo, stb_image, .NET, Unity differ by 1-2).
TOLERANCE = 3


def _round_clamp(x: float) -> int:
    return min(255, max(0, math.floor(x + 0.5)))


def to_ycc(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """JFIF (ITU-T T.871) RGB -> YCbCr, rounded half up and clamped as an encoder stores it."""
    r, g, b = rgb
    return (_round_clamp(0.299 * r + 0.587 * g + 0.114 * b),
            _round_clamp(-0.168736 * r - 0.331264 * g + 0.5 * b + 128),
            _round_clamp(0.5 * r - 0.418688 * g - 0.081312 * b + 128))


def to_rgb(ycc: tuple[int, int, int]) -> list[int]:
    """JFIF YCbCr -> RGB in exact arithmetic, rounded half up and clamped: the reference decode."""
    y, cb, cr = ycc
    return [_round_clamp(y + 1.402 * (cr - 128)),
            _round_clamp(y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128)),
            _round_clamp(y + 1.772 * (cb - 128))]


def _codes(counts_hex: str, symbols_hex: str) -> dict[int, tuple[int, int]]:
    """Canonical Huffman codes (T.81 Annex C): symbol -> (code, length)."""
    counts, symbols = bytes.fromhex(counts_hex), bytes.fromhex(symbols_hex)
    codes, code, k = {}, 0, 0
    for length, count in enumerate(counts, start=1):
        for _ in range(count):
            codes[symbols[k]] = (code, length)
            code, k = code + 1, k + 1
        code <<= 1
    return codes


class _Bits:
    def __init__(self):
        self.out, self.acc, self.n = bytearray(), 0, 0

    def put(self, value: int, length: int) -> None:
        self.acc, self.n = (self.acc << length) | (value & ((1 << length) - 1)), self.n + length
        while self.n >= 8:
            self.n -= 8
            byte = (self.acc >> self.n) & 0xFF
            self.out += b"\xff\x00" if byte == 0xFF else bytes([byte])  # byte stuffing

    def flush(self) -> bytes:
        if self.n:
            self.put((1 << (8 - self.n)) - 1, 8 - self.n)  # pad with 1-bits
        return bytes(self.out)


def _segment(marker: int, body: bytes) -> bytes:
    return struct.pack(">HH", 0xFF00 | marker, len(body) + 2) + body


def encode(blocks: list[list[tuple[int, int, int]]], width: int, height: int) -> bytes:
    """blocks[row][col]: the RGB colour of each 8x8 block; width/height may crop the last ones."""
    rows, cols = len(blocks), len(blocks[0])
    assert (height + 7) // 8 == rows and (width + 7) // 8 == cols
    dc = [_codes(*_HUFFMAN["dc_luma"][1:]), _codes(*_HUFFMAN["dc_chroma"][1:])]
    ac = [_codes(*_HUFFMAN["ac_luma"][1:]), _codes(*_HUFFMAN["ac_chroma"][1:])]
    bits, pred = _Bits(), [0, 0, 0]
    for row in blocks:
        for rgb in row:  # one MCU: a Y, a Cb and a Cr block (all sampling factors 1)
            for comp, level in enumerate(to_ycc(rgb)):
                table = min(comp, 1)
                coef = 8 * (level - 128)  # DC of a flat block after the level shift; quantiser 1
                diff, pred[comp] = coef - pred[comp], coef
                size = abs(diff).bit_length()
                bits.put(*dc[table][size])
                if size:
                    bits.put(diff if diff >= 0 else diff + (1 << size) - 1, size)
                bits.put(*ac[table][0x00])  # EOB: all 63 AC coefficients are zero
    dht = b"".join(bytes([tc]) + bytes.fromhex(n) + bytes.fromhex(s) for tc, n, s in _HUFFMAN.values())
    return b"".join([
        b"\xff\xd8",
        _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
        _segment(0xDB, b"\x00" + b"\x01" * 64),
        _segment(0xC0, struct.pack(">BHHB", 8, height, width, 3) + b"\x01\x11\x00\x02\x11\x00\x03\x11\x00"),
        _segment(0xC4, dht),
        _segment(0xDA, b"\x03\x01\x00\x02\x11\x03\x11\x00\x3f\x00"),
        bits.flush(),
        b"\xff\xd9",
    ])


def reference_pixels(blocks: list[list[tuple[int, int, int]]], width: int, height: int) -> list:
    """pixels[y][x] = [r, g, b] as the reference decode of encode(blocks, width, height)."""
    return [[to_rgb(to_ycc(blocks[y // 8][x // 8])) for x in range(width)] for y in range(height)]
