"""facecast.runtime: the live engine (engine/), the `facecast` command line (cli/) and the model workshop (workshop/)."""

from facecast.bridge.version import __version__  # noqa: F401  (one version for the whole distribution)
