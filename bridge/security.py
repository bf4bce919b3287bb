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
import os
import shutil
import sys
import tempfile
import threading
import time
import weakref
from pathlib import Path
from urllib.parse import urlsplit

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator


class InsecureBindError(RuntimeError):
    """Binding beyond loopback without keys and without --insecure."""


# Transports that never leave the machine. Others (tipc://, ws://, pgm://, ...) reach a network.
_LOCAL_TRANSPORTS = ("ipc://", "inproc://")


def endpoint_host(endpoint: str) -> str | None:
    """tcp://HOST:PORT -> HOST; None for other transports."""
    if not endpoint.startswith("tcp://"):
        return None
    host = urlsplit(endpoint).hostname
    return host or "*"


def is_local(endpoint: str) -> bool:
    """True when only processes on this machine can reach `endpoint`."""
    if endpoint.startswith(_LOCAL_TRANSPORTS):
        return True
    host = endpoint_host(endpoint)
    if host is None:
        return False  # tipc:// (cluster-wide), ws://, pgm:// ...: not provably machine-local
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # "*", an interface name or a hostname: reachable from outside


_OTHER_TRANSPORTS = ("tipc", "ws", "wss", "pgm", "epgm", "vmci", "udp", "norm")


class BadEndpoint(ValueError):
    """Not a ZeroMQ endpoint this runtime can use; the message shows the forms that work."""


def check_endpoint(endpoint: str) -> str:
    """`endpoint` if it is tcp://HOST:PORT (PORT 0..65535 or *; an IPv6 HOST in brackets), ipc://PATH or
    inproc://NAME; else BadEndpoint. libzmq itself would take port 99999 as another port, or fail
    with a bare "Invalid argument"."""
    hint = "use tcp://127.0.0.1:5555, tcp://[::1]:5555 or ipc:///tmp/facecast.sock"
    if endpoint.startswith(("ipc://", "inproc://")):
        if len(endpoint.split("://", 1)[1]) == 0:
            raise BadEndpoint(f"endpoint {endpoint!r} names no path; {hint}")
        return endpoint
    if endpoint.split("://", 1)[0] in _OTHER_TRANSPORTS and endpoint.split("://", 1)[1]:
        return endpoint  # libzmq checks their addresses; check_bind treats them as reaching the network
    if not endpoint.startswith("tcp://"):
        raise BadEndpoint(f"{endpoint!r} is not an endpoint; {hint}")
    rest = endpoint[len("tcp://"):]
    host, sep, port = rest.rpartition(":")
    if not sep or not host or (":" in host and not (host.startswith("[") and host.endswith("]"))):
        raise BadEndpoint(f"endpoint {endpoint!r} needs HOST:PORT (an IPv6 address in brackets); {hint}")
    if port != "*" and not (port.isdigit() and int(port) <= 65535):
        raise BadEndpoint(f"endpoint {endpoint!r}: port {port!r} is not 0..65535 (0 or * picks a free one)")
    return endpoint


def prepare_socket(sock: zmq.Socket, endpoint: str) -> None:
    """Check `endpoint` (BadEndpoint) and let `sock` speak IPv6 when it names an IPv6 host."""
    check_endpoint(endpoint)
    host = endpoint_host(endpoint)
    if host is not None and ":" in host:
        sock.ipv6 = True


def check_bind(endpoint: str, keys_dir: str | Path | None, insecure: bool) -> None:
    """Refuse a malformed endpoint (BadEndpoint), and a non-loopback bind unless CURVE keys are given or
    `insecure` was chosen (warns)."""
    check_endpoint(endpoint)
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


class KeysExist(FileExistsError):
    """make_keys on a folder that already holds a server key: replacing it would lock every client out."""


