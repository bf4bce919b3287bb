"""The studio's web server without a browser: what it refuses (sizes, non-images, other origins, other hosts,
unknown files, commands beyond steering, binding beyond loopback) and what it forwards to the runtime."""

from __future__ import annotations

import asyncio
import io
import struct
import threading

import aiohttp
import numpy as np
import pytest
from PIL import Image

from facecast.bridge.security import InsecureBindError, make_keys
from facecast.bridge.studio import Studio
from facecast.bridge.studio.access import Access
from facecast.bridge.studio.server import MAX_WS_MESSAGE_BYTES
from facecast.bridge.studio.upload import MAX_UPLOAD_BYTES, crop_to_face_box, validate_image
from facecast.runtime.engine.config import RuntimeConfig
from facecast.runtime.engine.pipeline import Runtime


@pytest.fixture(scope="module")
def runtime():
    """A push-audio runtime without frames (fast to start); its sockets on free loopback ports."""
    rt = Runtime(RuntimeConfig(audio_source="push", audio_path=None, pub_endpoint="tcp://127.0.0.1:0",
                               control_endpoint="tcp://127.0.0.1:0", lips="energy", status_line=False))
    thread = threading.Thread(target=rt.run, daemon=True)
    thread.start()
    yield rt
    rt.stop()
    thread.join(timeout=10)


def _serve(runtime, scenario, host="127.0.0.1", access=None):
    """Run `scenario(session, base_url)` against a studio served on a free port."""
    async def main():
        studio = Studio(runtime.publisher.endpoint, runtime.control.endpoint, access=access)
        url = await studio.start(host, 0)
        base = url.split("?")[0]
        try:
            # unsafe: keep cookies from an IP-address host, as browsers do
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
                return await scenario(session, base)
        finally:
            await studio.stop()
    return asyncio.run(main())


def _png(w=128, h=128) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (120, 90, 60)).save(buf, format="PNG")
    return buf.getvalue()


def test_validate_image_accepts_portraits_and_names_what_is_wrong_with_the_rest():
    assert validate_image(_png()) == ("PNG", 128, 128)
    for data, words in ((b"", "empty"), (b"GIF89a" + bytes(100), "not a JPEG"), (_png(32, 32), "64 pixels"),
                        (_png()[:60], "damaged"), (b"x" * (MAX_UPLOAD_BYTES + 1), "limit")):
        with pytest.raises(ValueError, match=words):
            validate_image(data)


def test_a_hand_placed_face_box_cuts_a_square_around_it_on_the_image():
    buf = io.BytesIO()
    im = Image.new("RGB", (1000, 600), (0, 0, 0))
    im.paste((255, 0, 0), (600, 200, 700, 300))  # the "face": 100x100 at (600, 200)
    im.save(buf, format="JPEG", quality=95)
    cut = Image.open(io.BytesIO(crop_to_face_box(buf.getvalue(), "600,200,100,100")))
    assert cut.size == (250, 250)
    red = np.argwhere(np.asarray(cut)[..., 0] > 128)
    assert np.allclose(red.mean(0), (125, 125), atol=3)  # centred on the box
    edge = Image.open(io.BytesIO(crop_to_face_box(buf.getvalue(), "900,500,100,100")))
    assert edge.size == (250, 250)  # shifted to stay on the image, not padded
    for bad in ("1,2,3", "5000,10,100,100", "10,10,2,2", "a,b,c,d"):
        with pytest.raises(ValueError, match="face box"):
            crop_to_face_box(buf.getvalue(), bad)


def test_uploads_are_bounded_and_validated_before_the_runtime_sees_them(runtime):
    async def scenario(http, base):
        out = {}
        async with http.post(base + "api/avatar", data=b"not an image") as r:
            out["garbage"] = r.status, (await r.json())["code"]
        async with http.post(base + "api/avatar", data=b"\0" * (MAX_UPLOAD_BYTES + 1)) as r:
            out["huge"] = r.status
        async with http.post(base + "api/avatar?session=../etc", data=_png()) as r:
            out["bad_session"] = r.status
        async with http.post(base + "api/avatar", data=_png()) as r:  # valid, but this runtime renders nothing
            out["frameless"] = r.status, (await r.json())["code"]
        return out

    out = _serve(runtime, scenario)
    assert out["garbage"] == (400, "bad_image")
    assert out["huge"] == 413
    assert out["bad_session"] == 400
    assert out["frameless"] == (422, "unsupported")


def test_other_origins_hosts_and_file_names_are_refused(runtime):
    async def scenario(http, base):
        out = {}
        async with http.post(base + "api/avatar", data=_png(), headers={"Origin": "http://evil.example"}) as r:
            out["cross_origin_upload"] = r.status
        try:
            async with http.ws_connect(base + "ws", headers={"Origin": "http://evil.example"}):
                out["cross_origin_ws"] = "open"
        except aiohttp.WSServerHandshakeError as exc:
            out["cross_origin_ws"] = exc.status
        async with http.get(base, headers={"Host": "rebound.example:80"}) as r:
            out["other_host"] = r.status
        for name in ("..%2Fserver.py", "server.py", "%2e%2e/hub.py"):
            async with http.get(base + "static/" + name) as r:
                out.setdefault("files", []).append(r.status)
        async with http.get(base + "obs") as r:
            out["obs"] = r.status, "canvas" in await r.text()
        return out

    out = _serve(runtime, scenario)
    assert out["cross_origin_upload"] == 403
    assert out["cross_origin_ws"] == 403
    assert out["other_host"] == 421
    assert all(status == 404 for status in out["files"]), out["files"]
    assert out["obs"] == (200, True)


