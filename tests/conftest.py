"""Suite-wide guard: no test writes into the real user's config folder (installation id, signing key)."""

import os
import tempfile


def pytest_configure(config):
    # set before any test runs, so child processes (facecast render, run) inherit it too
    if not os.environ.get("FACECAST_CONFIG_DIR"):
        os.environ["FACECAST_CONFIG_DIR"] = tempfile.mkdtemp(prefix="facecast-test-config-")


def pytest_unconfigure(config):
    path = os.environ.get("FACECAST_CONFIG_DIR", "")
    if os.path.basename(path).startswith("facecast-test-config-"):
        import shutil

        shutil.rmtree(path, ignore_errors=True)
