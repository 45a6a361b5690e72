from datetime import datetime

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from vestibule.establishments.models import Establishment, Invitation, Membership


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
