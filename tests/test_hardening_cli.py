"""A careless command line gets one clear line and exit status 2, never a traceback."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys

import numpy as np
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


# -- file commands: every argument checked before any work, one line naming the fix ----------------------

def _in_process(capsys, *args: str) -> tuple[int, str]:
    """`facecast ARGS` in this process (no interpreter start per case); an exception fails the test."""
    from facecast.runtime.cli import main

    code = main(list(args))
    return code, capsys.readouterr().err.strip()


def _refused(capsys, *args: str, words: tuple[str, ...]) -> None:
    code, err = _in_process(capsys, *args)
    assert code == 2 and len(err.splitlines()) == 1, (code, err)
    for word in words:
        assert word in err, (word, err)


@pytest.fixture
def speech(tmp_path):
    """The bundled speech's first second, as a 16 kHz float WAV."""
    import soundfile as sf

    from facecast.runtime.engine.config import SAMPLE_SPEECH

    samples, rate_hz = sf.read(str(SAMPLE_SPEECH), dtype="float32", frames=16000)
    assert rate_hz == 16000
    path = tmp_path / "speech.wav"
    sf.write(str(path), samples, rate_hz, subtype="FLOAT")
    return path


@pytest.mark.parametrize("value", ["0", "-30", "nan", "inf", "121"])
def test_render_fps_out_of_range(capsys, tmp_path, speech, value):
    from facecast.runtime.engine.config import SAMPLE_PORTRAIT

    cache = tmp_path / "cache"
    _refused(capsys, "render", "--image", str(SAMPLE_PORTRAIT), "--audio", str(speech), "--out",
             str(tmp_path / "o.mp4"), "--cache-dir", str(cache), "--fps", value, words=("--fps", "1..120"))
    assert not cache.exists(), "refused before the portrait was prepared"


@pytest.mark.parametrize("value", ["0", "-1", "nan", "1001"])
def test_bake_motion_hz_out_of_range(capsys, tmp_path, speech, value):
    _refused(capsys, "bake", str(speech), "--out", str(tmp_path / "a.jsonl"), "--motion-hz", value,
             words=("--motion-hz", "1..1000"))
    assert not (tmp_path / "a.jsonl").exists()


def test_crop_scale_zero(capsys, tmp_path, speech):
    from facecast.runtime.engine.config import SAMPLE_PORTRAIT

    _refused(capsys, "prepare", str(SAMPLE_PORTRAIT), "-o", str(tmp_path / "a.fca"), "--crop-scale", "0",
             words=("crop scale 0", "2.3"))
    _refused(capsys, "render", "--image", str(SAMPLE_PORTRAIT), "--audio", str(speech), "--out",
             str(tmp_path / "o.mp4"), "--no-cache", "--crop-scale", "0", words=("crop scale 0", "2.3"))


def test_outputs_that_cannot_be_written_are_refused_before_any_work(capsys, tmp_path, speech):
    from facecast.runtime.engine.config import SAMPLE_PORTRAIT

    folder = tmp_path / "out"
    folder.mkdir()
    plain = tmp_path / "plain.txt"
    plain.write_text("a file, not a folder")
    cache = tmp_path / "cache"
    for out, words in ((folder, ("is a folder", str(folder / "out.mp4"))),
                       (plain / "o.mp4", ("plain.txt is a file, not a folder",))):
        _refused(capsys, "render", "--image", str(SAMPLE_PORTRAIT), "--audio", str(speech), "--out", str(out),
                 "--cache-dir", str(cache), words=("--out", *words))
        _refused(capsys, "render", "--image", str(SAMPLE_PORTRAIT), "--sheet", str(out), "--cache-dir", str(cache),
                 words=("--sheet",))
    assert not cache.exists(), "refused before the portrait was prepared"
    _refused(capsys, "bake", str(speech), "--out", str(folder), words=("is a folder", str(folder / "anim.jsonl")))
    _refused(capsys, "bake", str(speech), "--out", str(plain / "a.jsonl"), words=("is a file, not a folder",))
    _refused(capsys, "prepare", str(SAMPLE_PORTRAIT), "-o", str(folder), words=("is a folder", "avatar.fca"))
    _refused(capsys, "prepare", str(SAMPLE_PORTRAIT), "-o", str(plain / "a.fca"), words=("is a file, not a folder",))
    if os.geteuid() != 0:  # root writes anywhere: the folder's permissions would not stop it
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        _refused(capsys, "bake", str(speech), "--out", str(locked / "a.jsonl"), words=("cannot write in",))
    assert list(folder.iterdir()) == [] and plain.read_text() == "a file, not a folder"


