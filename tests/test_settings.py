"""Production settings, read in a fresh process as an operator would start it."""

import json
import os
import subprocess
import sys

PRODUCTION = {
    "VESTIBULE_ENV": "production",
    "SECRET_KEY": "x" * 50,
    "ALLOWED_HOSTS": "members.example.org",
    "EMAIL_HOST": "smtp.example.org",
    "DEFAULT_FROM_EMAIL": "no-reply@members.example.org",
    "VESTIBULE_BASE_URL": "https://members.example.org",
}
PROBE = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({k: getattr(s, k) for k in ['SESSION_COOKIE_NAME', 'SESSION_COOKIE_SECURE', "
    "'CSRF_COOKIE_SECURE', 'CSRF_COOKIE_NAME', 'SECURE_HSTS_SECONDS', 'DEBUG', "
    "'VESTIBULE_CAPTCHA_FIXED_ANSWER', 'SESSION_COOKIE_HTTPONLY', 'SESSION_COOKIE_SAMESITE']}))"
)


def read_settings(tmp_path, **env: str) -> dict:
    environment = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    environment.update(DJANGO_SETTINGS_MODULE="vestibule.settings", VESTIBULE_VAR_DIR=str(tmp_path))
    environment.update(env)
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=environment, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def test_production_cookies_are_secure_host_prefixed_and_hsts_is_on(tmp_path):
    values = read_settings(
        tmp_path, **PRODUCTION, VESTIBULE_DEBUG="1", VESTIBULE_CAPTCHA_FIXED_ANSWER="12345"
    )
    assert values["SESSION_COOKIE_NAME"] == "__Host-session"
    assert values["CSRF_COOKIE_NAME"] == "__Host-csrftoken"
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"]
    assert values["SESSION_COOKIE_HTTPONLY"] and values["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["DEBUG"] is False
    assert values["VESTIBULE_CAPTCHA_FIXED_ANSWER"] == ""


def test_development_cookies_work_over_plain_http(tmp_path):
    values = read_settings(tmp_path)
    assert values["SESSION_COOKIE_SECURE"] is False
    assert values["SESSION_COOKIE_NAME"] == "vestibule_session"


def test_production_refuses_to_start_without_a_sender_address(tmp_path):
    environment = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    environment.update(
        PRODUCTION,
        DJANGO_SETTINGS_MODULE="vestibule.settings",
        VESTIBULE_VAR_DIR=str(tmp_path),
        DEFAULT_FROM_EMAIL="",
    )
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=environment, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "DEFAULT_FROM_EMAIL must be set" in result.stderr


def start_error(tmp_path, **env: str) -> str:
    """Production's last word when it refuses to start with `env` ('' when it starts)."""
    environment = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    environment.update(
        PRODUCTION, DJANGO_SETTINGS_MODULE="vestibule.settings", VESTIBULE_VAR_DIR=str(tmp_path)
    )
    environment.update(env)
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=environment, capture_output=True, text=True
    )
    return result.stderr.strip().splitlines()[-1] if result.returncode else ""


def test_production_refuses_a_short_secret_key(tmp_path):
    assert start_error(tmp_path) == ""
    assert "SECRET_KEY must be set, to a random string of 50 characters" in start_error(
        tmp_path, SECRET_KEY="x" * 49
    )


def test_production_refuses_the_example_files_placeholders(tmp_path):
    for name, value in {
        "SECRET_KEY": "CHANGE-ME-a-long-random-string" + "x" * 40,
        "DATABASE_URL": "postgres://vestibule:CHANGE-ME-database-password@postgres:5432/vestibule",
        "REDIS_URL": "redis://:CHANGE-ME-redis-password@redis:6379/0",
        "EMAIL_HOST_PASSWORD": "CHANGE-ME",
    }.items():
        error = start_error(tmp_path, **{name: value})
        assert f"{name} still holds the example's CHANGE-ME" in error, name
