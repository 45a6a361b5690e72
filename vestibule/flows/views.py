"""One view serves every flow: /flow/<name>/ shows the current stage and takes its answer."""

import functools
import time
from datetime import timedelta

from django import forms
from django.contrib import messages
from django.core.cache import cache
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from vestibule.accounts.models import Account
from vestibule.accounts.selectors import account_by_identifier
from vestibule.accounts.services import (
    ConfirmationInvalid,
    activation_send,
    link_check,
    link_consume,
)
from vestibule.accounts.sessions import sign_in_pending_take
from vestibule.flows import stages  # noqa: F401  (registers every stage)
from vestibule.flows.engine import SERVER_STARTED, FlowExpired, FlowRun, link_stage
from vestibule.flows.throttles import link_allowed, resend_wait
from vestibule.notifications.after_response import after_response

DONE_TEMPLATES = {"recovery": "flows/recovery_done.html"}
# How long one submission of a step holds that step's answer: a second submission (a double
# click, a browser's retry after a node died) waits at most this long for the first.
ANSWER_LOCK_SECONDS = 10
IN_PROGRESS, ACCEPTED = 1, 2


def _flow_url(name: str) -> str:
    return reverse("flows:flow", args=[name])


def _run(request: HttpRequest, name: str) -> FlowRun | None:
    """The run in progress, else a new one; None for a flow only the server starts."""
    if FlowRun.definition(name) is None:
        raise Http404
    if name in SERVER_STARTED:
        # Begun here with what the sign-in page handed over after the password (a new
        # password replaces a run in progress); without one, only a run in progress goes on.
        pending = sign_in_pending_take(request)
        if pending:
            return FlowRun.begin(request, name, pending)
    try:
        run = FlowRun.load(request, name)
    except FlowExpired:
        messages.warning(request, _("This request has expired. Please start again."))
        run = None
    if run is None and name in SERVER_STARTED:
        return None
    # Nothing is stored before the first stage is answered (no session row per visitor).
    answered_id = request.POST.get("flow_id", "") if request.method == "POST" else ""
    return run or FlowRun.start(request, name, flow_id=answered_id)


def flow_start(request: HttpRequest, name: str) -> HttpResponse:
    """A fresh start of flow `name`, forgetting any run in progress."""
    if FlowRun.definition(name) is None or name in SERVER_STARTED:
        raise Http404
    request.session.pop(FlowRun.session_key(name), None)
    return HttpResponseRedirect(_flow_url(name))


def _render(request: HttpRequest, run: FlowRun, form: object) -> HttpResponse:
    current = run.stage
    context = {
        "flow": run,
        "stage": current,
        "form": form,
        "step": run.index + 1,
        "steps": len(run.stage_names),
        **current.context(),
    }
    return render(request, current.template, context)


@require_http_methods(["GET", "POST"])
def flow_view(request: HttpRequest, name: str) -> HttpResponse:
    run = _run(request, name)
    if run is None:
        # The sign-in flow begins after the password, never from its address.
        return HttpResponseRedirect(reverse("accounts:login"))
    if run.finished:
        return render(request, DONE_TEMPLATES.get(name, "flows/done.html"), {"flow": run})
    current = run.stage
    if request.method == "GET":
        return _render(request, run, current.get_form())

    answered = (request.POST.get("flow_id"), request.POST.get("stage_index"))
    if answered != (run.id, str(run.index)) or not current.accepts_post:
        # An answer to a step already passed (back button, second tab, replay): show the
        # step the flow is really at.
        return HttpResponseRedirect(_flow_url(name))
    lock = f"flow-lock:{run.id}:{run.index}"
    if not _answer_lock(lock):
        # A double click whose first submission was accepted: show where it led.
        return HttpResponseRedirect(_flow_url(name))
    accepted = False
    try:
        form = current.get_form(request.POST, request.FILES)
        if form is not None and not form.is_valid():
            return _render(request, run, form)
        response = current.submit(form)
        if response is not None:
            return response
        if form is not None and form.errors:
            return _render(request, run, form)
        run.advance()
        accepted = True
        if not run.finished:
            run.stage.arrive()
        return HttpResponseRedirect(_flow_url(name))
    finally:
        if accepted:
            # A late duplicate of an accepted answer is told so, and shown the next step.
            cache.set(lock, ACCEPTED, timeout=ANSWER_LOCK_SECONDS)
        else:
            # A refused answer can be corrected and sent again right away.
            cache.delete(lock)


