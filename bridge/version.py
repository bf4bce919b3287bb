"""The installed distribution's version, announced in `info` replies and carried by the provenance mark."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("facecast")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+src"
