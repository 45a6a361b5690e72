from django.contrib import admin

from vestibule.registry.models import Member


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ("code", "kind", "first_name", "last_name", "email", "region", "active")
    list_filter = ("kind", "active", "region")
    search_fields = ("code", "email", "first_name", "last_name")
