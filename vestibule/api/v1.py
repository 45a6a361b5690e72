"""Version 1 of the management API: one NinjaAPI, one router per domain.

Every answer that is not a success is an RFC 9457 problem (problems.py), including the
ones Django or ninja would answer in HTML or plain text (an unknown address, a method not
allowed, a body too large). The OpenAPI description names each operation's scope and
the problems it can answer.
"""

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, re_path
from ninja import NinjaAPI
from ninja.openapi.schema import OpenAPISchema

from vestibule.api import accounts, coverage, events, members
from vestibule.api.auth import OAuth2ClientCredentials, acting_as_client
from vestibule.api.problems import (
    BODY_LIMIT,
    MEDIA_TYPE,
    PROBLEMS,
    Problem,
    ProblemSchema,
    problem_response,
    register,
)

# The problems every operation with a scope can answer, beside its own.
COMMON_PROBLEMS = {
    "400": "The request body is not valid JSON.",
    "401": "No access token, or one unknown, expired or revoked.",
    "403": "The access token lacks the scope.",
    "413": "The request body is too large.",
    "422": "A field is missing, wrong, or unknown.",
    "429": "Too many requests for this client: see Retry-After.",
}


class VestibuleSchema(OpenAPISchema):
    """ninja's description, with each operation's scopes and problems written out."""

    def operation_security(self, operation: Any) -> list[dict[str, Any]] | None:
        result = []
        for auth in operation.auth_callbacks:
            if isinstance(auth, OAuth2ClientCredentials):
                name = type(auth).__name__
                self.securitySchemes[name] = auth.openapi_security_schema
                result.append({name: list(auth.scopes)})
        return result or None

    def responses(self, operation: Any) -> dict[Any, Any]:
        result = super().responses(operation)
        self.schemas.setdefault("Problem", ProblemSchema.model_json_schema())
        problem = {MEDIA_TYPE: {"schema": {"$ref": f"{self.api.openapi_ref_prefix}Problem"}}}
        # Every error is a problem, whatever media type ninja wrote for the declared ones.
        for status, answer in result.items():
            if int(status) >= 400:
                answer["content"] = problem
        expected = {"422": COMMON_PROBLEMS["422"], "500": "Something failed on the server."}
        if operation.auth_callbacks:
            expected.update(COMMON_PROBLEMS)
        if "{" in operation.path:
            expected["404"] = "Nothing has this identifier."
        documented = {str(status) for status in result}
        for status, description in expected.items():
            if status not in documented:
                result[int(status)] = {"description": description, "content": problem}
        return result


class VestibuleApi(NinjaAPI):
    openapi_ref_prefix = "#/components/schemas/"

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        return VestibuleSchema(api=self, path_prefix=path_prefix)

    def _get_urls(self) -> list[URLPattern | URLResolver]:
        patterns = super()._get_urls()
        for pattern in patterns:
            if isinstance(pattern, URLPattern):
                pattern.callback = _method_problems(pattern.callback)
        # Any other address under the API: a problem, not the site's HTML 404 page.
        patterns.append(re_path(r"^.*$", _not_found, name="api-not-found"))
        return patterns


def _method_problems(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """ninja answers a method it has no operation for in plain text: a problem instead."""

    @functools.wraps(view)
    def answer(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith(
            MEDIA_TYPE
        ):
            allowed = response.get("Allow", "")
            problem = Problem(
                "method-not-allowed",
                f"{request.method} is not allowed here; allowed: {allowed}.",
                headers={"Allow": allowed},
            )
            return problem_response(problem)
        return response

    answer.csrf_exempt = True  # type: ignore[attr-defined]
    return answer


def _not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    return problem_response(Problem("not-found", "No operation of the API has this address."))


_not_found.csrf_exempt = True  # type: ignore[attr-defined]


def body_capped(run: Callable[..., Any]) -> Callable[..., Any]:
    """Read the request body under the operation's cap (BODY_LIMIT, or the view's
    `api_body_limit`, see `body_limit`) before anything parses it: 413 beyond."""
    operation = getattr(run, "__self__", None)
    limit = getattr(getattr(operation, "view_func", None), "api_body_limit", BODY_LIMIT)

    @functools.wraps(run)
    def capped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            return problem_response(
                Problem("body-too-large", f"The body of this request is limited to {limit} bytes.")
            )
        if declared and not hasattr(request, "_body"):
            body = request.read(limit + 1)
            if len(body) > limit:
                return problem_response(
                    Problem(
                        "body-too-large", f"The body of this request is limited to {limit} bytes."
                    )
                )
            # What Django's request.body would have read, without its global cap.
            request._body = body
        return run(request, *args, **kwargs)

    return capped


def body_limit(limit: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A larger (or smaller) body cap for one operation: put it under @router.post(...)."""

    def mark(view_func: Callable[..., Any]) -> Callable[..., Any]:
        view_func.api_body_limit = limit  # type: ignore[attr-defined]
        return view_func

    return mark


api = VestibuleApi(
    title="Vestibule management API",
    version="1",
    urls_namespace="api-v1",
    description=(
        "The organisation's systems keep the registry, accounts and audit in step. "
        "Authenticate with OAuth 2.0 client credentials at /o/token/ (an API client from "
        "`vestibule api-client add`); every error is an RFC 9457 problem "
        f"(types under /api/v1/problems/: {', '.join(PROBLEMS)})."
    ),
)
register(api)
api.add_decorator(body_capped, mode="view")
api.add_decorator(acting_as_client, mode="operation")
# The members router names its own paths (/members/{code}, /members:batch).
api.add_router("", members.router)
api.add_router("/accounts", accounts.router)
api.add_router("/coverage", coverage.router)
api.add_router("/events", events.router)
