"""One view serves every flow: /flow/<name>/ shows the current stage and takes its answer."""

import functools
import time

from django import forms
from django.contrib import messages
from django.core.cache import cache
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
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
from vestibule.flows.throttles import link_allowed, resend_allowed
from vestibule.notifications.after_response import after_response

DONE_TEMPLATES = {"recovery": "flows/recovery_done.html"}
# How long a second submission of the same step waits for the first to finish.
DOUBLE_SUBMIT_WAIT = 5.0


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
    if not cache.add(lock, 1, timeout=30):
        # A double click: let the first submission finish, then show where it led.
        deadline = time.monotonic() + DOUBLE_SUBMIT_WAIT
        while cache.get(lock) == 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        return HttpResponseRedirect(_flow_url(name))
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
        if not run.finished:
            run.stage.arrive()
        return HttpResponseRedirect(_flow_url(name))
    finally:
        # Released at once: a refused answer can be corrected and sent again right away;
        # an accepted one moved the flow on, so a late duplicate is stale anyway.
        cache.delete(lock)


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
    identifier = forms.CharField(label=gettext_lazy("E-mail or identifier"), max_length=254)


def activation_resend(request: HttpRequest) -> HttpResponse:
    """« Renvoyer le courriel d'activation »: the same answer whether or not an account waits."""
    flow = FlowRun.definition("registration")
    if flow is None:
        raise Http404
    form = ActivationResendForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if resend_allowed(request):
            # Looked up and sent after the response: a pending account's page takes no longer.
            identifier = form.cleaned_data["identifier"]
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
