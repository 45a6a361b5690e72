"""The hasher of sections' client secrets.

django-oauth-toolkit hashes a client secret with the first password hasher, Argon2id: a
memory-hard hash made for guessable passwords, paid again at every token request. A client
secret is 128 random characters (DOT's generator), far beyond any guessing: a keyed, salted
PBKDF2 with few iterations protects it as well and costs a fraction of a millisecond.
"""

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class ClientSecretHasher(PBKDF2PasswordHasher):
    algorithm = "pbkdf2_sha256_client_secret"
    iterations = 1_000
