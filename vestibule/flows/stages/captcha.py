"""captcha: five digits drawn on the server, as an image (and audio); one try per image."""

import secrets
import string
from pathlib import Path
from typing import Any

from captcha.audio import AudioCaptcha
from captcha.image import ImageCaptcha
from django import forms
from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from vestibule.audit.services import event_record
from vestibule.flows.engine import Stage, stage
from vestibule.throttle import counters

DIGITS = 5
# Each image is answered once. Parallel posts of one session all read the same image from
# the session before any saves a new one: the try is spent on a counter, atomically.
TRIES_PER_IMAGE = counters.Rate(limit=1, period=3600)
# The package draws pale random colours (down to 1.4:1); WCAG 1.4.3 asks 4.5:1 of text in an
# image. The page's text colour on white: 16.6:1. The distortion and noise stay the obstacle.
INK = (0x1B, 0x1F, 0x24, 255)
PAPER = (0xFF, 0xFF, 0xFF)


class DarkInkCaptcha(ImageCaptcha):
    """The package masks each glyph by its grey level (lookup_table: 1.97 × the level), so
    dark ink is pasted at under a quarter of its strength: #1b1f24 came out as a 1.6:1 grey.
    Here every drawn pixel of a glyph is pasted whole; its transparent surround (0) is not."""

    lookup_table = [0] + [255] * 255


# The package speaks English digits only; captcha_voices/<language>/<digit>/ holds the others
# (French made with espeak-ng, 8 kHz 8-bit mono like the package's own).
VOICES = Path(__file__).resolve().parent.parent / "captcha_voices"


def voices_for(language: str) -> str | None:
    """The folder of spoken digits in `language`; None: the package's English voice."""
    folder = VOICES / language
    return str(folder) if folder.is_dir() else None


class CaptchaForm(forms.Form):
    # Optional here: « Nouvelle image » posts the form empty; submit() checks the answer.
    answer = forms.CharField(
        label=_("Copy the five digits of the image"),
        max_length=DIGITS,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )


@stage("captcha")
class Captcha(Stage):
    template = "flows/captcha.html"

    def arrive(self) -> None:
        self.challenge_new()

    def challenge_new(self) -> None:
        fixed = "" if settings.PRODUCTION else settings.VESTIBULE_CAPTCHA_FIXED_ANSWER
        self.data["captcha"] = fixed or "".join(
            secrets.choice(string.digits) for _ in range(DIGITS)
        )
        self.data["captcha_nonce"] = secrets.token_urlsafe(6)
        self.run.save()

    def get_form(self, data: Any = None, files: Any = None) -> forms.Form:
        if "captcha" not in self.data:
            self.challenge_new()
        return CaptchaForm(data)

    def context(self) -> dict[str, Any]:
        return {"nonce": self.data.get("captcha_nonce", "")}

    def submit(self, form: forms.Form | None) -> HttpResponse | None:
        assert form is not None
        if "refresh" in self.request.POST:
            self.challenge_new()
            return HttpResponseRedirect(reverse("flows:flow", args=[self.run.name]))
        answer = form.cleaned_data["answer"].strip()
        expected = self.data.get("captcha", "")
        nonce = self.data.get("captcha_nonce", "")
        first_try = bool(answer) and (
            counters.hit("captcha_tries", nonce, TRIES_PER_IMAGE) <= TRIES_PER_IMAGE.limit
        )
        self.challenge_new()  # one try per image, right or wrong
        # The new image wants new digits: the field is shown empty again.
        form.data = form.data.copy()
        form.data["answer"] = ""
        if not answer:
            form.add_error("answer", _("This field is required."))
        elif not (first_try and expected and constant_time_compare(answer, expected)):
            if first_try:
                event_record("recovery.captcha_failed", request=self.request, image=nonce)
            form.add_error("answer", _("These are not the digits of the image. Try this new one."))
        return None

    def asset(self, what: str) -> HttpResponse | None:
        answer = self.data.get("captcha")
        if not answer:
            return None
        if what == "image":
            image = DarkInkCaptcha(width=220, height=80)
            png = image.generate(answer, bg_color=PAPER, fg_color=INK).getvalue()
            return HttpResponse(png, content_type="image/png")
        if what == "audio":
            audio = AudioCaptcha(voicedir=voices_for(get_language() or ""))
            return HttpResponse(bytes(audio.generate(answer)), content_type="audio/wav")
        return None
