"""Every error of the API is an RFC 9457 problem (application/problem+json) with a stable
type, an English title, and no inside detail; unknown fields are refused; bodies are
capped; each client's rate limit answers 429 with Retry-After, also under parallel requests."""

import json

import pytest
from django.test import Client, RequestFactory

from tests.api.conftest import bearer
from tests.concurrency import at_once
from tests.factories import make_account
from vestibule.api.problems import PROBLEMS
from vestibule.api.v1 import api

DISABLE = "/api/v1/accounts/marie@example.org/disable"
READ = "/api/v1/accounts/marie@example.org"


def _problem(answer, status: int, slug: str) -> dict:
    assert answer.status_code == status, answer.content
    assert answer["Content-Type"] == "application/problem+json"
    body = answer.json()
    assert body["type"] == f"/api/v1/problems/{slug}"
    assert body["status"] == status
    assert body["title"] and body["detail"]
    return body


@pytest.fixture
def writer(api_token, db):
    make_account()
    return bearer(api_token(["accounts:read", "accounts:write"]))


def _post(client, path: str, payload, headers, **extra):
    body = payload if isinstance(payload, (str, bytes)) else json.dumps(payload)
    return client.post(path, body, content_type="application/json", headers=headers, **extra)


def test_a_missing_field_is_422_naming_it(client, writer):
    body = _problem(_post(client, DISABLE, {}, writer), 422, "validation")
    assert [error["field"] for error in body["errors"]] == ["reason"]
    assert body["errors"][0]["code"] == "missing"


def test_an_unknown_field_is_refused_not_ignored(client, writer):
    body = _problem(
        _post(client, DISABLE, {"reason": "left", "reasons": "x"}, writer), 422, "validation"
    )
    assert body["errors"] == [
        {"field": "reasons", "message": "Extra inputs are not permitted", "code": "extra_forbidden"}
    ]
    assert "reasons" in body["detail"]


def test_a_wrong_type_is_422(client, writer):
    body = _problem(_post(client, DISABLE, {"reason": 42}, writer), 422, "validation")
    assert body["errors"][0]["field"] == "reason"


def test_a_body_that_is_not_json_is_400(client, writer):
    _problem(_post(client, DISABLE, "{not json", writer), 400, "malformed")


def test_an_unknown_address_under_the_api_is_a_404_problem(client, db):
    _problem(client.get("/api/v1/no-such-thing"), 404, "not-found")


def test_a_method_not_allowed_is_a_405_problem_with_allow(client, writer):
    answer = client.delete(DISABLE, headers=writer)
    _problem(answer, 405, "method-not-allowed")
    assert answer["Allow"] == "POST"


def test_a_body_over_the_cap_is_a_413_problem(client, writer, settings):
    # Django's own limit raised (as for the batch import): the API's cap still applies.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
    answer = _post(client, DISABLE, {"reason": "x" * (70 * 1024)}, writer)
    _problem(answer, 413, "body-too-large")


def test_an_error_inside_is_a_500_problem_that_tells_nothing(db):
    request = RequestFactory().get(READ)
    answer = api.on_exception(request, RuntimeError("password=hunter2 in SELECT ..."))
    assert answer.status_code == 500
    assert answer["Content-Type"] == "application/problem+json"
    assert "hunter2" not in answer.content.decode()
    body = json.loads(answer.content)
    assert body["type"] == "/api/v1/problems/server-error"
    assert body["detail"] == PROBLEMS["server-error"][1]


def test_titles_are_english_whatever_the_language_asked(client, writer):
    client.cookies["django_language"] = "fr"
    answer = client.get(
        "/api/v1/accounts/nobody@example.org", headers={**writer, "Accept-Language": "fr"}
    )
    body = _problem(answer, 404, "unknown")
    assert body["detail"] == "No account has this e-mail, licence or user code."


def test_the_rate_limit_answers_429_with_retry_after(client, api_client_factory, api_token):
    make_account()
    credentials = api_client_factory(["accounts:read"], rate_per_minute=3)
    headers = bearer(api_token(["accounts:read"], credentials))
    answers = [client.get(READ, headers=headers) for _ in range(5)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429, 429]
    body = _problem(answers[3], 429, "rate-limited")
    wait = int(answers[3]["Retry-After"])
    assert 1 <= wait <= 60
    assert body["retry_after"] == wait


def test_each_client_has_its_own_rate(client, api_client_factory, api_token):
    make_account()
    slow = bearer(
        api_token(["accounts:read"], api_client_factory(["accounts:read"], rate_per_minute=1))
    )
    other = bearer(
        api_token(["accounts:read"], api_client_factory(["accounts:read"], name="Other"))
    )
    assert client.get(READ, headers=slow).status_code == 200
    assert client.get(READ, headers=slow).status_code == 429
    assert client.get(READ, headers=other).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_parallel_requests_never_pass_the_rate(api_client_factory, api_token):
    make_account()
    credentials = api_client_factory(["accounts:read"], rate_per_minute=4)
    headers = bearer(api_token(["accounts:read"], credentials))
    answers = at_once(*[lambda: Client().get(READ, headers=headers) for _ in range(10)])
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] * 4 + [429] * 6
