"""The members' sections in the admin console: added, changed and removed through the same
services as `vestibule oidc-client`, so the console checks and audits them the same way."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from oauth2_provider.admin import ApplicationAdmin
from oauth2_provider.models import Application

from vestibule.audit.services import event_record
from vestibule.config import get_profile
from vestibule.oidc.models import Section
from vestibule.oidc.services import (
    SectionError,
    oidc_issuer,
    section_add,
    section_change,
    section_remove,
    section_secret_rotate,
    section_validate,
)


def _uris(text: str) -> list[str]:
    return text.split()


class SectionForm(forms.ModelForm):
    """The section and the fields of its OAuth application, on one page."""

    name = forms.CharField(label=_("name"), max_length=255)
    redirect_uris = forms.CharField(
        label=_("redirect URIs"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line; exact match. https, or http://127.0.0.1 in development."),
    )
    post_logout_redirect_uris = forms.CharField(
        label=_("post-logout redirect URIs"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )
    public = forms.BooleanField(
        label=_("public client (no secret, PKCE required)"),
        required=False,
        help_text=_("Cannot be changed once the section is added."),
    )
    allowed_kinds = forms.MultipleChoiceField(
        label=_("member kinds let in"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every kind."),
    )
    required_right = forms.ChoiceField(label=_("access right required"), required=False)

    class Meta:
        model = Section
        fields = (
            "description_fr",
            "description_en",
            "home_url",
            "allowed_kinds",
            "required_right",
            "backchannel_logout_uri",
            "first_party",
            "requires_mfa",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        profile = get_profile()
        self.fields["allowed_kinds"].choices = [(k.key, str(k.label)) for k in profile.member_kinds]
        self.fields["required_right"].choices = [("", "—")] + [
            (r.key, str(r.label)) for r in profile.access_rights
        ]
        application = getattr(self.instance, "application", None) if self.instance.pk else None
        if application is not None:
            self.fields["name"].initial = application.name
            self.fields["redirect_uris"].initial = "\n".join(application.redirect_uris.split())
            self.fields["post_logout_redirect_uris"].initial = "\n".join(
                application.post_logout_redirect_uris.split()
            )
            self.fields["public"].initial = application.client_type == Application.CLIENT_PUBLIC
            self.fields["public"].disabled = True

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        try:
            section_validate(
                redirect_uris=_uris(data.get("redirect_uris", "")),
                post_logout_redirect_uris=_uris(data.get("post_logout_redirect_uris", "")),
                backchannel_logout_uri=data.get("backchannel_logout_uri", ""),
                home_url=data.get("home_url", ""),
                allowed_kinds=data.get("allowed_kinds", []),
                required_right=data.get("required_right", ""),
            )
        except SectionError as error:
            raise forms.ValidationError(str(error)) from None
        return data


@admin.register(Section)
class SectionAdmin(admin.ModelAdmin):
    form = SectionForm
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ("__str__", "client_id", "client_type", "first_party", "rules")
    list_select_related = ("application",)
    search_fields = ("application__name", "application__client_id")
    readonly_fields = ("client_id",)
    actions = ("rotate_secret",)
    fieldsets = (
        (None, {"fields": ("name", "client_id", "public", "first_party")}),
        (_("Addresses"), {"fields": ("redirect_uris", "post_logout_redirect_uris")}),
        (_("Who may enter"), {"fields": ("allowed_kinds", "required_right")}),
        (
            _("On the portal home"),
            {"fields": ("description_fr", "description_en", "home_url")},
        ),
        (_("Sign-out"), {"fields": ("backchannel_logout_uri",)}),
    )

    @admin.display(description=_("client ID"))
    def client_id(self, section: Section) -> str:
        return section.application.client_id if section.pk else "—"

    @admin.display(description=_("client type"))
    def client_type(self, section: Section) -> str:
        return section.application.get_client_type_display()

    @admin.display(description=_("who may enter"))
    def rules(self, section: Section) -> str:
        kinds = ", ".join(section.allowed_kinds) or gettext("every kind")
        return f"{kinds} · {section.required_right}" if section.required_right else kinds

    def save_model(self, request: HttpRequest, obj: Section, form: SectionForm, change: bool):
        data = form.cleaned_data
        if not change:
            application, secret = section_add(
                name=data["name"],
                redirect_uris=_uris(data["redirect_uris"]),
                post_logout_redirect_uris=_uris(data["post_logout_redirect_uris"]),
                backchannel_logout_uri=data["backchannel_logout_uri"],
                public=data["public"],
                allowed_kinds=data["allowed_kinds"],
                required_right=data["required_right"],
                first_party=data["first_party"],
                description_fr=data["description_fr"],
                description_en=data["description_en"],
                home_url=data["home_url"],
                actor=request.user,
                request=request,
            )
            # The admin's own redirect and log entry need the saved row.
            obj.pk, obj.application = application.section.pk, application
            request._section_secret = secret  # shown once by response_add
            return
        application = obj.application
        application.name = data["name"]
        application.redirect_uris = " ".join(_uris(data["redirect_uris"]))
        application.post_logout_redirect_uris = " ".join(_uris(data["post_logout_redirect_uris"]))
        section_change(section=obj, changed=form.changed_data, actor=request.user, request=request)

    def delete_model(self, request: HttpRequest, obj: Section) -> None:
        section_remove(client_id=obj.application.client_id, actor=request.user, request=request)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Section]) -> None:
        for section in queryset.select_related("application"):
            self.delete_model(request, section)

    @admin.action(description=_("Give the selected sections a new secret (shown once)"))
    def rotate_secret(
        self, request: HttpRequest, queryset: QuerySet[Section]
    ) -> HttpResponse | None:
        shown = []
        for section in queryset.select_related("application"):
            application = section.application
            try:
                secret = section_secret_rotate(
                    client_id=application.client_id, actor=request.user, request=request
                )
            except SectionError as error:
                self.message_user(request, f"{application.name}: {error}", messages.WARNING)
                continue
            shown.append(
                {"name": application.name, "client_id": application.client_id, "secret": secret}
            )
        return self._secrets_page(request, shown) if shown else None

    def _secrets_page(self, request: HttpRequest, shown: list[dict[str, str]]) -> HttpResponse:
        """The new secrets, on a page of their own: never in a message, a cookie or a session."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Client secret"),
            "issuer": oidc_issuer(),
            "secrets": shown,
        }
        response = render(request, "admin/oidc/section/secret.html", context)
        response["Cache-Control"] = "no-store"
        return response

    def response_add(self, request: HttpRequest, obj: Section, *args: Any) -> HttpResponse:
        secret = getattr(request, "_section_secret", "")
        if not secret:
            return super().response_add(request, obj, *args)
        application = obj.application
        return self._secrets_page(
            request,
            [{"name": application.name, "client_id": application.client_id, "secret": secret}],
        )


# django-oauth-toolkit's own page for applications stays (tokens, grant types), audited too.
admin.site.unregister(Application)


@admin.register(Application)
class AuditedApplicationAdmin(ApplicationAdmin):
    def save_model(self, request: HttpRequest, obj: Application, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        event_record(
            "oidc.client_changed" if change else "oidc.client_added",
            request=request,
            by=request.user.email,
            client=obj.client_id,
            name=obj.name,
            fields=list(form.changed_data),
        )

    def delete_model(self, request: HttpRequest, obj: Application) -> None:
        event_record(
            "oidc.client_removed",
            request=request,
            by=request.user.email,
            client=obj.client_id,
            name=obj.name,
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Application]) -> None:
        for application in queryset:
            self.delete_model(request, application)
