from django.contrib.auth.hashers import Argon2PasswordHasher


class VestibuleArgon2Hasher(Argon2PasswordHasher):
    """Argon2id with OWASP's parameters (m=19 MiB, t=2, p=1), set here and nowhere else.

    Same algorithm name as Django's: hashes made with other parameters are upgraded at
    the next successful sign-in (check_password's setter).
    """

    memory_cost = 19 * 1024  # KiB
    time_cost = 2
    parallelism = 1
