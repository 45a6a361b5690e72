from django.db import migrations, models


def owners_mark(apps, schema_editor) -> None:
    """Each establishment's first administrator (by membership date) becomes its owner."""
    from vestibule.config import get_profile

    administering = {right.key for right in get_profile().access_rights if right.administers}
    Establishment = apps.get_model("establishments", "Establishment")
    Membership = apps.get_model("establishments", "Membership")
    for establishment in Establishment.objects.all():
        memberships = Membership.objects.filter(establishment=establishment).order_by(
            "created_at", "pk"
        )
        first = next((m for m in memberships if administering & set(m.rights)), None)
        if first is not None:
            Membership.objects.filter(pk=first.pk).update(is_owner=True)


class Migration(migrations.Migration):
    dependencies = [
        ("establishments", "0002_alter_invitation_state"),
    ]

    operations = [
        migrations.AddField(
            model_name="membership",
            name="is_owner",
            field=models.BooleanField(default=False, verbose_name="owner"),
        ),
        migrations.RunPython(owners_mark, migrations.RunPython.noop),
    ]
