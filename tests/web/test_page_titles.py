"""WCAG 2.4.2: every page's title is its heading, and no two pages share a title.

Each profile's public and signed-in pages are visited in both languages with the test
client, and each flow is walked step by step as far as a member can go without an e-mail.
A page is its final address (a flow's steps are one page, /flow/<name>/); an error page is
its status, whatever address shows it (the blocked address's 429).
"""

import html
import re
from collections import defaultdict

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.establishments.helpers import ALL, hotel, member_of
from tests.factories import PASSWORD, make_account, make_member
from tests.flows.walk import ANSWERS, answer, flow_state
from vestibule.accounts.models import Account
from vestibule.accounts.security_questions import security_answers_set
from vestibule.config import PROFILES_DIR, get_profile
from vestibule.flows.engine import SERVER_STARTED
from vestibule.throttle import counters

pytestmark = pytest.mark.django_db

PROFILES = sorted(p.stem for p in PROFILES_DIR.glob("*.toml"))
TITLE = re.compile(r"<title>(.*?)</title>", re.S)
H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S)
TAG = re.compile(r"<[^>]+>")
CAPTCHA = "12345"
NEWCOMER = "luc@example.org"
BLOCKED_ADDRESS = "203.0.113.9"


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(TAG.sub("", fragment)).split())


def public_paths() -> list[str]:
    """Pages outside the flows (flow_steps walks those)."""
    profile = get_profile()
    paths = [
        reverse("web:landing"),
        reverse("accounts:login"),
        reverse("accounts:forgotten_identifier"),
        reverse("web:help"),
        reverse("web:privacy"),
        reverse("flows:activation_resend"),
        reverse("flows:resume", args=["recovery", "no-such-key"]),
        "/no-such-page/",
    ]
    if profile.access_rights:
        paths.append(reverse("establishments:invitation_open", args=["no-such-key"]))
    return paths


def signed_in_paths(colleague_pk: int | None) -> list[str]:
    profile = get_profile()
    paths = [
        reverse("web:home"),
        reverse("accounts:account"),
        reverse("accounts:password_change"),
        reverse("accounts:security_questions"),
        reverse("accounts:email_change"),
        reverse("accounts:email_change_link", args=["no-such-key"]),
        reverse("accounts:sessions"),
        reverse("privacy:index"),
        reverse("mfa:security"),
        reverse("mfa:totp_add"),
    ]
    if profile.regions:
        paths += [
            reverse("coverage:status"),
            reverse("coverage:resend"),
            reverse("coverage:family_invitation"),
        ]
    if profile.access_rights:
        paths += [
            reverse("establishments:users"),
            reverse("establishments:user_add"),
            reverse("establishments:user_add_new"),
            reverse("establishments:user_add_existing"),
            reverse("establishments:user_manage", args=[colleague_pk]),
            reverse("establishments:login_email"),
        ]
        paths += [reverse("establishments:section", args=[r.key]) for r in profile.access_rights]
    return paths


def stage_answers(member: Account) -> dict[str, dict[str, str]]:
    """What a member posts to pass each stage, by stage name; a stage missing here (an
    e-mailed link) is where a walk stops."""
    profile = get_profile()
    kind = next((k for k in profile.coded_kinds if k.self_registration), None)
    return {
        "identify": {"identifier": member.email, "email": member.email},
        "captcha": {"answer": CAPTCHA},
        "security_questions": ANSWERS,
        "confirm_masked_email": {"valid": "yes"},
        "sign_up": {
            "is_member": "on",
            "region": member.region,
            "email": NEWCOMER,
            "code": kind.code_example if kind else "",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
        },
        "define_security_questions": {
            **{f"question_{n}": key for n, key in enumerate(ANSWERS, start=1)},
            **{f"answer_{n}": text for n, text in enumerate(ANSWERS.values(), start=1)},
        },
    }


