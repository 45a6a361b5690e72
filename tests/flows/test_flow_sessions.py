"""Sessions: a visitor who only looks at a flow's page stores none; expired ones are purged."""

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from tests.factories import make_account
from tests.flows.walk import answer, stage_index, start
from vestibule.config import load_profile

pytestmark = pytest.mark.django_db
PROFILES = ["default", "community", "dentists", "physicians", "extranet", "telehealth"]


@pytest.fixture(autouse=True)
def database_sessions(settings):
    """The backend without Redis: one row per stored session."""
    settings.SESSION_ENGINE = "vestibule.accounts.session_engines.db"


@pytest.mark.parametrize("profile", PROFILES)
def test_looking_at_flow_start_pages_stores_no_session(use_profile, profile):
    use_profile(profile)
    flows = load_profile(profile).flows
    for name in flows:
        for _ in range(5):
            page = Client().get(f"/flow/{name}/start/", follow=True)
            assert page.status_code == 200
            assert 'name="flow_id"' in page.content.decode()
    assert Session.objects.count() == 0


def test_a_refused_first_answer_stores_no_session_and_an_accepted_one_does(use_profile):
    use_profile("community")
    make_account(email="member@example.org")
    client = Client()
    start(client, "recovery")
    refused = answer(client, "recovery", identifier="not an address")
    assert refused.status_code == 200 and Session.objects.count() == 0
    assert answer(client, "recovery", identifier="member@example.org").status_code == 302
    assert Session.objects.count() == 1
    assert stage_index(client, "recovery") == 1


def test_the_first_answer_takes_only_the_first_stage(use_profile):
    """With nothing stored yet, an answer naming a later stage is ignored, not obeyed."""
    use_profile("community")
    client = Client()
    start(client, "recovery")
    skipped = client.post(
        "/flow/recovery/",
        {"flow_id": "A" * 16, "stage_index": "2", "password": "x" * 20, "password_confirm": ""},
    )
    assert skipped.status_code == 302 and Session.objects.count() == 0


def test_the_send_mail_loop_purges_expired_sessions():
    now = timezone.now()
    Session.objects.create(session_key="e" * 32, session_data="", expire_date=now)
    Session.objects.create(
        session_key="a" * 32, session_data="", expire_date=now + timedelta(minutes=1)
    )
    call_command("send_mail", "--once")
    assert list(Session.objects.values_list("session_key", flat=True)) == ["a" * 32]