def make_keys(keys_dir: str | Path, replace: bool = False) -> Path:
    """Create a server and a client key pair in `keys_dir`; authorize the client. Returns the folder.

    The pairs are written into a fresh private (0700) folder and moved in, so no secret key is ever
    readable by other users, not even for a moment. An existing server key is kept (KeysExist) unless
    `replace`: new server keys lock out every client that has the old server.key."""
    keys_dir = Path(keys_dir)
    if (keys_dir / "server.key_secret").exists() and not replace:
        raise KeysExist(f"{keys_dir} already holds server keys; clients hold its server.key and would lose access "
                        f"if it were replaced. Use another folder, or --force to replace them")
    keys_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".facecast-keys-", dir=keys_dir))  # mode 0700
    try:
        zmq.auth.create_certificates(staging, "server")
        client_public, _ = zmq.auth.create_certificates(staging, "client")
        for secret in staging.glob("*.key_secret"):
            secret.chmod(0o600)
        authorized = keys_dir / "authorized"
        authorized.mkdir(exist_ok=True)
        shutil.copy(client_public, authorized / "client.key")
        for item in staging.iterdir():
            os.replace(item, keys_dir / item.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return keys_dir


class CurveServer:
    """Makes server sockets demand CURVE with an allow-list of client keys.

    ZeroMQ allows one authenticator per context (it binds inproc://zeromq.zap.01), so the
    CurveServers of one context share it: a Publisher and a ControlServer both given keys_dir
    on the default context work; the last stop() ends the authenticator.
    """

    # ctx -> [ThreadAuthenticator, authorized folder, users]; weak keys: a dead context's entry must not
    # be found again by a new context that happens to reuse its id()
    _shared: "weakref.WeakKeyDictionary[zmq.Context, list]" = weakref.WeakKeyDictionary()
    _shared_lock = threading.Lock()

    def __init__(self, ctx: zmq.Context, keys_dir: str | Path):
        self.keys_dir = Path(keys_dir)
        secret_file = self.keys_dir / "server.key_secret"
        if not secret_file.exists():
            raise FileNotFoundError(f"{secret_file} not found; create keys with `facecast keys {self.keys_dir}`")
        self.public, self.secret = zmq.auth.load_certificate(secret_file)
        self._ctx = ctx
        authorized = str((self.keys_dir / "authorized").resolve())
        with self._shared_lock:
            entry = self._shared.get(ctx)
            if entry is None:
                auth = _start_authenticator(ctx)
                auth.configure_curve(domain="*", location=authorized)
                entry = self._shared[ctx] = [auth, authorized, 0]
            elif entry[1] != authorized:
                raise ValueError(f"this ZeroMQ context already authorizes clients from {entry[1]}; "
                                 f"use the same keys folder or another context for {self.keys_dir}")
            entry[2] += 1
        self._stopped = False

    def apply(self, sock: zmq.Socket) -> None:
        sock.curve_secretkey = self.secret
        sock.curve_publickey = self.public
        sock.curve_server = True

    def stop(self) -> None:
        with self._shared_lock:
            if self._stopped:
                return
            self._stopped = True
            entry = self._shared[self._ctx]
            entry[2] -= 1
            if entry[2] == 0:
                del self._shared[self._ctx]
                entry[0].stop()


def _start_authenticator(ctx: zmq.Context) -> ThreadAuthenticator:
    """Start the context's ZAP handler. A just-stopped one may still hold inproc://zeromq.zap.01 for a
    moment (socket close is asynchronous in libzmq): retry briefly instead of failing."""
    deadline = time.monotonic() + 2.0
    while True:
        auth = ThreadAuthenticator(ctx)
        try:
            auth.start()
            return auth
        except zmq.ZMQError as exc:
            if exc.errno != zmq.EADDRINUSE or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def apply_curve_client(sock: zmq.Socket, keys_dir: str | Path) -> None:
    """Configure a client socket from a folder holding server.key and client.key_secret."""
    keys_dir = Path(keys_dir)
    server_public, _ = zmq.auth.load_certificate(keys_dir / "server.key")
    public, secret = zmq.auth.load_certificate(keys_dir / "client.key_secret")
    sock.curve_serverkey = server_public
    sock.curve_publickey = public
    sock.curve_secretkey = secret
