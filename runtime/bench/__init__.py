"""Benchmarks behind `facecast bench`: each module measures one stage against the budget in
DESIGN.md ("Performance budget") and returns a JSON-ready dict; none of them asserts."""

import os
import platform


def machine_info() -> dict:
    """What a figure was measured on; `loadavg` tells whether the machine was quiet."""
    import numpy as np
    import zmq

    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:  # not on Windows
        load = None
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "pyzmq": zmq.__version__,
        "libzmq": zmq.zmq_version(),
        "numpy": np.__version__,
        "loadavg": load,
    }
