from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class Member(models.Model):
    """One person on the organisation's roster, as the organisation knows them."""

    kind = models.CharField(_("member kind"), max_length=32)
    code = models.CharField(_("code"), max_length=32, unique=True)
    email = models.EmailField(_("e-mail"), max_length=254)
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    region = models.CharField(_("region"), max_length=64, blank=True)
    active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("member")
        verbose_name_plural = _("members")
        constraints = [
            # Seed 000: an e-mail address belongs to one member only.
            models.UniqueConstraint(Lower("email"), name="registry_member_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.first_name} {self.last_name}".strip()

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
