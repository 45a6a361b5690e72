"""API clients in the admin console: seen, their scopes and rate changed, removed, through
the same services as `vestibule api-client` (checked and audited the same way). They are
added on the command line, which shows the secret once."""

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from vestibule.api.clients import api_client_change, api_client_remove
from vestibule.api.models import API_SCOPES, ApiClient


class ApiClientForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("scopes"),
        choices=[(scope, scope) for scope in API_SCOPES],
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The client's tokens holding a scope taken away stop working at once."),
    )

    class Meta:
        model = ApiClient
        fields = ["scopes", "rate_per_minute"]


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    form = ApiClientForm
    list_display = ["name", "client_id", "scope_list", "rate_per_minute", "created_at"]
    readonly_fields = ["name", "client_id", "created_at", "created_by"]
    fields = ["name", "client_id", "scopes", "rate_per_minute", "created_at", "created_by"]
    search_fields = ["name", "application__client_id"]

    @admin.display(description=_("scopes"))
    def scope_list(self, client: ApiClient) -> str:
        return " ".join(client.scopes)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # `vestibule api-client add`: the secret is shown there, once

    def save_model(self, request: HttpRequest, obj: ApiClient, form: Any, change: bool) -> None:
        api_client_change(
            client=obj,
            scopes=form.cleaned_data["scopes"],
            rate_per_minute=form.cleaned_data["rate_per_minute"],
            actor=request.user,
            request=request,
        )

    def delete_model(self, request: HttpRequest, obj: ApiClient) -> None:
        api_client_remove(client_id=obj.client_id, actor=request.user, request=request)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for client in queryset.select_related("application"):
            api_client_remove(client_id=client.client_id, actor=request.user, request=request)
