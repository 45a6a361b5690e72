"""X-Forwarded-Proto is believed from a trusted proxy only, through the whole middleware stack:
production's redirect to HTTPS is what a forged header would skip."""

import ipaddress

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def behind_a_proxy(settings):
    settings.VESTIBULE_TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.1/32")]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True


def sign_in_page(remote: str):
    return Client().get("/login/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_PROTO="https")


def test_https_claimed_by_the_trusted_proxy_is_believed(behind_a_proxy):
    assert sign_in_page("10.0.0.1").status_code == 200


def test_https_claimed_by_anyone_else_is_not(behind_a_proxy):
    # A client that reached a node's port directly, sending the header itself.
    response = sign_in_page("10.0.0.2")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/login/"