def _answer_lock(lock: str) -> bool:
    """Take the lock on one step's answer; False when another submission of that answer was
    accepted meanwhile (a double click: waits for the first to finish).

    The lock expires: a submission whose node died under it (killed, restarted) holds it
    only ANSWER_LOCK_SECONDS, and the browser's new try, on any node, then takes it over.
    """
    deadline = time.monotonic() + ANSWER_LOCK_SECONDS + 1
    while not cache.add(lock, IN_PROGRESS, timeout=ANSWER_LOCK_SECONDS):
        if cache.get(lock) == ACCEPTED or time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def flow_asset(request: HttpRequest, name: str, what: str) -> HttpResponse:
    """A file of the current stage (the captcha's image or sound); 404 for any other stage."""
    if FlowRun.definition(name) is None:
        raise Http404
    if name in SERVER_STARTED:
        # Begun here with what the sign-in page handed over after the password (a new
        # password replaces a run in progress); without one, only a run in progress goes on.
        pending = sign_in_pending_take(request)
        if pending:
            return FlowRun.begin(request, name, pending)
    try:
        run = FlowRun.load(request, name)
    except FlowExpired:
        run = None
    if run is None or run.finished:
        raise Http404
    response = run.stage.asset(what)
    if response is None:
        raise Http404
    return response


def flow_resume(request: HttpRequest, name: str, key: str) -> HttpResponse:
    """An e-mailed link: its flow carried into this browser, its key off the URL."""
    flow = FlowRun.definition(name)
    if flow is None:
        raise Http404
    stage_class = link_stage(flow)
    if stage_class is None:
        raise Http404
    open_link = link_consume if stage_class.link_spent_on_open else link_check
    # A link spent on opening is spent in the transaction of what opening it does.
    with transaction.atomic():
        try:
            confirmation = open_link(key=key, purpose=stage_class.link_purpose)
        except ConfirmationInvalid as invalid:
            return render(
                request,
                "flows/link_invalid.html",
                {"flow_name": name, "reason": invalid.reason},
                status=410 if invalid.reason in {"used", "expired"} else 404,
            )
        run = FlowRun.from_payload(request, name, confirmation.payload)
        run.data["link_id"] = confirmation.pk  # for the stage that spends it
        run.save()
        response = run.stage.resume(confirmation.payload)
    if response is not None:
        return response
    run.advance()
    if not run.finished:
        run.stage.arrive()
    return HttpResponseRedirect(_flow_url(name))


@transaction.atomic
def _activation_resend(identifier: str, stage_names: tuple[str, ...]) -> None:
    account = account_by_identifier(identifier)
    if not account or account.status != Account.Status.PENDING or not link_allowed(account.email):
        return
    index = next(i for i, entry in enumerate(stage_names) if entry.startswith("activation_link"))
    activation_send(
        account=account,
        flow_path=reverse("flows:resume", args=["registration", "KEY"]).replace("KEY", "{key}"),
        payload={"index": index, "data": {"account_id": account.pk, "email": account.email}},
    )


class ActivationResendForm(forms.Form):
    identifier = forms.CharField(
        label=gettext_lazy("E-mail or identifier"),
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
    )


def activation_resend(request: HttpRequest) -> HttpResponse:
    """« Renvoyer le courriel d'activation »: the same answer whether or not an account waits."""
    flow = FlowRun.definition("registration")
    if flow is None:
        raise Http404
    form = ActivationResendForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        identifier = form.cleaned_data["identifier"]
        wait = resend_wait(request, identifier)
        if wait:
            # Not sent: the page does not claim it was, and reads the same for any identifier.
            retry_at = timezone.now() + timedelta(seconds=wait)
            context = {"form": form, "retry_at": retry_at}
            return render(request, "flows/activation_resend.html", context)
        # Looked up and sent after the response: a pending account's page takes no longer.
        after_response(request, functools.partial(_activation_resend, identifier, flow.stages))
        messages.success(
            request,
            _(
                "If an account waiting for activation matches, a new activation e-mail has been "
                "sent. Check your spam folder too."
            ),
        )
        return HttpResponseRedirect(reverse("flows:activation_resend"))
    return render(request, "flows/activation_resend.html", {"form": form})
