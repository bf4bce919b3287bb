"""Contact sheets: labelled grids of rendered frames for a person to judge.

    expression_sheet(renderer)          # one frame per command: mouth, eyes, brows, head, gaze
    timeline_sheet(frames_rgb, labels)  # evenly spaced frames of a rendered clip
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from facecast.runtime.engine.motion.frame import MotionFrame

TILE_PX = 256

# (label, blendshapes, head (pitch, yaw, roll, x, y, z), gaze (l yaw, l pitch, r yaw, r pitch))
EXPRESSIONS: list[tuple[str, dict, tuple, tuple]] = [
    ("neutral", {}, (0, 0, 0, 0, 0, 0), (0, 0, 0, 0)),
    ("jawOpen 0.3", {"jawOpen": 0.3}, (0,) * 6, (0,) * 4),
    ("jawOpen 0.6", {"jawOpen": 0.6}, (0,) * 6, (0,) * 4),
    ("jawOpen 1.0", {"jawOpen": 1.0}, (0,) * 6, (0,) * 4),
    ("funnel 'oo'", {"jawOpen": 0.2, "mouthFunnel": 0.8}, (0,) * 6, (0,) * 4),
    ("pucker", {"mouthPucker": 1.0}, (0,) * 6, (0,) * 4),
    ("smile", {"mouthSmileLeft": 0.9, "mouthSmileRight": 0.9, "cheekSquintLeft": 0.5, "cheekSquintRight": 0.5},
     (0,) * 6, (0,) * 4),
    ("stretch 'ee'", {"jawOpen": 0.15, "mouthStretchLeft": 0.8, "mouthStretchRight": 0.8}, (0,) * 6, (0,) * 4),
    ("blink", {"eyeBlinkLeft": 1.0, "eyeBlinkRight": 1.0}, (0,) * 6, (0,) * 4),
    ("half blink", {"eyeBlinkLeft": 0.5, "eyeBlinkRight": 0.5}, (0,) * 6, (0,) * 4),
    ("brows up, eyes wide", {"browInnerUp": 1.0, "browOuterUpLeft": 0.8, "browOuterUpRight": 0.8,
                             "eyeWideLeft": 0.7, "eyeWideRight": 0.7}, (0,) * 6, (0,) * 4),
    ("frown, brows down", {"browDownLeft": 1.0, "browDownRight": 1.0, "mouthFrownLeft": 0.8,
                           "mouthFrownRight": 0.8}, (0,) * 6, (0,) * 4),
    ("yaw +20", {}, (0, 20, 0, 0, 0, 0), (0,) * 4),
    ("yaw -20", {}, (0, -20, 0, 0, 0, 0), (0,) * 4),
    ("pitch +15 (down)", {}, (15, 0, 0, 0, 0, 0), (0,) * 4),
    ("pitch -15 (up)", {}, (-15, 0, 0, 0, 0, 0), (0,) * 4),
    ("roll +12", {}, (0, 0, 12, 0, 0, 0), (0,) * 4),
    ("closer (z +8 cm)", {}, (0, 0, 0, 0, 0, 0.08), (0,) * 4),
    ("gaze right/up", {}, (0,) * 6, (25, -15, 25, -15)),
    ("talking + turn", {"jawOpen": 0.5, "mouthSmileLeft": 0.3, "mouthSmileRight": 0.3},
     (6, 14, -5, 0, 0, 0), (-10, 0, -10, 0)),
]


def motion_frame(blend: dict, head=(0,) * 6, gaze=(0,) * 4) -> MotionFrame:
    f = MotionFrame(0.0)
    for name, value in blend.items():
        f.set_blend(name, value)
    f.head[:] = head
    f.gaze[:] = gaze
    return f


def grid(tiles: list[np.ndarray], labels: list[str], columns: int = 5, tile_px: int = TILE_PX,
         title: str | None = None) -> np.ndarray:
    """Tiles (any size RGB) resized to tile_px, a caption under each, an optional title on top."""
    rows = (len(tiles) + columns - 1) // columns
    cap, head = 18, 26 if title else 0
    sheet = Image.new("RGB", (columns * tile_px, head + rows * (tile_px + cap)), (24, 24, 24))
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((6, 6), title, fill=(235, 235, 235))
    for i, (tile, label) in enumerate(zip(tiles, labels)):
        x, y = (i % columns) * tile_px, head + (i // columns) * (tile_px + cap)
        sheet.paste(Image.fromarray(tile).resize((tile_px, tile_px), Image.LANCZOS), (x, y))
        draw.text((x + 4, y + tile_px + 3), label, fill=(220, 220, 220))
    return np.asarray(sheet)


def expression_sheet(renderer, title: str | None = None, source: np.ndarray | None = None) -> np.ndarray:
    """The EXPRESSIONS rendered by a PortraitRenderer (the prepared crop first when `source` is given)."""
    tiles, labels = [], []
    if source is not None:
        tiles.append(source)
        labels.append("prepared crop (input)")
    for label, blend, head, gaze in EXPRESSIONS:
        tiles.append(renderer.render(motion_frame(blend, head, gaze)))
        labels.append(label)
    return grid(tiles, labels, columns=7 if source is not None else 5, title=title)


def timeline_sheet(frames: list[np.ndarray], labels: list[str], title: str | None = None) -> np.ndarray:
    return grid(frames, labels, columns=6, title=title)
