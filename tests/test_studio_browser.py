"""facecast studio in a real browser: headless Chromium (Debian's chromium + chromium-driver, via selenium), its
microphone a WAV of speech then silence, against `facecast studio` in its own process.

What the page shows is judged from its pixels with the face-mesh model (workshop.face.check), as a viewer
would: the mouth opens with speech and rests in silence, the head-yaw slider turns the head, and the OBS
view is transparent outside the person. Nothing here is timed; waits are for conditions, with generous
deadlines.
"""

from __future__ import annotations

import base64
import io
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

selenium = pytest.importorskip("selenium", reason="the dev extra installs selenium")

from facecast.runtime.workshop.bench.studio import (CHROMEDRIVER, CHROMIUM, chromium, console_errors,  # noqa: E402
                                                    speech_then_silence_wav, start_microphone, studio_process)

pytestmark = pytest.mark.skipif(not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)),
                                reason="needs Debian's chromium and chromium-driver (./facecast.sh test installs them)")

SPEECH_S, SILENCE_S = 4.0, 4.0
FPS = 15  # the renderer and the browser share this machine's cores with the test's own measuring


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    wav = speech_then_silence_wav(tmp_path_factory.mktemp("mic") / "speech_then_silence.wav", SPEECH_S, SILENCE_S)
    with studio_process("--fps", str(FPS)) as (proc, url), chromium(fake_audio=wav) as driver:
        yield url, driver


def _wait(driver, script: str, timeout_s: float = 30.0, what: str = ""):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what or script}; console: {console_errors(driver)}")


def _grab(driver) -> tuple[np.ndarray, dict]:
    """The canvas as drawn now (RGBA) and the header of the frame on it."""
    data_url, header = driver.execute_script(
        "const c = document.getElementById('face'); return [c.toDataURL('image/png'), window.facecast.view.last];")
    rgba = np.asarray(Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1]))).convert("RGBA"))
    return rgba, header


def _landmarks(rgb: np.ndarray):
    from facecast.runtime.workshop.face.check import measure

    return measure(np.ascontiguousarray(rgb[..., :3]))


def _next_frame(driver, after_seq: int) -> None:
    _wait(driver, f"const l = window.facecast.view.last; return l && l.seq > {after_seq};", 10, "a new frame")


def test_page_loads_without_console_errors_and_shows_frames(studio):
    url, driver = studio
    driver.get(url)
    _wait(driver, "return window.facecast && window.facecast.view.framesShown >= 3", what="frames on the page")
    _wait(driver, "return document.querySelectorAll('#steer input[type=range]').length >= 5",
          what="the steering controls built from the runtime's info")
    # what the page shows carries the provenance mark (the runtime marks before any encoder)
    from facecast.runtime.engine.provenance import detect

    assert detect([np.ascontiguousarray(_grab(driver)[0][..., :3])]).present
    health = _wait(driver, "const t = document.getElementById('health').textContent;"
                           "return t.includes('runtime: motion') && t", what="the health line")
    assert "fps" in health and "dropped" in health and "→ frame p50" in health, health
    assert console_errors(driver) == []


def test_mouth_moves_with_the_browser_microphone_and_rests_in_silence(studio):
    url, driver = studio
    start_microphone(driver, url)
    samples: list[tuple[np.ndarray, dict]] = []
    seq = -1
    deadline = time.monotonic() + 2.2 * (SPEECH_S + SILENCE_S)  # two passes of the looping WAV
    while time.monotonic() < deadline:
        _next_frame(driver, seq)
        rgba, header = _grab(driver)
        seq = header["seq"]
        if "level" in header:
            samples.append((rgba, header))
    assert console_errors(driver) == []
    # the face measures come after the capture, so they do not take the renderer's CPU while it runs
    silent = [s for s in samples if s[1]["level"] < 1e-4]        # the WAV's digital silence, +-0.15 s around
    speech = [s for s in samples if s[1]["level"] > 0.05]
    assert len(silent) >= 8 and len(speech) >= 8, (len(silent), len(speech), len(samples))
    from facecast.runtime.workshop.face.check import lip_gap

    gap_silent = np.array([lip_gap(_landmarks(rgba)) for rgba, _ in silent])
    gap_speech = np.array([lip_gap(_landmarks(rgba)) for rgba, _ in speech])
    rest = float(np.median(gap_silent))
    # in silence the mouth stays at rest (the portrait's own lips), frame after frame
    assert np.percentile(gap_silent, 90) <= rest + 0.02, (rest, gap_silent.round(3))
    # with speech it opens: most frames well past the rest gap, some wide open
    assert np.mean(gap_speech > rest + 0.04) >= 0.5, (rest, gap_speech.round(3))
    assert gap_speech.max() >= rest + 0.1, (rest, gap_speech.round(3))


