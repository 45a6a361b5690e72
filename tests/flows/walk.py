"""Walking a flow with Django's test client, as a browser would."""

import re

from django.conf import settings
from django.test import Client

from vestibule.notifications.models import Message

# The physician fixture's security answers (tests/flows/conftest.py).
ANSWERS = {"first_school": "École Saint-Joseph", "first_pet": "Filou", "birth_city": "Québec"}
LINK = re.compile(r"https?://[^/\s]+(/flow/[\w-]+/resume/[\w-]+/)")
HIDDEN = re.compile(r'name="(flow_id|stage_index)" value="([^"]*)"')


def start(client: Client, name: str):
    return client.get(f"/flow/{name}/start/", follow=True)


def flow_state(client: Client, name: str) -> dict:
    """The flow's state as the server keeps it; before its first answer nothing is kept yet,
    and the page's hidden fields give the run's id and its first stage."""
    # The test client's `session` stores an empty session when the browser has none.
    if settings.SESSION_COOKIE_NAME in client.cookies:
        kept = client.session.get(f"flow:{name}")
        if kept:
            return kept
    shown = dict(HIDDEN.findall(client.get(f"/flow/{name}/").content.decode()))
    return {"id": shown["flow_id"], "index": int(shown["stage_index"]), "data": {}}


def answer(client: Client, name: str, **fields: str):
    """Post `fields` as the answer to the stage the flow is at."""
    current = flow_state(client, name)
    data = {"flow_id": current["id"], "stage_index": str(current["index"]), **fields}
    return client.post(f"/flow/{name}/", data)


def stage_index(client: Client, name: str) -> int:
    return flow_state(client, name)["index"]


def last_link(to: str, template: str) -> str:
    """The path of the link in the newest `template` e-mail to `to`, from the outbox."""
    message = Message.objects.filter(to=to, template=template).latest("id")
    return LINK.search(message.text()).group(1)