def test_the_page_steers_with_the_control_sockets_commands_and_nothing_else(runtime):
    async def scenario(http, base):
        replies = {}
        async with http.get(base + "api/info") as r:
            info = await r.json()
        async with http.ws_connect(base + "ws?session=default") as ws:
            for i, (cmd, args) in enumerate((("set_head", {"yaw_deg": 20.0}), ("set_head", {"yaw_deg": 500.0}),
                                             ("remove_session", {}), ("create_session", {"session": "x"}),
                                             ("pause", {"timeout_s": 600}), ("set_head", {"payload": "x"}))):
                await ws.send_json({"type": "cmd", "id": i, "cmd": cmd, "args": args})
                while True:
                    msg = await ws.receive_json(timeout=10)
                    if msg["type"] == "reply" and msg["id"] == i:
                        replies[i] = msg
                        break
        return info, replies

    info, replies = _serve(runtime, scenario)
    assert set(info["commands"]) == {"set_emotion", "set_gaze", "set_head", "pause", "resume"}
    assert info["commands"]["set_head"]["yaw_deg"]["hi"] == 90.0  # the runtime's own ranges
    assert replies[0]["ok"] and replies[0]["result"]["session"] == "default"
    assert not replies[1]["ok"] and replies[1]["code"] == "bad_args"  # one validator: the runtime's
    assert replies[2]["code"] == replies[3]["code"] == "unsupported"
    assert replies[4]["code"] == replies[5]["code"] == "bad_args"  # names of the client call, not of the command
    assert [s["session"] for s in runtime._sessions_info()] == ["default"]


def test_beyond_loopback_needs_keys_or_insecure_and_keys_need_the_token(runtime, tmp_path):
    with pytest.raises(InsecureBindError):
        Access().check("0.0.0.0")
    Access(insecure=True).check("0.0.0.0")  # allowed, with a warning
    keys = make_keys(tmp_path / "keys")
    access = Access(keys)

    async def scenario(http, base):
        async with http.get(base) as r:
            without = r.status
        async with http.get(base + f"?token={access.token}") as r:
            with_token = r.status
        async with http.get(base + "api/info") as r:  # the cookie set by the first good request
            cookie = r.status
        return without, with_token, cookie

    assert _serve(runtime, scenario, access=access) == (401, 200, 200)


def test_facecast_studio_refuses_to_serve_beyond_loopback_without_keys_or_insecure(capsys):
    from facecast.runtime.cli import main

    assert main(["studio", "--host", "0.0.0.0", "--port", "0", "--pub", "tcp://127.0.0.1:0",
                 "--control", "tcp://127.0.0.1:0"]) == 2
    err = capsys.readouterr().err
    assert "--keys" in err and "--insecure" in err, err


def test_garbage_on_the_websocket_gets_an_error_reply_or_a_closed_socket_never_a_dead_server(runtime):
    async def scenario(http, base):
        out = {}
        async with http.ws_connect(base + "ws") as ws:
            for text in ("not json", "[1, 2]", '{"type": "launch"}'):
                await ws.send_str(text)
                while (msg := await ws.receive_json(timeout=10))["type"] != "reply":
                    pass
                out.setdefault("replies", []).append(msg["code"])
            await ws.send_bytes(b"\x00" * 7)                            # too short for an audio header
            await ws.send_bytes(struct.pack("<dI", 0.0, 1) + bytes(8))  # a 1 Hz sample rate
            await ws.send_bytes(struct.pack("<dI", float("nan"), 16000) + bytes(8))  # no capture time
            await ws.send_json({"type": "cmd", "id": 9, "cmd": "pause", "args": {}})
            while not ((msg := await ws.receive_json(timeout=10))["type"] == "reply" and msg["id"] == 9):
                pass
            out["after_bad_audio"] = msg["ok"]
            await ws.send_json({"type": "cmd", "id": 10, "cmd": "resume", "args": {}})
        async with http.ws_connect(base + "ws") as ws:
            await ws.send_bytes(bytes(MAX_WS_MESSAGE_BYTES + 1))
            closing = await ws.receive(timeout=10)
            out["oversize"] = closing.type, ws.close_code
        async with http.get(base + "api/info") as r:
            out["still_serving"] = r.status
        return out

    out = _serve(runtime, scenario)
    assert out["replies"] == ["bad_message", "bad_message", "bad_message"]
    assert out["after_bad_audio"] is True
    assert out["oversize"] == (aiohttp.WSMsgType.CLOSE, 1009)  # "message too big"
    assert out["still_serving"] == 200
