"""The registry in the admin console: visible to staff, never edited by hand."""

import pytest

from tests.factories import make_member
from vestibule.registry.models import Member

pytestmark = pytest.mark.django_db


def test_staff_see_the_roster_but_cannot_add_change_or_delete(admin_client):
    member = make_member()
    listing = admin_client.get("/admin/registry/member/")
    assert listing.status_code == 200 and member.code in listing.content.decode()
    assert admin_client.get(f"/admin/registry/member/{member.pk}/change/").status_code == 200
    assert admin_client.get("/admin/registry/member/add/").status_code == 403
    admin_client.post(
        f"/admin/registry/member/{member.pk}/change/",
        {"kind": "member", "code": "not-a-code", "email": "x@example.org", "active": "on"},
    )
    assert admin_client.post(f"/admin/registry/member/{member.pk}/delete/").status_code == 403
    member.refresh_from_db()
    assert member.code == "123456"
    assert Member.objects.count() == 1
