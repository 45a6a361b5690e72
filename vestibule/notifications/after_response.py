"""Work done once the response has been sent, so its cost never shows in the response time.

Recovery, the activation resend and the identifier reminder show the same page whether or
not an account matches. Only a known account gets an e-mail, and preparing it (a link
stored, the message rendered and written to the outbox, an audit event) took milliseconds
that an unknown identifier did not: the response time told who has an account. That work
is now handed to `after_response`, and the page costs the same for both.

A WSGI server calls the response's close() once it has sent the response; Django runs the
response's closers there, before `request_finished`, on the request's database connection.
"""

import functools
import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

log = logging.getLogger(__name__)
_JOBS = "_vestibule_after_response"


def after_response(request: HttpRequest | None, job: Callable[[], None]) -> None:
    """Run `job` once the response to `request` is sent; at once outside a request."""
    jobs = getattr(request, _JOBS, None)
    if jobs is None:  # a command, a service called directly, a request built by a test
        job()
        return
    jobs.append(job)


def _run(jobs: list[Callable[[], None]]) -> None:
    for job in jobs:
        try:
            job()
        except Exception:  # the page is gone already: log it, and do the other jobs
            # Named, not shown: a job's arguments may hold what a visitor typed.
            name = getattr(getattr(job, "func", job), "__qualname__", "a job")
            log.exception("work after the response failed: %s", name)


class AfterResponseMiddleware:
    """Gives each request a list of jobs, run when the server closes the response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        jobs: list[Callable[[], None]] = []
        setattr(request, _JOBS, jobs)
        response = self.get_response(request)
        # Django's own hook for what a response does when the server closes it.
        response._resource_closers.append(functools.partial(_run, jobs))
        return response