def test_missing_audio_says_no_such_file(capsys, tmp_path):
    from facecast.runtime.engine.config import SAMPLE_PORTRAIT

    missing = tmp_path / "missing.wav"
    words = (f"no such file: {missing}",)
    _refused(capsys, "render", "--image", str(SAMPLE_PORTRAIT), "--audio", str(missing), "--out",
             str(tmp_path / "o.mp4"), words=words)
    _refused(capsys, "bake", str(missing), "--out", str(tmp_path / "a.jsonl"), words=words)
    _refused(capsys, "run", *RUN, "--audio", str(missing), "--pub", "tcp://127.0.0.1:0",
             "--control", "tcp://127.0.0.1:0", words=words)


def test_audio_shorter_than_one_frame_is_refused(capsys, tmp_path):
    import soundfile as sf

    from facecast.runtime.engine.config import SAMPLE_PORTRAIT

    one = tmp_path / "one.wav"
    sf.write(str(one), np.zeros(1, np.float32), 16000)
    out = tmp_path / "o.mp4"
    _refused(capsys, "render", "--image", str(SAMPLE_PORTRAIT), "--audio", str(one), "--out", str(out),
             words=("shorter than one frame at --fps 30", "longer recording"))
    _refused(capsys, "bake", str(one), "--out", str(tmp_path / "a.jsonl"), words=("shorter than one frame",))
    assert not out.exists() and not (tmp_path / "a.jsonl").exists()
    # one frame's worth is enough: a single frame, not an empty file
    sf.write(str(one), np.zeros(16000 // 60 + 1, np.float32), 16000)
    code, _ = _in_process(capsys, "bake", str(one), "--out", str(tmp_path / "a.jsonl"), "--lips", "energy")
    assert code == 0 and len((tmp_path / "a.jsonl").read_text().splitlines()) == 1


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg binary (apt-get install ffmpeg)")
def test_nan_audio_renders_as_it_bakes(capsys, tmp_path, speech):
    import soundfile as sf

    from facecast.runtime.engine.config import SAMPLE_PORTRAIT

    samples, _ = sf.read(str(speech), dtype="float32")
    samples[4000:4400] = np.nan
    samples[9000] = np.inf
    bad = tmp_path / "nan.wav"
    sf.write(str(bad), samples, 16000, subtype="FLOAT")
    code, err = _in_process(capsys, "bake", str(bad), "--out", str(tmp_path / "a.jsonl"), "--lips", "energy")
    assert code == 0, err
    out = tmp_path / "o.mp4"
    code, err = _in_process(capsys, "render", "--image", str(SAMPLE_PORTRAIT), "--audio", str(bad), "--out",
                            str(out), "--fps", "10", "--size", "128", "--lips", "energy",
                            "--cache-dir", str(tmp_path / "cache"))
    assert code == 0, err
    pcm = subprocess.run(["ffmpeg", "-v", "error", "-i", str(out), "-map", "0:a", "-f", "f32le", "-ac", "1",
                          "-ar", "16000", "-"], capture_output=True, check=True).stdout
    heard = np.frombuffer(pcm, np.float32)
    assert abs(len(heard) / 16000 - 1.0) < 0.1, "the whole second is muxed"
    assert np.isfinite(heard).all() and np.abs(heard).max() > 0.05, "the speech, its NaN samples silent"