def flow_steps(client: Client, member: Account) -> list[tuple[str, str, str]]:
    """Every step of every flow the profile declares, walked with right answers."""
    answers = stage_answers(member)
    visits = []
    for name, flow in get_profile().flows.items():
        if name in SERVER_STARTED:
            continue
        client.get(reverse("flows:start", args=[name]))
        for _step in flow.stages:
            path = reverse("flows:flow", args=[name])
            visits.append(visit(client, path))
            stage_name = client.get(path).context["stage"].name
            if stage_name not in answers:
                break
            index = flow_state(client, name)["index"]
            answer(client, name, **answers[stage_name])
            if flow_state(client, name)["index"] == index:
                break
    return visits


def blocked_address_page(language: str) -> tuple[str, str, str]:
    """The 429 page an address sees once blocked after too many failures."""
    counters.block("address", BLOCKED_ADDRESS, 15 * 60)
    client = Client(REMOTE_ADDR=BLOCKED_ADDRESS)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    data = {"identifier": NEWCOMER, "password": PASSWORD}
    try:
        return visit(client, reverse("accounts:login"), data)
    finally:
        counters.clear(counters.blocks("address"), BLOCKED_ADDRESS)


def visit(client: Client, path: str, data: dict | None = None) -> tuple[str, str, str]:
    """(page, title without "Error:" and the organisation, h1) of the page `path` leads to."""
    if data is None:
        response = client.get(path, follow=True)
    else:
        response = client.post(path, data, follow=True)
    assert response["Content-Type"].startswith("text/html"), path
    page = response.content.decode()
    titles, headings = TITLE.findall(page), H1.findall(page)
    assert len(titles) == 1 and len(headings) == 1, f"{path}: {len(headings)} h1"
    title = text_of(titles[0])
    title = title.removeprefix("Error: ").removeprefix("Erreur : ")
    title = title.removesuffix(f" · {get_profile().organisation.name}")
    where = response.request["PATH_INFO"] if response.status_code == 200 else response.status_code
    return str(where), title, text_of(headings[0])


def check(visits: list[tuple[str, str, str]]) -> None:
    differing = [(where, title, h1) for where, title, h1 in visits if title != h1]
    assert not differing, "title ≠ h1: " + "; ".join(f"{w}: {t!r} ≠ {h!r}" for w, t, h in differing)
    pages_by_title = defaultdict(set)
    for where, title, _h1 in visits:
        pages_by_title[title].add(where)
    shared = {title: pages for title, pages in pages_by_title.items() if len(pages) > 1}
    assert not shared, f"titles shared by several pages: {shared}"


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("profile_name", PROFILES)
def test_every_page_title_is_its_heading_and_no_two_pages_share_one(
    use_profile, settings, profile_name, language
):
    use_profile(profile_name)
    settings.VESTIBULE_CAPTCHA_FIXED_ANSWER = CAPTCHA
    profile = get_profile()
    region = profile.regions[0].key if profile.regions else ""
    member = make_account(language=language, region=region)
    if profile.security_questions:
        security_answers_set(account=member, answers=ANSWERS)
    if profile.registration.mode == "registry":
        kind = next((k for k in profile.coded_kinds if k.self_registration), None)
        if kind is not None:
            make_member(kind=kind.key, code=kind.code_example, email=NEWCOMER)
    colleague_pk = None
    if profile.access_rights:
        place = hotel()
        member_of(place, member.email, [r.key for r in profile.access_rights])
        colleague_pk = member_of(place, "luc@example.org", ALL[:1], first_name="Luc").pk

    public = Client()
    public.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    visits = [visit(public, path) for path in public_paths()]
    # An error state: the title starts with “Error:”, the rest is still the heading.
    visits.append(visit(public, reverse("accounts:login"), {"identifier": "", "password": ""}))
    walker = Client()
    walker.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    visits += flow_steps(walker, member)
    visits.append(blocked_address_page(language))

    member_client = Client()
    member_client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    member_client.force_login(member)
    visits += [visit(member_client, path) for path in signed_in_paths(colleague_pk)]
    check(visits)


def test_a_title_that_differs_from_its_heading_is_caught():
    with pytest.raises(AssertionError, match="title ≠ h1"):
        check([("/", "Welcome", "Organisation")])


def test_two_pages_sharing_a_title_are_caught():
    with pytest.raises(AssertionError, match="shared"):
        check([("/a/", "Help", "Help"), ("/b/", "Help", "Help")])
