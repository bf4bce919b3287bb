"""Who may use the studio: the same rules as the runtime's sockets (bridge.security), for HTTP.

- Loopback by default. Binding beyond it needs keys (`--keys DIR`, as for `run`) or `--insecure` (warns).
- With keys, every request carries a token derived from the key folder's server secret (`?token=` on the
  first page load, then a cookie): whoever holds the keys can open the page, nobody else can.
- Always: the Host header must name this server (a web site cannot rebind its DNS name to 127.0.0.1 and
  read the page), and websockets and uploads must come from the page's own origin (browsers let any site
  open a websocket to 127.0.0.1; this is what stops one from steering or feeding the runtime).
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from facecast.bridge.security import InsecureBindError, check_bind, is_local

TOKEN_COOKIE = "facecast_studio"


def studio_token(keys_dir: str | Path) -> str:
    """The page token for a key folder: HMAC of a fixed label under the server's secret key file."""
    secret = (Path(keys_dir) / "server.key_secret").read_bytes()
    return hmac.new(secret, b"facecast studio page", hashlib.sha256).hexdigest()[:32]


class Access:
    """check(host, port) before binding; `middleware` enforces Host, Origin and the token per request."""

    def __init__(self, keys_dir: str | Path | None = None, insecure: bool = False):
        self.keys_dir = keys_dir
        self.insecure = insecure
        self.token = studio_token(keys_dir) if keys_dir else None
        self.hosts: set[str] = set()
        self.loopback = True

    def check(self, host: str) -> None:
        """Refuse (InsecureBindError) to serve beyond loopback without keys or --insecure."""
        shown = f"[{host}]" if ":" in host else host
        if not is_local(f"tcp://{shown}:0") and not self.keys_dir and not self.insecure:
            raise InsecureBindError(
                f"refusing to serve the studio on {host}: other machines could watch and steer it. Make keys "
                f"with `facecast keys DIR` and pass --keys DIR (the page then needs the token the studio prints), "
                f"or pass --insecure to let anyone on the network in")
        check_bind(f"tcp://{shown}:0", self.keys_dir, self.insecure)  # the same rules, and the same warning

    def bound(self, host: str, port: int) -> None:
        """Record the address served, for the Host check."""
        shown = f"[{host}]" if ":" in host else host
        self.loopback = is_local(f"tcp://{shown}:{port}")
        names = {shown, "localhost", "127.0.0.1", "[::1]"} if self.loopback else {shown}
        self.hosts = {f"{name}:{port}" for name in names} | ({shown} if port == 80 else set())

    def _host_ok(self, request: web.Request) -> bool:
        # beyond loopback the machine has names we cannot know; the token (or --insecure) decides there
        return not self.loopback or request.host in self.hosts

    @staticmethod
    def _same_origin(request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        if origin is None:
            return True  # not sent by a browser page (curl, the tests' own client)
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and parts.netloc == request.host

    @web.middleware
    async def middleware(self, request: web.Request, handler):
        if not self._host_ok(request):
            return web.Response(status=421, text=f"this studio answers to {sorted(self.hosts)}, "
                                                 f"not {request.host[:80]!r}")
        if (request.method != "GET" or request.path == "/ws") and not self._same_origin(request):
            return web.Response(status=403, text="cross-origin request refused: open the studio's own page")
        if self.token is not None:
            given = request.query.get("token") or request.cookies.get(TOKEN_COOKIE, "")
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                return web.Response(status=401, text="this studio needs its token: open the URL `facecast "
                                                     "studio` printed (…/?token=…)")
            response = await handler(request)
            if request.query.get("token") and isinstance(response, web.Response):
                response.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="Strict")
            return response
        return await handler(request)
