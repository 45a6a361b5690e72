"""The stage engine: a flow is the ordered list of stages its profile names.

A flow's state lives server-side in the session under "flow:<name>", as JSON: its id,
the index of the current stage, an expiry and the stages' data. The browser only ever
names the stage it answers (flow id and index, in hidden fields); an answer to any other
stage is ignored, so a stage can be neither skipped nor replayed.
"""

import re
import secrets
import time
from collections.abc import Callable
from typing import Any, ClassVar

from django import forms
from django.http import HttpRequest, HttpResponse

from vestibule.config import Flow, get_profile

STAGES: dict[str, type["Stage"]] = {}
FLOW_ID = re.compile(r"[A-Za-z0-9_-]{16}")  # secrets.token_urlsafe(12)
# Flows every profile has, unless it declares its own stages for them.
DEFAULT_FLOWS = {
    # After the password: enrolment when a factor is required and none exists, else the factor.
    "sign_in": Flow(stages=("enrol_factor", "second_factor"), lifetime_minutes=10),
}
# Flows only the server starts, with what it already knows (FlowRun.begin): the sign-in
# flow carries an account whose password was checked (accounts.sessions.sign_in_hand_off),
# which no browser can claim.
SERVER_STARTED = frozenset({"sign_in"})


def stage(name: str) -> Callable[[type["Stage"]], type["Stage"]]:
    """Register a stage class under the name profiles use."""

    def register(cls: type["Stage"]) -> type["Stage"]:
        cls.name = name
        STAGES[name] = cls
        return cls

    return register


class FlowExpired(Exception):
    pass


class Stage:
    """One step of a flow: the form it shows, and what a valid answer does.

    `submit` returns None to move on to the next stage (stage_ok), or a response to show
    instead; it adds errors to the form to show it again (challenge_invalid).
    A stage that e-mails a link sets `link_purpose`; opening the link calls `resume`. The
    link is spent when opened, unless `link_spent_on_open` is False: then a later stage
    spends it (link_spend) when its work is done, as Django's password reset does, so that a
    mail scanner opening the link first does not burn it.
    """

    name: ClassVar[str] = ""
    template: ClassVar[str] = "flows/stage.html"
    link_purpose: ClassVar[str] = ""
    link_spent_on_open: ClassVar[bool] = True
    # A stage that waits for its e-mailed link takes no answer from the page.
    accepts_post: ClassVar[bool] = True

    def __init__(self, run: "FlowRun", arg: str) -> None:
        self.run = run
        self.arg = arg
        self.request = run.request

    @property
    def data(self) -> dict[str, Any]:
        return self.run.data

    def get_form(self, data: Any = None, files: Any = None) -> forms.Form | None:
        return None

    def context(self) -> dict[str, Any]:
        return {}

    def applies(self) -> bool:
        """False: the flow passes this stage by (enrolment for a member who has a factor)."""
        return True

    def arrive(self) -> None:
        """Called once, when the flow reaches this stage (e.g. to send its e-mail)."""

    def submit(self, form: forms.Form | None) -> HttpResponse | None:
        return None

    def asset(self, what: str) -> HttpResponse | None:
        """A file the stage's page shows (e.g. the captcha's image), or None."""
        return None

    def resume(self, payload: dict[str, Any]) -> HttpResponse | None:
        """The link this stage sent was opened; `payload` is what the stage stored in it."""
        return None


class FlowRun:
    """The running flow `name` of one browser session."""

    def __init__(self, request: HttpRequest, name: str, state: dict[str, Any]) -> None:
        self.request = request
        self.name = name
        self.state = state

    @staticmethod
    def session_key(name: str) -> str:
        return f"flow:{name}"

    @classmethod
    def definition(cls, name: str) -> Flow | None:
        return get_profile().flows.get(name) or DEFAULT_FLOWS.get(name)

    @classmethod
    def begin(cls, request: HttpRequest, name: str, data: dict[str, Any]) -> "FlowRun":
        """A run the server starts with `data` (JSON), saved at its first stage that applies."""
        run = cls.start(request, name)
        run.state["data"] = data
        run.state["index"] = -1
        run.advance()
        if not run.finished:
            run.stage.arrive()
        return run

    @classmethod
    def start(cls, request: HttpRequest, name: str, flow_id: str = "") -> "FlowRun":
        """A new run at the first stage, not saved: a visitor who only looks at the page
        costs no session. It is saved when its first stage is answered; that answer names
        the id its page showed (`flow_id`), which the run takes."""
        flow = cls.definition(name)
        assert flow is not None
        state = {
            "id": flow_id if FLOW_ID.fullmatch(flow_id) else secrets.token_urlsafe(12),
            "index": 0,
            "expires": time.time() + flow.lifetime_minutes * 60,
            "data": {},
        }
        return cls(request, name, state)

    @classmethod
    def load(cls, request: HttpRequest, name: str) -> "FlowRun | None":
        """The flow in progress, or None; raises FlowExpired when it outlived its lifetime."""
        state = request.session.get(cls.session_key(name))
        if not state:
            return None
        if state["expires"] < time.time():
            del request.session[cls.session_key(name)]
            raise FlowExpired
        return cls(request, name, state)

    @classmethod
    def from_payload(cls, request: HttpRequest, name: str, payload: dict[str, Any]) -> "FlowRun":
        """Resume a flow from the state an e-mailed link carried, in this browser."""
        flow = cls.definition(name)
        assert flow is not None
        state = {
            "id": secrets.token_urlsafe(12),
            "index": payload["index"],
            "expires": time.time() + flow.lifetime_minutes * 60,
            "data": payload["data"],
        }
        run = cls(request, name, state)
        run.save()
        return run

    @property
    def stage_names(self) -> tuple[str, ...]:
        flow = self.definition(self.name)
        return flow.stages if flow else ()

    @property
    def id(self) -> str:
        return self.state["id"]

    @property
    def index(self) -> int:
        return self.state["index"]

    @property
    def data(self) -> dict[str, Any]:
        return self.state["data"]

    @property
    def finished(self) -> bool:
        return self.index >= len(self.stage_names)

    def stage_at(self, index: int) -> Stage:
        name, _, arg = self.stage_names[index].partition(":")
        return STAGES[name](self, arg)

    @property
    def stage(self) -> Stage:
        return self.stage_at(self.index)

    def payload(self) -> dict[str, Any]:
        """What a link stage stores: the state to resume at the current stage."""
        return {"index": self.index, "data": dict(self.data)}

    def advance(self) -> None:
        self.state["index"] += 1
        while not self.finished and not self.stage.applies():
            self.state["index"] += 1
        self.save()

    def save(self) -> None:
        self.request.session[self.session_key(self.name)] = self.state
        self.request.session.modified = True

    def end(self) -> None:
        self.request.session.pop(self.session_key(self.name), None)


def stage_names_check(flows: dict[str, Flow]) -> list[str]:
    """Stage names a profile uses that no module registers."""
    unknown = []
    for flow_name, flow in flows.items():
        for entry in flow.stages:
            if entry.partition(":")[0] not in STAGES:
                unknown.append(f"flows.{flow_name}.stages: unknown stage {entry!r}")
    return unknown


def link_stage(flow: Flow) -> type["Stage"] | None:
    """The stage whose e-mailed link resumes the flow (None if none): its URL accepts only that."""
    for entry in flow.stages:
        stage_class = STAGES[entry.partition(":")[0]]
        if stage_class.link_purpose:
            return stage_class
    return None