def test_a_recorded_clip_has_the_picture_and_the_microphones_audio(studio, tmp_path):
    import subprocess

    url, driver = studio
    if not driver.execute_script("const l = window.facecast && window.facecast.view.last;"
                                 "return !!(l && l.capture_ms !== undefined)"):
        start_microphone(driver, url)
    driver.find_element("id", "rec-start").click()
    shown = driver.execute_script("return window.facecast.view.framesShown")
    _wait(driver, f"return window.facecast.view.framesShown >= {shown + 30}", what="30 frames while recording")
    driver.find_element("id", "rec-stop").click()
    name = _wait(driver, "const a = document.getElementById('rec-link'); return !a.hidden && a.download",
                 what="the download link")
    assert name in ("facecast-clip.mp4", "facecast-clip.webm")
    data = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch(document.getElementById('rec-link').href).then((r) => r.blob()).then((b) => {
          const reader = new FileReader();
          // the type may hold a comma (codecs=avc1,mp4a.40.2): cut at ';base64,'
          reader.onload = () => done(reader.result.slice(reader.result.indexOf(';base64,') + 8));
          reader.readAsDataURL(b);
        });""")
    clip = tmp_path / name
    clip.write_bytes(base64.b64decode(data))
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0",
                            str(clip)], capture_output=True, text=True, check=True)
    assert sorted(probe.stdout.split()) == ["audio", "video"], probe.stdout


def test_head_yaw_slider_turns_the_head(studio):
    from facecast.runtime.workshop.face.check import head_angles

    url, driver = studio
    if driver.current_url.split("?")[0] != url.split("?")[0]:
        driver.get(url)
    _wait(driver, "return !!document.getElementById('set_head-yaw_deg')", what="the head yaw slider")

    def set_yaw(deg: float) -> None:
        driver.execute_script("const s = document.getElementById('set_head-yaw_deg'); s.value = arguments[0];"
                              "s.dispatchEvent(new Event('input'));", deg)
        time.sleep(1.5)  # the command's blend (0.3 s) and a few frames: waiting for motion, not asserting a time

    def yaw_now(neutral) -> float:
        estimates = []
        for _ in range(4):
            _next_frame(driver, driver.execute_script("return window.facecast.view.last.seq"))
            estimates.append(head_angles(neutral, _landmarks(_grab(driver)[0]))[1])
        return float(np.median(estimates))

    set_yaw(0.0)
    neutral = _landmarks(_grab(driver)[0])
    assert abs(yaw_now(neutral)) < 8.0  # the voice's own head motion is small
    set_yaw(30.0)
    turned = yaw_now(neutral)
    set_yaw(-30.0)
    turned_back = yaw_now(neutral)
    set_yaw(0.0)
    assert turned >= 12.0 and turned_back <= -12.0, (turned, turned_back)


def test_several_tabs_view_at_once_and_a_closed_tab_costs_nothing(studio):
    url, driver = studio
    driver.get(url)
    _wait(driver, "return window.facecast && window.facecast.view.framesShown >= 3", what="frames in the first tab")
    first = driver.current_window_handle
    shown_before = driver.execute_script("return window.facecast.view.framesShown")
    driver.switch_to.new_window("tab")
    driver.get(url)
    _wait(driver, "return window.facecast && window.facecast.view.framesShown >= 3", what="frames in a second tab")
    pages_open = """const done = arguments[arguments.length - 1];
                    fetch('/api/info').then((r) => r.json()).then((i) => done(i.pages_open));"""
    assert driver.execute_async_script(pages_open) == 2
    driver.close()
    driver.switch_to.window(first)
    _wait(driver, f"return window.facecast.view.framesShown >= {shown_before + 10}",
          what="the first tab still receiving frames after the second closed")
    deadline = time.monotonic() + 30
    while driver.execute_async_script(pages_open) != 1:  # the closed tab's sender and queue are gone
        assert time.monotonic() < deadline, "the closed tab is still counted"
        time.sleep(0.2)
    assert console_errors(driver) == []


def test_obs_view_is_transparent_outside_the_person_and_opaque_on_the_face(studio):
    url, driver = studio
    first = driver.current_window_handle
    driver.switch_to.new_window("tab")
    try:
        driver.set_window_size(800, 600)  # wider than tall: the face is letterboxed (object-fit: contain)
        driver.get(url.split("?")[0] + "obs")
        _wait(driver, "return window.facecast && window.facecast.view.framesShown >= 3", what="frames in /obs")
        # the page's own pixels, composited over nothing (what OBS's Browser Source does)
        driver.execute_cdp_cmd("Emulation.setDefaultBackgroundColorOverride",
                               {"color": {"r": 0, "g": 0, "b": 0, "a": 0}})
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
        rgba = np.asarray(Image.open(io.BytesIO(base64.b64decode(shot["data"]))).convert("RGBA"))
        canvas_rgba, _ = _grab(driver)
        assert console_errors(driver) == []
    finally:
        driver.close()
        driver.switch_to.window(first)
    h, w = rgba.shape[:2]
    alpha = rgba[..., 3]
    # the letterbox bars and the frame's top corners (beside the head, above the shoulders) show nothing
    assert alpha[:, : w // 10].max() == 0 and alpha[:, -(w // 10):].max() == 0
    side = h  # the square frame fills the height, centred
    x0 = (w - side) // 2
    assert alpha[: side // 10, x0: x0 + side // 10].max() == 0
    assert alpha[: side // 10, x0 + side - side // 10: x0 + side].max() == 0
    # the face (found by the landmark model on the canvas itself) is fully opaque
    lm = _landmarks(canvas_rgba)
    scale = side / canvas_rgba.shape[0]
    for point in (1, 13, 159, 386):  # nose tip, upper lip, both eyes
        x, y = lm[point, :2] * scale
        assert alpha[int(y), x0 + int(x)] == 255, point
    # and a good part of the picture is the person
    assert (alpha[:, x0: x0 + side] == 255).mean() > 0.2


def test_an_audio_file_played_in_the_page_drives_the_face(studio, tmp_path):
    url, driver = studio
    driver.get(url)  # a fresh page: its microphone is not running
    wav = speech_then_silence_wav(tmp_path / "played.wav", speech_s=3.0, silence_s=0.5)
    driver.find_element("id", "audio-file").send_keys(str(wav))
    # frames showing the file's speech, mapped back to this page's audio, arrive
    _wait(driver, "const l = window.facecast.view.last; return !!(l && l.level > 0.05)", 30,
          "a frame showing the played file's speech")
    assert not driver.find_element("id", "audio-stop").get_attribute("disabled")
    driver.find_element("id", "audio-stop").click()
    assert console_errors(driver) == []


def _portrait_lost_in_a_big_picture(path: Path) -> tuple[int, int, int, int]:
    """The bundled portrait in the corner of a 1024x1024 grey picture, too small for the face detector.
    Returns the face's box (x, y, w, h) in the big picture."""
    from facecast.runtime.engine.avatar.landmarks import default_analyzer
    from facecast.runtime.engine.config import SAMPLE_PORTRAIT

    portrait = Image.open(SAMPLE_PORTRAIT).convert("RGB")
    big = Image.new("RGB", (1024, 1024), (200, 200, 200))
    offset = 1024 - portrait.width - 40
    big.paste(portrait, (offset, offset))
    big.save(path)
    assert not default_analyzer().detect_faces(np.asarray(big)), "the test picture must defeat the detector"
    bx, by, bw, bh = default_analyzer().detect_faces(np.asarray(portrait))[0].box
    return int(bx + offset), int(by + offset), int(bw), int(bh)


