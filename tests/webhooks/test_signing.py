from vestibule.webhooks.signing import signature_header, signature_verify

SECRET = "whsec_test"
BODY = b'{"id": 1, "kind": "sign_in.failed"}'
NOW = 1_800_000_000


def test_a_signature_holds_for_its_body_secret_and_time():
    header = signature_header(SECRET, BODY, NOW)
    assert header.startswith(f"t={NOW},v1=")
    assert signature_verify(SECRET, header, BODY, NOW + 299)


def test_a_signature_older_or_newer_than_the_window_is_refused():
    header = signature_header(SECRET, BODY, NOW)
    assert not signature_verify(SECRET, header, BODY, NOW + 301)
    assert not signature_verify(SECRET, header, BODY, NOW - 301)
    assert signature_verify(SECRET, header, BODY, NOW + 500, tolerance=600)


def test_an_altered_body_time_or_secret_is_refused():
    header = signature_header(SECRET, BODY, NOW)
    assert not signature_verify(SECRET, header, BODY.replace(b"1", b"2"), NOW)
    assert not signature_verify("whsec_other", header, BODY, NOW)
    moved = header.replace(f"t={NOW}", f"t={NOW + 60}")
    assert not signature_verify(SECRET, moved, BODY, NOW + 60)


def test_a_header_without_time_or_signature_is_refused():
    v1 = signature_header(SECRET, BODY, NOW).split(",")[1]
    for header in ("", f"t={NOW}", v1, "garbage", f"t=abc,{v1}"):
        assert not signature_verify(SECRET, header, BODY, NOW)


def test_any_of_several_signatures_may_hold():
    good = signature_header(SECRET, BODY, NOW).split(",")[1]
    assert signature_verify(SECRET, f"t={NOW},v1={'0' * 64},{good}", BODY, NOW)
