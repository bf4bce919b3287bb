"""Provenance: an invisible mark on every frame facecast renders, and the check anyone can run on a file.

    marker = Marker(this_installation(config_dir()))   # once per session; config_dir from engine.config
    marked = marker.mark(rgb)              # (H, W, 3) uint8, ~1.5 ms at 512×512 on one core
    detect([rgb]).present                  # one image, or several frames of one video

The method (a keyed, repeated band-limited luma pattern; phase correlation after a scale search) is
described in pattern.py and detect.py; its cost and what it survives are measured in BENCHMARKS.md.
"""

from .detect import Detection, detect
from .identity import installation_id, this_installation
from .mark import Marker
from .pattern import Payload

__all__ = ["Detection", "Marker", "Payload", "detect", "installation_id", "this_installation"]
