"""Oversized bodies answer 413 with a page in the visitor's language, before any form reads them."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from vestibule.audit.models import Event

pytestmark = pytest.mark.django_db
ONE_MB = "a" * 1024 * 1024


def test_a_1_mb_field_answers_413_in_french_before_the_form_reads_it():
    response = Client().post("/login/", {"identifier": ONE_MB, "password": "x"})
    assert response.status_code == 413
    page = response.content.decode()
    assert '<html lang="fr">' in page
    assert "Requête trop volumineuse" in page
    assert "raccourcissez votre saisie" in page
    assert 'data-testid="language-en"' in page  # the layout, with its language switch
    assert not Event.objects.exists()  # no sign-in attempt was made of it


def test_a_1_mb_field_answers_413_in_english(english_client):
    response = english_client.post("/flow/recovery/", {"identifier": ONE_MB})
    assert response.status_code == 413
    page = response.content.decode()
    assert '<html lang="en">' in page
    assert "Request too large" in page and "shorten what you typed" in page
    assert 'data-testid="language-fr"' in page


def test_the_language_switch_of_the_413_page_works():
    client = Client(enforce_csrf_checks=True)
    page = client.post("/login/", {"identifier": ONE_MB}).content.decode()
    token = page.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    switched = client.post("/language/", {"language": "en", "csrfmiddlewaretoken": token})
    assert switched.status_code == 302


def test_too_many_fields_answer_413():
    fields = {f"field{n}": "x" for n in range(1001)}
    response = Client().post("/login/", fields)
    assert response.status_code == 413
    assert "Requête trop volumineuse" in response.content.decode()


def test_a_large_file_attached_to_a_form_answers_413_unread():
    attached = SimpleUploadedFile("big.bin", b"0" * 200_000)
    response = Client().post("/login/", {"identifier": "marie@example.org", "file": attached})
    assert response.status_code == 413


def test_an_ordinary_form_is_not_refused():
    response = Client().post("/login/", {"identifier": "marie@example.org", "password": "x" * 64})
    assert response.status_code == 200
    assert "Requête trop volumineuse" not in response.content.decode()
