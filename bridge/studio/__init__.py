"""facecast studio: a web page to try the runtime, steer it live and put it in OBS (a Browser Source).

A client of the runtime like the other bridge adapters: frames and events come from the stream socket,
commands and pushed audio go to the control socket. server.Studio is the web server; static/ the page.
"""

from facecast.bridge.studio.server import Studio, serve_forever

__all__ = ["Studio", "serve_forever"]
