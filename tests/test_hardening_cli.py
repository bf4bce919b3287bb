"""A careless command line gets one clear line and exit status 2, never a traceback."""

from __future__ import annotations

import stat
import subprocess
import sys

import pytest
import zmq

from facecast.bridge.security import BadEndpoint, check_endpoint, make_keys

RUN = ["--lips", "energy", "--duration", "1"]


def _facecast(*args: str, timeout_s: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "facecast.runtime", *args], capture_output=True, text=True,
                          timeout=timeout_s)


def _one_clear_line(proc: subprocess.CompletedProcess, *words: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    for word in words:
        assert word in proc.stderr, (word, proc.stderr)


@pytest.mark.parametrize("endpoint, words", [("garbage", "not an endpoint"), ("tcp://127.0.0.1:99999", "0..65535"),
                                             ("tcp://127.0.0.1", "HOST:PORT"), ("tcp://::1:5555", "brackets")])
def test_bad_endpoints_are_named(endpoint, words):
    with pytest.raises(BadEndpoint, match=words.replace(".", r"\.")):
        check_endpoint(endpoint)


def test_good_endpoints_pass():
    for endpoint in ("tcp://127.0.0.1:0", "tcp://[::1]:5555", "tcp://*:5555", "ipc:///tmp/x.sock", "inproc://a"):
        assert check_endpoint(endpoint) == endpoint


def test_run_listen_ctl_with_bad_endpoints():
    _one_clear_line(_facecast("run", *RUN, "--pub", "garbage", "--control", "tcp://127.0.0.1:0"), "not an endpoint")
    _one_clear_line(_facecast("run", *RUN, "--pub", "tcp://127.0.0.1:99999", "--control", "tcp://127.0.0.1:0"),
                    "99999")
    _one_clear_line(_facecast("listen", "garbage", "--duration", "1"), "not an endpoint")
    _one_clear_line(_facecast("ctl", "ping", "--endpoint", "tcp://nohost"), "HOST:PORT")


def test_run_on_a_port_in_use():
    sock = zmq.Context.instance().socket(zmq.PUB)
    sock.linger = 0
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    try:
        _one_clear_line(_facecast("run", *RUN, "--pub", f"tcp://127.0.0.1:{port}", "--control", "tcp://127.0.0.1:0"),
                        "another `facecast run`")
    finally:
        sock.close()


def test_run_over_ipv6_loopback():
    probe = zmq.Context.instance().socket(zmq.PUB)
    probe.linger, probe.ipv6 = 0, True
    try:
        probe.bind_to_random_port("tcp://[::1]")
    except zmq.ZMQError:
        pytest.skip("no IPv6 loopback on this machine")
    finally:
        probe.close()
    proc = _facecast("run", *RUN, "--pub", "tcp://[::1]:0", "--control", "tcp://[::1]:0")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr


def test_keys_are_private_from_the_start_and_never_silently_replaced(tmp_path):
    folder = make_keys(tmp_path / "keys")
    for secret in folder.glob("*.key_secret"):
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert not [p for p in folder.iterdir() if p.name.startswith(".")], "no staging folder left behind"
    server_key = (folder / "server.key").read_bytes()
    proc = _facecast("keys", str(folder))
    _one_clear_line(proc, "already holds server keys", "--force")
    assert (folder / "server.key").read_bytes() == server_key, "the clients' server key still works"
    proc = _facecast("keys", str(folder), "--force")
    assert proc.returncode == 0 and "--bind-host" not in proc.stdout and "--pub tcp://0.0.0.0" in proc.stdout
    assert (folder / "server.key").read_bytes() != server_key
