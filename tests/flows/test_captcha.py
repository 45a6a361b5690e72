"""The captcha's image is readable (WCAG 1.4.3: its digits at 4.5:1 or more against its
background), as the server sends it, and its audio alternative (WCAG 1.1.1) speaks the
page's language."""

import io
import wave
from collections import Counter
from pathlib import Path

import pytest
from django.test import Client
from PIL import Image

from tests.flows.walk import answer, start
from vestibule.contrast import TEXT_AA, contrast_ratio
from vestibule.flows.stages.captcha import voices_for

pytestmark = pytest.mark.django_db


def hex_of(rgb: tuple[int, ...]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb[:3])


def at_captcha(client: Client) -> None:
    start(client, "recovery")
    answer(client, "recovery", code="54321")


def test_the_captcha_digits_stand_out_from_their_background(physician):
    client = Client()
    at_captcha(client)
    # Random colours would pass now and then: every one of ten images must.
    for _ in range(10):
        answer(client, "recovery", refresh="1")  # « Nouvelle image »: new digits
        response = client.get("/flow/recovery/asset/image/")
        assert response["Content-Type"] == "image/png"
        pixels = Counter(Image.open(io.BytesIO(response.content)).convert("RGB").getdata())
        background = pixels.most_common(1)[0][0]
        # The digits, not only the noise dots drawn in the same ink (about 270 pixels): two
        # thousand pixels or more stand out at 4.5:1. Digits pasted pale (the package's
        # luminance mask) leave only the dots.
        standing_out = sum(
            count
            for colour, count in pixels.items()
            if contrast_ratio(hex_of(colour), hex_of(background)) >= TEXT_AA
        )
        assert standing_out >= 1500, f"{standing_out} pixels at 4.5:1 on {hex_of(background)}"


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_captcha_audio_is_a_sound_of_five_spoken_digits_in_either_language(physician, language):
    client = Client()
    client.cookies["vestibule_language"] = language
    at_captcha(client)
    response = client.get("/flow/recovery/asset/audio/")
    assert response["Content-Type"] == "audio/wav"
    with wave.open(io.BytesIO(response.content)) as sound:
        assert (sound.getnchannels(), sound.getframerate()) == (1, 8000)
        # Five digits, each followed by one to three seconds of pause.
        assert sound.getnframes() >= 5 * 8000


def digit_files(folder: str) -> list[Path]:
    return [next((Path(folder) / digit).glob("*.wav")) for digit in "0123456789"]


def test_french_digits_are_spoken_in_french():
    assert voices_for("fr") is not None
    assert [path.parent.name for path in digit_files(voices_for("fr"))] == list("0123456789")
    for path in digit_files(voices_for("fr")):
        with wave.open(str(path)) as sound:
            # The package mixes voices as raw 8 kHz 8-bit mono bytes: another format is noise.
            shape = (sound.getnchannels(), sound.getsampwidth(), sound.getframerate())
            assert shape == (1, 1, 8000)
            assert sound.getnframes() > 8000 // 2  # a spoken word, not a click
    assert voices_for("en") is None  # the package's own English voice
