"""Walking a flow with Django's test client, as a browser would."""

import re

from django.test import Client

from vestibule.notifications.models import Message

# The physician fixture's security answers (tests/flows/conftest.py).
ANSWERS = {"first_school": "École Saint-Joseph", "first_pet": "Filou", "birth_city": "Québec"}
LINK = re.compile(r"https?://[^/\s]+(/flow/[\w-]+/resume/[\w-]+/)")


def start(client: Client, name: str):
    return client.get(f"/flow/{name}/start/", follow=True)


def answer(client: Client, name: str, **fields: str):
    """Post `fields` as the answer to the stage the flow is at."""
    state = client.session[f"flow:{name}"]
    data = {"flow_id": state["id"], "stage_index": str(state["index"]), **fields}
    return client.post(f"/flow/{name}/", data)


def stage_index(client: Client, name: str) -> int:
    return client.session[f"flow:{name}"]["index"]


def last_link(to: str, template: str) -> str:
    """The path of the link in the newest `template` e-mail to `to`, from the outbox."""
    message = Message.objects.filter(to=to, template=template).latest("id")
    return LINK.search(message.text()).group(1)
