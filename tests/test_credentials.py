"""Content credentials: `facecast render` signs its MP4 with this installation's key, `facecast verify` checks
the manifest, and a changed or unsigned file is reported as such."""

from __future__ import annotations

import json
import os
import shutil
import stat
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

from facecast.runtime.cli import main
from facecast.runtime.engine.provenance import installation_id
from facecast.runtime.engine.provenance.credentials import (DIGITAL_SOURCE_TYPE, add_credentials, can_carry,
                                                            read_credentials)
from facecast.runtime.engine.provenance.identity import facecast_version
from facecast.runtime.engine.provenance.signing_key import KEY_FILE, own_root, signing_key

ROOT = Path(__file__).resolve().parent.parent
PORTRAIT = ROOT / "runtime/assets/portrait.png"
SPEECH = ROOT / "runtime/assets/sample_speech.wav"
FACECAST = Path(sys.executable).parent / "facecast"

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")


def _render(tmp: Path, config: Path, name: str, *extra: str) -> Path:
    audio = tmp / "short.wav"
    if not audio.exists():
        samples, rate = sf.read(SPEECH)
        sf.write(audio, samples[: int(1.5 * rate)], rate)
    out = tmp / name
    env = {**os.environ, "FACECAST_CONFIG_DIR": str(config)}
    done = subprocess.run([str(FACECAST), "render", "--image", str(PORTRAIT), "--audio", str(audio), "--out", str(out),
                           "--cache-dir", str(tmp / "cache"), *extra], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"signed {name}: content credentials" in done.stdout
    return out


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """(mp4, config folder): a 1.5 s render by an installation whose config lives in a temporary folder."""
    tmp = tmp_path_factory.mktemp("render")
    config = tmp / "config"
    return _render(tmp, config, "talk.mp4"), config


@pytest.fixture
def verify_json(capsys, monkeypatch):
    def run(path: Path, config: Path) -> tuple[int, dict]:
        monkeypatch.setenv("FACECAST_CONFIG_DIR", str(config))
        code = main(["verify", str(path), "--json"])
        return code, json.loads(capsys.readouterr().out)
    return run


def _mdat_span(data: bytes) -> tuple[int, int]:
    """(start, end) of the payload of the top-level mdat box of an ISO BMFF file."""
    pos = 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", data[pos + 8:pos + 16])[0], 16
        elif size == 0:
            size = len(data) - pos
        if kind == b"mdat":
            return pos + header, pos + size
        pos += size
    raise AssertionError("no mdat box")


@needs_ffmpeg
def test_rendered_mp4_carries_valid_signed_facecast_credentials(rendered):
    mp4, config = rendered
    cred = read_credentials(mp4, own_root(config))
    assert cred.present and cred.valid and cred.signature_valid and cred.content_unchanged, cred
    assert cred.failures == [] and cred.state == "Trusted" and cred.signed_here
    assert cred.claim_generator == f"facecast {facecast_version()}"
    assert cred.digital_source_type == DIGITAL_SOURCE_TYPE
    assert DIGITAL_SOURCE_TYPE.endswith("/trainedAlgorithmicMedia")
    assert cred.installation_id == installation_id(config) and cred.invisible_watermark is True
    assert stat.S_IMODE((config / KEY_FILE).stat().st_mode) == 0o600
    # without this installation's root the same file is still valid, but nothing says where it was signed
    elsewhere = read_credentials(mp4)
    assert elsewhere.valid and not elsewhere.signed_here and elsewhere.state == "Valid"


@needs_ffmpeg
def test_verify_reports_the_credentials_and_what_they_prove(rendered, verify_json, tmp_path, capsys, monkeypatch):
    mp4, config = rendered
    code, report = verify_json(mp4, config)
    assert code == 0 and report["present"]  # the invisible mark
    cred = report["credentials"]
    assert cred["present"] and cred["valid"] and cred["signed_here"]
    assert cred["claim_generator"].startswith("facecast ") and "not who the person is" in cred["note"]
    code, report = verify_json(mp4, tmp_path / "another-installation")
    assert code == 0 and report["credentials"]["valid"] and not report["credentials"]["signed_here"]
    assert not (tmp_path / "another-installation").exists()  # verify never makes a key
    monkeypatch.setenv("FACECAST_CONFIG_DIR", str(config))
    assert main(["verify", str(mp4)]) == 0
    text = capsys.readouterr().out
    assert "content credentials PRESENT, signature VALID" in text and "THIS installation's key" in text
    assert "not who the person is" in text


@needs_ffmpeg
def test_a_changed_video_is_reported_invalid(rendered, verify_json, tmp_path):
    mp4, config = rendered
    data = bytearray(mp4.read_bytes())
    start, end = _mdat_span(bytes(data))
    for at in range(start + (end - start) // 3, end, (end - start) // 7):
        data[at] ^= 0x5A  # a few bytes of coded video and audio, the manifest untouched
    changed = tmp_path / "changed.mp4"
    changed.write_bytes(bytes(data))
    code, report = verify_json(changed, config)
    cred = report["credentials"]
    assert cred["present"] and not cred["valid"] and not cred["content_unchanged"]
    assert any("mismatch" in f for f in cred["failures"]), cred["failures"]
    assert cred["note"] is None


@needs_ffmpeg
def test_an_unsigned_mp4_has_no_credentials(verify_json, tmp_path):
    plain = tmp_path / "plain.mp4"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=256x256:rate=30", "-t", "1",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(plain)], check=True)
    code, report = verify_json(plain, tmp_path / "config")
    assert code == 1 and not report["present"]
    assert report["credentials"]["present"] is False and report["credentials"]["valid"] is False


@needs_ffmpeg
def test_no_watermark_render_is_still_signed_and_says_it_is_unmarked(rendered, verify_json, tmp_path):
    _, config = rendered
    mp4 = _render(tmp_path, config, "unmarked.mp4", "--no-watermark")
    code, report = verify_json(mp4, config)
    assert not report["present"]  # no invisible mark in the pixels
    cred = report["credentials"]
    # the exit status is the mark's alone (as documented); the credentials still say facecast made it, unmarked
    assert code == 1 and cred["valid"] and cred["invisible_watermark"] is False


def test_signing_key_is_made_once_private_and_replaced_when_unusable(tmp_path):
    first = signing_key(tmp_path, "a1b2c3")
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600
    assert signing_key(tmp_path, "a1b2c3") == first and own_root(tmp_path) == first.root_pem
    assert first.chain_pem.count(b"BEGIN CERTIFICATE") == 2 and b"PRIVATE KEY" not in first.chain_pem
    os.chmod(tmp_path / KEY_FILE, 0o644)
    assert signing_key(tmp_path, "a1b2c3") == first
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600  # tightened again on read
    other = signing_key(tmp_path, "d4e5f6")  # installation.json was replaced: the key follows the new id
    assert other.key_pem != first.key_pem and other.installation_id == "d4e5f6"
    (tmp_path / KEY_FILE).write_bytes(b"damaged")
    assert signing_key(tmp_path, "d4e5f6").key_pem not in (first.key_pem, other.key_pem)
    assert own_root(tmp_path / "none") is None and not (tmp_path / "none").exists()


def test_outputs_that_cannot_carry_credentials_say_so(tmp_path):
    from facecast.runtime.engine.provenance import Payload

    assert can_carry(Path("a.mp4")) and can_carry(Path("b.MOV")) and not can_carry(Path("c.webm"))
    note = add_credentials(tmp_path / "clip.webm", tmp_path, Payload("a1b2c3", "0.1.0"), watermarked=True)
    assert "no content credentials" in note and not (tmp_path / KEY_FILE).exists()


@needs_ffmpeg
@pytest.mark.skipif(subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0
                    if shutil.which("unshare") else True, reason="needs unshare -n (root) to cut the network")
def test_signing_and_reading_work_without_a_network(tmp_path):
    """Sign a video and read it back in a process with no network interface but loopback."""
    script = ("import sys; from pathlib import Path; "
              "from facecast.runtime.engine.provenance import Payload; "
              "from facecast.runtime.engine.provenance.credentials import add_credentials, read_credentials; "
              "from facecast.runtime.engine.provenance.signing_key import own_root; "
              "p = Path(sys.argv[1]); c = Path(sys.argv[2]); "
              "add_credentials(p, c, Payload('a1b2c3', '0.1.0'), True); "
              "r = read_credentials(p, own_root(c)); print(r.valid, r.signed_here)")
    plain = tmp_path / "offline.mp4"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=128x128:rate=10", "-t", "1",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(plain)], check=True)
    done = subprocess.run(["unshare", "-n", sys.executable, "-c", script, str(plain), str(tmp_path / "cfg")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["True", "True"]


def _first_run(folder: str) -> tuple[str, bytes]:
    ident = installation_id(Path(folder))
    return ident, signing_key(Path(folder), ident).key_pem


def test_first_runs_at_once_agree_on_one_id_and_one_key(tmp_path):
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(4) as pool:
        made = pool.map(_first_run, [str(tmp_path)] * 8)
    assert len(set(made)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["installation.json", KEY_FILE]  # no temporary files left
