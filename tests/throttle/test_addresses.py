import ipaddress

from django.test import RequestFactory

from vestibule.throttle.addresses import client_ip

factory = RequestFactory()


def request(remote: str, forwarded: str = ""):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    return factory.get("/", REMOTE_ADDR=remote, **extra)


def test_forwarded_for_is_ignored_from_an_untrusted_peer(settings):
    settings.VESTIBULE_TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.1/32")]
    assert client_ip(request("198.51.100.7", "203.0.113.9")) == "198.51.100.7"


def test_forwarded_for_is_believed_from_a_trusted_proxy(settings):
    settings.VESTIBULE_TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/8")]
    assert client_ip(request("10.0.0.1", "203.0.113.9")) == "203.0.113.9"


def test_a_forged_leftmost_hop_is_not_believed(settings):
    settings.VESTIBULE_TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/8")]
    # The client sent "1.2.3.4" itself; our proxy appended the real client address.
    assert client_ip(request("10.0.0.1", "1.2.3.4, 203.0.113.9")) == "203.0.113.9"


def test_garbage_in_forwarded_for_falls_back_to_the_peer(settings):
    settings.VESTIBULE_TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/8")]
    assert client_ip(request("10.0.0.1", "not-an-ip")) == "10.0.0.1"
