"""Every setting comes from an environment variable with a safe default.

The README's "Configuration" table lists them; keep the two in step.
"""

import ipaddress
import os
import secrets
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def env_bool(name: str, default: bool = False) -> bool:
    return env(name, "1" if default else "0").lower() in {"1", "true", "yes", "on"}


PACKAGE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(env("VESTIBULE_VAR_DIR", str(Path.cwd() / "var"))).resolve()

VESTIBULE_ENV = env("VESTIBULE_ENV", "development")
if VESTIBULE_ENV not in {"development", "production"}:
    raise ImproperlyConfigured("VESTIBULE_ENV must be 'development' or 'production'.")
PRODUCTION = VESTIBULE_ENV == "production"
DEBUG = env_bool("VESTIBULE_DEBUG") and not PRODUCTION


# deploy/*.env.example's placeholders: a node started with one of them left in place refuses
# to start rather than sign sessions, or reach its database, with a secret anybody can read
# in the repository.
_PLACEHOLDER = "CHANGE-ME"
for _name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD"):
    if PRODUCTION and _PLACEHOLDER in env(_name):
        raise ImproperlyConfigured(
            f"{_name} still holds the example's {_PLACEHOLDER}: replace it (docs/deploy.md)."
        )


def _secret_key() -> str:
    key = env("SECRET_KEY")
    if PRODUCTION and len(key) < 50:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set, to a random string of 50 characters or more, when "
            "VESTIBULE_ENV=production: "
            'python3 -c "import secrets; print(secrets.token_urlsafe(50))"'
        )
    if key:
        return key
    # Development only: one key generated on first run and kept, so sessions survive restarts.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
# Former keys during a rotation: what they signed or sealed (queued e-mails) still opens.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,[::1]")
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when VESTIBULE_ENV=production.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# Client addresses: X-Forwarded-For is believed only from these proxies (addresses or CIDRs).
VESTIBULE_TRUSTED_PROXIES = [
    ipaddress.ip_network(item, strict=False) for item in env_list("VESTIBULE_TRUSTED_PROXIES")
]

VESTIBULE_PROFILE = env("VESTIBULE_PROFILE", "default")
# Development-only switch for automated tests of the captcha stage; ignored in production.
VESTIBULE_CAPTCHA_FIXED_ANSWER = "" if PRODUCTION else env("VESTIBULE_CAPTCHA_FIXED_ANSWER")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "csp",
    "vestibule.audit",
    "vestibule.throttle",
    "vestibule.tokens",
    "vestibule.notifications",
    "vestibule.registry",
    "vestibule.accounts",
    "vestibule.establishments",
    "vestibule.mfa",
    "vestibule.coverage",
    # Before oauth2_provider: its templates (consent, errors) are replaced by ours.
    "vestibule.oidc",
    "oauth2_provider",
    "vestibule.webhooks",
    "vestibule.flows",
    "vestibule.api",
    # django-ninja: its bundled Swagger UI files for /api/v1/docs (else it links a CDN).
    "ninja",
    "vestibule.privacy",
    "vestibule.support",
    "vestibule.web",
]

MIDDLEWARE = [
    # Outermost: it sees the response the server will send, whatever the layers below did.
    "vestibule.notifications.after_response.AfterResponseMiddleware",
    # Before anything asks whether the request is secure (the redirect to HTTPS, CSRF).
    "vestibule.web.middleware.ForwardedProtoMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Headers of every page, the early refusals below included.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # form-action widened to the section a sign-in or consent page leads on to (oidc/csp.py).
    "vestibule.oidc.csp.SectionFormActionMiddleware",
    "vestibule.web.middleware.NoStoreMiddleware",
    # Before sessions and CSRF: a blocked address's flood of sign-ins stays cheap.
    "vestibule.web.middleware.BlockedAddressMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "vestibule.accounts.middleware.SessionTimeoutMiddleware",
    "vestibule.web.middleware.LanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Last: its check runs before any view and before CSRF reads the form, in the visitor's
    # language, and its page passes back through CSRF (the language switch keeps working).
    "vestibule.web.middleware.RequestSizeMiddleware",
]
# No form of the portal sends more than a few kilobytes or a few dozen fields: a larger
# request answers 413 before it is parsed (RequestSizeMiddleware).
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 500  # the admin's bulk actions post one field per row shown

ROOT_URLCONF = "vestibule.urls"
WSGI_APPLICATION = "vestibule.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "vestibule.web.context_processors.portal",
            ],
        },
    },
]

