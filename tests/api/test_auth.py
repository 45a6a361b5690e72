"""Bearer tokens of the management API, and who the authorization server gives them to."""



from tests.api.conftest import bearer

PROBE = "/api/v1/accounts/nobody@example.com"


def test_a_client_credentials_token_opens_an_operation_of_its_scope(client, api_token):
    token = api_token(["accounts:read"])
    answer = client.get(PROBE, headers=bearer(token))
    # Authenticated: the account is unknown, so 404 (not 401/403).
    assert answer.status_code == 404, answer.content
    assert answer["Content-Type"] == "application/problem+json"
    assert answer.json()["type"] == "/api/v1/problems/unknown"


def test_no_token_is_401_with_a_bearer_challenge_and_no_error_code(client, db):
    answer = client.get(PROBE)
    assert answer.status_code == 401
    assert answer["Content-Type"] == "application/problem+json"
    assert answer["WWW-Authenticate"] == 'Bearer realm="vestibule-api"'
    assert answer.json()["type"] == "/api/v1/problems/unauthenticated"
