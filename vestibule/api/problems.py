"""RFC 9457 problem details: every error of the API, as `application/problem+json`.

A problem's `type` is stable (clients branch on it), its `title` is English and fixed per
type, its `detail` says what happened this time. The handlers are registered on the API
in v1.py; routers raise `Problem` (or let the domain's refusals be mapped by the router).
"""

import logging
import math
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import Schema
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError
from pydantic import ConfigDict

logger = logging.getLogger("vestibule.api")

MEDIA_TYPE = "application/problem+json"
# Relative to the API's base URI; stable: clients compare them as strings.
TYPE_BASE = "/api/v1/problems/"
# No request body of the API is larger, unless its operation says so (body_limit).
BODY_LIMIT = 64 * 1024

# slug -> (status, title). A new kind of refusal adds a line here.
PROBLEMS: dict[str, tuple[int, str]] = {
    "validation": (422, "The request is not valid."),
    "malformed": (400, "The request body is not valid JSON."),
    "unauthenticated": (401, "A valid access token is required."),
    "insufficient-scope": (403, "The access token lacks a scope this request needs."),
    "forbidden": (403, "This client may not do this."),
    "not-found": (404, "Not found."),
    "method-not-allowed": (405, "This method is not allowed here."),
    "conflict": (409, "The request conflicts with the current state."),
    "body-too-large": (413, "The request body is too large."),
    "unsupported-media-type": (415, "The request body must be JSON."),
    "rate-limited": (429, "Too many requests for this client."),
    "server-error": (500, "The server could not answer this request."),
}


class StrictSchema(Schema):
    """The base of every request body: an unknown field is refused (422), never ignored,
    so a misspelt field is not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class FieldError(Schema):
    field: str
    message: str
    code: str


class ProblemSchema(Schema):
    """As documented in the OpenAPI description (components.schemas.Problem)."""

    type: str
    title: str
    status: int
    detail: str = ""
    errors: list[FieldError] | None = None
    retry_after: int | None = None


class Problem(Exception):
    """An error answered as a problem: `slug` names its type (PROBLEMS, or a domain code
    with the status given), `detail` the occurrence."""

    def __init__(
        self,
        slug: str,
        detail: str = "",
        *,
        status: int | None = None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **members: Any,
    ) -> None:
        known_status, known_title = PROBLEMS.get(slug, (status or 400, title or ""))
        self.slug = slug
        self.status = status or known_status
        self.title = title or known_title
        self.detail = detail
        self.headers = headers or {}
        self.members = members
        super().__init__(slug, detail)


def problem_type(slug: str) -> str:
    return TYPE_BASE + slug


def problem_response(problem: Problem) -> HttpResponse:
    body: dict[str, Any] = {
        "type": problem_type(problem.slug),
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail or problem.title,
        **problem.members,
    }
    response = JsonResponse(body, status=problem.status, content_type=MEDIA_TYPE)
    for name, value in problem.headers.items():
        response[name] = value
    return response


def _field_name(loc: tuple | list) -> str:
    # ("body", "payload", "email") -> "email"; ("query", "after") -> "after"; list items by index.
    parts = [str(part) for part in loc[1:]]
    if parts and parts[0] in {"payload", "body", "data"} and len(parts) > 1:
        parts = parts[1:]
    return ".".join(parts) or str(loc[0] if loc else "")


def validation_problem(errors: list[dict[str, Any]]) -> Problem:
    field_errors = []
    for error in errors:
        loc = error.get("loc") or ()
        field_errors.append(
            {
                "field": _field_name(loc),
                "message": str(error.get("msg", "")),
                "code": str(error.get("type", "invalid")),
            }
        )
    if errors and all(error.get("type") == "json_invalid" for error in errors):
        return Problem("malformed", "The body could not be read as JSON.")
    named = ", ".join(sorted({e["field"] for e in field_errors if e["field"]}))
    detail = f"Invalid fields: {named}." if named else PROBLEMS["validation"][1]
    return Problem("validation", detail, errors=field_errors)


def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return problem_response(validation_problem(exc.errors))


def on_problem(request: HttpRequest, exc: Problem) -> HttpResponse:
    return problem_response(exc)


def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc, Throttled):
        wait = max(1, math.ceil(exc.wait or 1))
        return problem_response(
            Problem(
                "rate-limited",
                f"Retry in {wait} seconds.",
                headers={"Retry-After": str(wait)},
                retry_after=wait,
            )
        )
    if isinstance(exc, AuthenticationError):
        return problem_response(unauthenticated())
    by_status = {status: slug for slug, (status, _title) in PROBLEMS.items()}
    slug = by_status.get(exc.status_code, "server-error" if exc.status_code >= 500 else "")
    if not slug:
        return problem_response(
            Problem(f"http-{exc.status_code}", str(exc), status=exc.status_code)
        )
    return problem_response(Problem(slug, str(exc) if exc.status_code < 500 else ""))


def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem_response(Problem("not-found", "Nothing is found at this address."))


def on_too_large(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return problem_response(Problem("body-too-large", "The request body is over the limit."))


def on_server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    # Logged with its traceback for the operator; the client learns nothing of the inside.
    logger.exception("API error on %s %s", request.method, request.path, exc_info=exc)
    return problem_response(Problem("server-error"))


def unauthenticated(detail: str = "", *, error: str = "") -> Problem:
    """401 with the challenge of RFC 6750 §3 (no error code when no token was sent)."""
    challenge = 'Bearer realm="vestibule-api"'
    if error:
        challenge += f', error="{error}"'
        if detail:
            challenge += f', error_description="{detail}"'
    return Problem(
        "unauthenticated",
        detail or "Send an access token: Authorization: Bearer <token>.",
        headers={"WWW-Authenticate": challenge},
    )


def insufficient_scope(scopes: list[str] | tuple[str, ...]) -> Problem:
    """403 naming the scopes this request needs (RFC 6750 §3.1)."""
    needed = " ".join(scopes)
    return Problem(
        "insufficient-scope",
        f"This request needs the scope {needed}.",
        headers={
            "WWW-Authenticate": (
                f'Bearer realm="vestibule-api", error="insufficient_scope", scope="{needed}"'
            )
        },
    )


def register(api: Any) -> None:
    """Every error of `api` answered as a problem."""
    api.add_exception_handler(Exception, on_server_error)
    api.add_exception_handler(Http404, on_not_found)
    api.add_exception_handler(HttpError, on_http_error)
    api.add_exception_handler(ValidationError, on_validation_error)
    api.add_exception_handler(Problem, on_problem)
    api.add_exception_handler(RequestDataTooBig, on_too_large)