# One SQLite file per profile, so demos of two profiles never mix their data.
_SQLITE_FILE = VAR_DIR / f"vestibule-{Path(VESTIBULE_PROFILE).stem}.sqlite3"
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{_SQLITE_FILE}"),
        conn_max_age=60,
        # A connection dropped by a database restart is detected and reopened on the next request.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Django's, its connections kept between requests (conn_max_age above) as long as the
    # file at the path is the one they opened (vestibule/sqlite/base.py).
    DATABASES["default"]["ENGINE"] = "vestibule.sqlite"
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
    # WAL with synchronous=NORMAL: readers never wait for the writer, and a commit costs no
    # fsync (a power cut may lose the last commits, never corrupt the file).
    DATABASES["default"]["OPTIONS"]["init_command"] = (
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    )
    # Tests use a file too: an in-memory shared-cache database fails concurrent writers with
    # "table is locked" instead of waiting, unlike the file the portal really uses.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "vestibule",
            # A Redis that stops answering fails requests (503) instead of hanging workers.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Sessions live in Redis when there is one (shared by every node, no database write per
# request); otherwise in the database, since a local-memory cache is not shared by workers.
# Django's engines, a sign-in's new session key written once (accounts/session_engines).
SESSION_ENGINE = (
    "vestibule.accounts.session_engines.cache"
    if REDIS_URL
    else "vestibule.accounts.session_engines.db"
)

AUTH_USER_MODEL = "accounts.Account"
AUTHENTICATION_BACKENDS = ["vestibule.accounts.backends.IdentifierBackend"]
# Ours verifies every argon2 hash (parameters live in the hash) and upgrades old ones.
PASSWORD_HASHERS = [
    "vestibule.accounts.hashers.VestibuleArgon2Hasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    # Sections' client secrets only (random, 128 characters): never a member's password.
    "vestibule.oidc.hashers.ClientSecretHasher",
]
# Django's own callers (admin forms, changepassword) apply the same policy as our services.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "vestibule.accounts.password_policy.ProfilePasswordValidator"},
]
# E-mail is unique case-insensitively through a database constraint on Lower(email), which
# Django's check does not see.
SILENCED_SYSTEM_CHECKS = ["auth.W004"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "web:home"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = PRODUCTION
SESSION_COOKIE_NAME = "__Host-session" if PRODUCTION else "vestibule_session"
SESSION_COOKIE_AGE = 24 * 3600
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_NAME = "__Host-csrftoken" if PRODUCTION else "vestibule_csrftoken"
CSRF_FAILURE_VIEW = "vestibule.web.views.csrf_failure"
LANGUAGE_COOKIE_NAME = "vestibule_language"
LANGUAGE_COOKIE_SECURE = PRODUCTION
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600

SECURE_CONTENT_TYPE_NOSNIFF = True
# same-origin, not no-referrer: browsers send "Origin: null" under no-referrer, which would
# make Django's CSRF origin check refuse our own forms.
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # The health checks' static file (deploy/healthcheck.py, the Caddyfile) answers over plain
    # HTTP too: the image's check comes from the node's own loopback, no trusted proxy, so it
    # cannot claim https (ForwardedProtoMiddleware), and a redirect would read as unhealthy.
    SECURE_REDIRECT_EXEMPT = [r"^static/vestibule/site\.css$"]
    if VESTIBULE_TRUSTED_PROXIES:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "media-src": [SELF, "data:"],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = env("TIME_ZONE", "America/Montreal")
USE_TZ = True

STATIC_URL = "/static/"
# Static files are served by WhiteNoise from the package (finders); set STATIC_ROOT to serve
# them from a `vestibule collectstatic` copy instead.
STATIC_ROOT = env("STATIC_ROOT") or None
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

EMAIL_HOST = env("EMAIL_HOST")
EMAIL_PORT = int(env("EMAIL_PORT", "25"))
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL")
EMAIL_TIMEOUT = int(env("EMAIL_TIMEOUT", "10"))
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
elif PRODUCTION:
    raise ImproperlyConfigured("EMAIL_HOST must be set when VESTIBULE_ENV=production.")
else:
    # Development: mail is printed on the console and listed at /dev/mail/.
    EMAIL_BACKEND = "vestibule.notifications.dev_mail.DevelopmentBackend"
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "" if PRODUCTION else "no-reply@localhost")
if not DEFAULT_FROM_EMAIL:
    # Mail from @localhost fails SPF and DMARC and lands in spam, or is refused outright.
    raise ImproperlyConfigured(
        "DEFAULT_FROM_EMAIL must be set when VESTIBULE_ENV=production (an address of the "
        "organisation's domain, e.g. no-reply@members.example.org)."
    )
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The address written into e-mailed links (scheme and host), e.g. https://members.example.org
VESTIBULE_BASE_URL = env("VESTIBULE_BASE_URL", "" if PRODUCTION else "http://127.0.0.1:8000")
# Passkeys belong to this site: VESTIBULE_BASE_URL's host, or a parent domain of it named here
# (e.g. "example.org" for members.example.org), so they keep working if the host moves.
VESTIBULE_WEBAUTHN_RP_ID = env("VESTIBULE_WEBAUTHN_RP_ID", "")
if PRODUCTION and not VESTIBULE_BASE_URL:
    raise ImproperlyConfigured("VESTIBULE_BASE_URL must be set when VESTIBULE_ENV=production.")