def test_a_face_the_detector_misses_is_placed_by_hand(studio, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains

    url, driver = studio
    driver.get(url)
    x, y, w, h = _portrait_lost_in_a_big_picture(tmp_path / "lost.png")
    driver.find_element("id", "portrait-file").send_keys(str(tmp_path / "lost.png"))
    _wait(driver, "return !document.getElementById('facebox').hidden", 60, "the hand-placed face box offer")
    error = driver.find_element("id", "portrait-error").text
    assert "face" in error and "by hand" in error, error
    canvas = driver.find_element("id", "facebox-canvas")
    _wait(driver, "return document.getElementById('facebox-img').complete", what="the picture to draw on")
    rect = driver.execute_script("return arguments[0].getBoundingClientRect().toJSON()", canvas)
    scale = rect["width"] / 1024

    def offset(px: float, py: float) -> tuple[int, int]:  # selenium offsets are from the element's centre
        return round(px * scale - rect["width"] / 2), round(py * scale - rect["height"] / 2)

    ActionChains(driver).move_to_element_with_offset(canvas, *offset(x, y)).click_and_hold() \
        .move_to_element_with_offset(canvas, *offset(x + w, y + h)).release().perform()
    use = driver.find_element("id", "facebox-use")
    assert use.is_enabled()
    use.click()
    _wait(driver, "return document.getElementById('prepare').hidden && document.getElementById('facebox').hidden",
          120, "the portrait prepared from the hand-placed box")
    assert driver.find_element("id", "portrait-error").text == ""
    seq = driver.execute_script("return window.facecast.view.last.seq")
    _next_frame(driver, seq + 3)
    _landmarks(_grab(driver)[0])  # the new avatar is on the page, and it has a face
    # the first upload's refusal (422, no face) is the browser's only complaint
    assert [e for e in console_errors(driver) if "status of 422" not in e] == []
