"""Who may connect: loopback by default, CURVE keys or an explicit --insecure for anything wider.

Key folder layout made by `facecast keys DIR` (ZeroMQ certificate files, zmq.auth format):
  DIR/server.key            server public key   -> copy to every client
  DIR/server.key_secret     server secret key   -> stays with the runtime
  DIR/client.key            client public key   (also copied to DIR/authorized/)
  DIR/client.key_secret     client secret key   -> copy to the client machine
  DIR/authorized/*.key      public keys of clients the runtime accepts
"""

from __future__ import annotations

import ipaddress
import shutil
import sys
from pathlib import Path
from urllib.parse import urlsplit

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator


class InsecureBindError(RuntimeError):
    """Binding beyond loopback without keys and without --insecure."""


def endpoint_host(endpoint: str) -> str | None:
    """tcp://HOST:PORT -> HOST; None for ipc:// and inproc:// (machine-local by nature)."""
    if not endpoint.startswith("tcp://"):
        return None
    host = urlsplit(endpoint).hostname
    return host or "*"


def is_local(endpoint: str) -> bool:
    """True when only processes on this machine can reach `endpoint`."""
    host = endpoint_host(endpoint)
    if host is None:
        return True
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # "*", an interface name or a hostname: reachable from outside


def check_bind(endpoint: str, keys_dir: str | Path | None, insecure: bool) -> None:
    """Refuse a non-loopback bind unless CURVE keys are given or `insecure` was chosen (warns)."""
    if is_local(endpoint) or keys_dir:
        return
    if not insecure:
        raise InsecureBindError(
            f"refusing to bind {endpoint}: it is reachable from other machines. Make keys with "
            f"`facecast keys DIR` and pass --keys DIR (clients then need DIR/server.key and a client key), "
            f"or pass --insecure to accept unauthenticated, unencrypted connections"
        )
    print(f"WARNING: {endpoint} is open to the network without authentication or encryption (--insecure)",
          file=sys.stderr)


def make_keys(keys_dir: str | Path) -> Path:
    """Create a server and a client key pair in `keys_dir`; authorize the client. Returns the folder."""
    keys_dir = Path(keys_dir)
    keys_dir.mkdir(parents=True, exist_ok=True)
    zmq.auth.create_certificates(keys_dir, "server")
    client_public, _ = zmq.auth.create_certificates(keys_dir, "client")
    authorized = keys_dir / "authorized"
    authorized.mkdir(exist_ok=True)
    shutil.copy(client_public, authorized / "client.key")
    for secret in keys_dir.glob("*.key_secret"):
        secret.chmod(0o600)
    return keys_dir


class CurveServer:
    """Makes server sockets demand CURVE with an allow-list of client keys (one authenticator per context)."""

    def __init__(self, ctx: zmq.Context, keys_dir: str | Path):
        self.keys_dir = Path(keys_dir)
        secret_file = self.keys_dir / "server.key_secret"
        if not secret_file.exists():
            raise FileNotFoundError(f"{secret_file} not found; create keys with `facecast keys {self.keys_dir}`")
        self.public, self.secret = zmq.auth.load_certificate(secret_file)
        self._auth = ThreadAuthenticator(ctx)
        self._auth.start()
        self._auth.configure_curve(domain="*", location=str(self.keys_dir / "authorized"))

    def apply(self, sock: zmq.Socket) -> None:
        sock.curve_secretkey = self.secret
        sock.curve_publickey = self.public
        sock.curve_server = True

    def stop(self) -> None:
        self._auth.stop()


def apply_curve_client(sock: zmq.Socket, keys_dir: str | Path) -> None:
    """Configure a client socket from a folder holding server.key and client.key_secret."""
    keys_dir = Path(keys_dir)
    server_public, _ = zmq.auth.load_certificate(keys_dir / "server.key")
    public, secret = zmq.auth.load_certificate(keys_dir / "client.key_secret")
    sock.curve_serverkey = server_public
    sock.curve_publickey = public
    sock.curve_secretkey = secret