# OpenID Connect provider (django-oauth-toolkit) under /o/. Lifetimes in seconds.
OIDC_KEY_DIR = Path(env("VESTIBULE_OIDC_KEY_DIR", str(VAR_DIR / "oidc-keys"))).resolve()
_oidc_key, _oidc_published = __import__("vestibule.oidc.keys", fromlist=["keys_load"]).keys_load(
    OIDC_KEY_DIR
)
# Named for migrations that refer to django-oauth-toolkit's (swappable) client model.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER = {
    "CLIENT_SECRET_HASHER": "pbkdf2_sha256_client_secret",
    "OIDC_ENABLED": True,
    # The issuer is the configured base URL; without one (development, tests), the
    # address the request came to, which ALLOWED_HOSTS restricts.
    "OIDC_ISS_ENDPOINT": f"{env('VESTIBULE_BASE_URL')}/o" if env("VESTIBULE_BASE_URL") else "",
    "OIDC_RSA_PRIVATE_KEY": _oidc_key,
    # Published beside the signing key: the next one, and the retired ones (keys.py).
    "OIDC_RSA_PRIVATE_KEYS_INACTIVE": _oidc_published,
    "OAUTH2_VALIDATOR_CLASS": "vestibule.oidc.validators.VestibuleValidator",
    "SCOPES": {
        "openid": "Your identity at the organisation (a stable identifier)",
        "profile": "Your name and language",
        "email": "Your e-mail address",
        "membership": "Your member kind, licence, region, establishments and coverage",
        # The management API's scopes (vestibule/api): granted to API clients only, through
        # the client-credentials grant, each client holding the ones it was given.
        "registry:read": "Read the member registry",
        "registry:write": "Change the member registry",
        "accounts:read": "Read accounts",
        "accounts:write": "Disable, enable accounts, send their links, end their sessions",
        "coverage:write": "Change coverage records",
        "audit:read": "Read the security events",
    },
    "DEFAULT_SCOPES": ["openid"],
    # Authorization code only (no implicit or hybrid flow), S256 only, exact redirect URIs.
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ACCESS_TOKEN_EXPIRE_SECONDS": int(env("VESTIBULE_OIDC_ACCESS_TOKEN_SECONDS", "600")),
    "ID_TOKEN_EXPIRE_SECONDS": int(env("VESTIBULE_OIDC_ID_TOKEN_SECONDS", "600")),
    "REFRESH_TOKEN_EXPIRE_SECONDS": int(
        env("VESTIBULE_OIDC_REFRESH_TOKEN_SECONDS", str(30 * 24 * 3600))
    ),
    "ROTATE_REFRESH_TOKEN": True,
    # A replayed (already rotated) refresh token revokes its family at once: no grace window.
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    # Public sections (PKCE, no secret) authenticate with their client_id alone: "none".
    "OIDC_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": [
        "client_secret_basic",
        "client_secret_post",
        "none",
    ],
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "REQUEST_APPROVAL_PROMPT": "auto",
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"] if PRODUCTION else ["http", "https"],
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": False,
    "OIDC_RP_INITIATED_LOGOUT_STRICT_REDIRECT_URIS": True,
    "OIDC_RP_INITIATED_LOGOUT_DELETE_TOKENS": True,
    # RFC 9700 (OAuth 2.0 Security Best Current Practice), every gate enforced.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
}

# E-mailed keys travel in URL paths: every line logged goes through the redacting filter
# (vestibule.web.log_redaction; `vestibule serve` gives gunicorn the same).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "vestibule.web.log_redaction.SecretsRedactingFilter"}},
    "formatters": {
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact_secrets"]},
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["redact_secrets"],
        },
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Filtered where the records are made, whichever handler prints them.
        "django.request": {"filters": ["redact_secrets"]},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
}
