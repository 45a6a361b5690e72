"""An API client: one of the organisation's systems, with the scopes the operator gave it."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from oauth2_provider.settings import oauth2_settings

# The scopes of the management API (the others in OAUTH2_PROVIDER["SCOPES"] are members').
API_SCOPES = (
    "registry:read",
    "registry:write",
    "accounts:read",
    "accounts:write",
    "coverage:write",
    "audit:read",
)
DEFAULT_RATE_PER_MINUTE = 600


class ApiClient(models.Model):
    """Beside its OAuth application (confidential, client-credentials grant only, no user,
    no redirect URI): the scopes it may be granted and its rate limit."""

    application = models.OneToOneField(
        oauth2_settings.APPLICATION_MODEL,
        on_delete=models.CASCADE,
        related_name="api_client",
        verbose_name=_("client"),
    )
    name = models.CharField(_("name"), max_length=255)
    scopes = models.JSONField(_("scopes"), default=list)
    rate_per_minute = models.PositiveIntegerField(
        _("requests per minute"), default=DEFAULT_RATE_PER_MINUTE
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # Who registered it: a staff account's e-mail, or "operator" (the command line).
    created_by = models.CharField(_("created by"), max_length=254, blank=True)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")

    def __str__(self) -> str:
        return self.name

    @property
    def client_id(self) -> str:
        return self.application.client_id

    def holds(self, scopes: list[str] | tuple[str, ...] | set[str]) -> bool:
        return set(scopes) <= set(self.scopes)
