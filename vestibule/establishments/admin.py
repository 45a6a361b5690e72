from datetime import datetime

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from vestibule.establishments.models import Establishment, Invitation, Membership
from vestibule.establishments.onboarding import EstablishmentRefused, establishment_open


class EstablishmentOpenForm(forms.Form):
    """`vestibule create-establishment` in the console: the place and its first administrator."""

    name = forms.CharField(label=_("name"), max_length=200)
    region = forms.CharField(label=_("region"), max_length=32, required=False)
    admin_email = forms.EmailField(label=_("Administrator's e-mail"), max_length=254)
    admin_name = forms.CharField(label=_("Administrator's name"), max_length=300, required=False)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ("account", "rights", "created_at")
    # Rights change through the portal's pages, which keep one administrator and audit.
    readonly_fields = ("account", "rights", "created_at")
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Establishment)
class EstablishmentAdmin(admin.ModelAdmin):
    list_display = ("name", "public_id", "region", "created_at")
    search_fields = ("name", "public_id")
    inlines = [MembershipInline]

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        """Open an establishment: it and an invitation of its first administrator, with every
        right, who becomes its owner on accepting (seed 001: no one else can add its users)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = EstablishmentOpenForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            try:
                invitation = establishment_open(
                    name=form.cleaned_data["name"],
                    admin_email=form.cleaned_data["admin_email"],
                    admin_name=form.cleaned_data["admin_name"],
                    region=form.cleaned_data["region"],
                    actor=request.user,
                    request=request,
                )
            except EstablishmentRefused as refused:
                form.add_error(None, refused.message)
        if form.is_valid():
            establishment = invitation.establishment
            self.message_user(
                request,
                gettext(
                    "The establishment %(name)s has been created; an invitation has been sent to"
                    " %(email)s, who becomes its administrator on accepting it."
                )
                % {"name": establishment, "email": invitation.email},
                messages.SUCCESS,
            )
            change = reverse("admin:establishments_establishment_change", args=[establishment.pk])
            return HttpResponseRedirect(change)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "form": form,
            "title": gettext("Open an establishment"),
        }
        return render(request, "admin/establishments/establishment/open.html", context)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("account", "establishment", "rights", "created_at")
    search_fields = ("account__email", "establishment__name", "establishment__public_id")
    readonly_fields = ("account", "establishment", "rights", "created_at")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = (
        "email",
        "establishment",
        "state_shown",
        "created_at",
        "expires_shown",
        "accepted_at",
    )
    list_filter = ("state",)
    search_fields = ("email", "establishment__name")
    exclude = ("token",)
    list_select_related = ("establishment", "token")
    readonly_fields = (
        "establishment",
        "email",
        "first_name",
        "last_name",
        "rights",
        "for_existing_account",
        "inviter",
        "state",
        "expires_shown",
        "created_at",
        "accepted_at",
        "accepted_by",
    )

    @admin.display(description=_("expires"), ordering="token__expires_at")
    def expires_shown(self, invitation: Invitation) -> datetime:
        return invitation.expires_at

    @admin.display(description=_("state"), ordering="state")
    def state_shown(self, invitation: Invitation) -> str:
        return invitation.current_state.label

    def has_add_permission(self, request, obj=None) -> bool:
        return False
