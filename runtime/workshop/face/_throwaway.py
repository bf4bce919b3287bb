"""Run a script in a throwaway virtual environment, so conversion-time and reference-only packages
(tflite2onnx, ai-edge-litert, mediapipe) never enter the project venv.

The venv lives under the system temp folder, keyed by a hash of its requirements, and is reused by
later runs with the same pins; deleting it costs only a reinstall.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path


def throwaway_python(requirements: list[str], no_deps: list[str] = ()) -> Path:
    """Return the python of a venv holding `requirements` (+ `no_deps`, installed with --no-deps)."""
    key = hashlib.sha256("\n".join([*requirements, "--no-deps", *no_deps]).encode()).hexdigest()[:12]
    root = Path(tempfile.gettempdir()) / f"facecast-venv-{key}"
    python = root / "bin" / "python"
    stamp = root / ".complete"
    if not stamp.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(root)], check=True)
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, *requirements], check=True)
        if no_deps:
            subprocess.run([*pip, "--no-deps", *no_deps], check=True)
        stamp.write_text("\n".join([*requirements, *no_deps]))
    return python


def rerun_in_throwaway(script: str, argv: list[str], requirements: list[str],
                       no_deps: list[str] = ()) -> int:
    """Run `script` (a file path) with `argv` under a throwaway venv's python; return its exit code."""
    python = throwaway_python(requirements, no_deps)
    return subprocess.run([str(python), script, *argv]).returncode
