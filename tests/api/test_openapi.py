"""The OpenAPI 3.1 description: generated from the code, served, browsable without any
third-party host, and checked in (docs/api/openapi.json) identical to the code's."""

import json
import re
from pathlib import Path

from ninja.responses import NinjaJSONEncoder

from vestibule.api.v1 import api

CHECKED_IN = Path(__file__).resolve().parents[2] / "docs" / "api" / "openapi.json"
REGENERATE = (
    "vestibule export-openapi-schema --api vestibule.api.v1.api --indent 2 --sorted "
    "--output docs/api/openapi.json"
)


def _generated() -> dict:
    return json.loads(json.dumps(api.get_openapi_schema(), cls=NinjaJSONEncoder))


def test_the_checked_in_description_is_the_codes(db):
    checked_in = json.loads(CHECKED_IN.read_text())
    assert checked_in == _generated(), f"docs/api/openapi.json is out of date: run {REGENERATE}"


def test_the_description_is_served_as_openapi_3_1(client, db):
    answer = client.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    assert answer.json()["openapi"] == "3.1.0"
    assert answer.json()["paths"] == _generated()["paths"]


def test_every_operation_needs_a_scope_and_documents_its_problems(db):
    described = _generated()
    scheme = described["components"]["securitySchemes"]["OAuth2ClientCredentials"]
    assert scheme["flows"]["clientCredentials"]["tokenUrl"] == "/o/token/"
    for path, operations in described["paths"].items():
        for method, operation in operations.items():
            (requirement,) = operation["security"]
            assert requirement["OAuth2ClientCredentials"], f"{method} {path} has no scope"
            for status in ("401", "403", "429", "500"):
                content = operation["responses"][status]["content"]
                assert list(content) == ["application/problem+json"], (method, path, status)


def test_the_documentation_page_loads_only_this_sites_files(client, db):
    answer = client.get("/api/v1/docs")
    assert answer.status_code == 200
    page = answer.content.decode()
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', page)
    assert any(source.endswith("swagger-ui-bundle.js") for source in sources)
    for source in sources:
        assert source.startswith("/static/"), source
        assert client.get(source).status_code == 200, source
    # No inline script runs (the settings block is JSON data): the site's CSP is kept.
    assert "script-src 'self'" in answer["Content-Security-Policy"]
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", page)
    assert all('type="application/json"' in attributes for attributes in inline)
