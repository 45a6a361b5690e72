import django.db.models.deletion
from django.db import migrations, models


def invitations_to_tokens(apps, schema_editor):
    """Each invitation's key moves to a token with its expiry. Keys were stored as plain
    SHA-256, from which the keyed digest cannot be derived: links sent before stop working,
    and the inviter sends them again (the invitation stays listed as pending)."""
    Invitation = apps.get_model("establishments", "Invitation")
    Token = apps.get_model("tokens", "Token")
    for invitation in Invitation.objects.all().iterator():
        invitation.token = Token.objects.create(
            purpose="invitation",
            digest=invitation.key_digest,
            created_at=invitation.created_at,
            expires_at=invitation.expires_at,
            used_at=(
                (invitation.accepted_at or invitation.created_at)
                if invitation.state != "pending"
                else None
            ),
        )
        invitation.save(update_fields=["token"])


class Migration(migrations.Migration):
    dependencies = [
        ("establishments", "0003_membership_is_owner"),
        ("tokens", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="invitation",
            name="token",
            field=models.OneToOneField(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="invitation",
                to="tokens.token",
            ),
        ),
        migrations.RunPython(invitations_to_tokens, migrations.RunPython.noop),
        migrations.RemoveField(model_name="invitation", name="key_digest"),
        migrations.RemoveField(model_name="invitation", name="expires_at"),
        migrations.AlterField(
            model_name="invitation",
            name="token",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="invitation",
                to="tokens.token",
            ),
        ),
    ]
