import django.db.models.deletion
from django.db import migrations, models


def access_codes_to_tokens(apps, schema_editor):
    """Each code's digest, expiry and use move to a token. The digest is kept as it is: the
    access-code purpose keeps the salt codes had, so codes e-mailed before still work."""
    AccessCode = apps.get_model("coverage", "AccessCode")
    Token = apps.get_model("tokens", "Token")
    for access_code in AccessCode.objects.all().iterator():
        access_code.token = Token.objects.create(
            purpose="access_code",
            digest=access_code.code_digest,
            created_at=access_code.created_at,
            expires_at=access_code.expires_at,
            used_at=access_code.used_at,
        )
        access_code.save(update_fields=["token"])


class Migration(migrations.Migration):
    dependencies = [
        ("coverage", "0002_family_invitation"),
        ("tokens", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="accesscode",
            name="token",
            field=models.OneToOneField(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="access_code",
                to="tokens.token",
            ),
        ),
        migrations.RunPython(access_codes_to_tokens, migrations.RunPython.noop),
        migrations.RemoveField(model_name="accesscode", name="code_digest"),
        migrations.RemoveField(model_name="accesscode", name="expires_at"),
        migrations.RemoveField(model_name="accesscode", name="used_at"),
        migrations.AlterField(
            model_name="accesscode",
            name="token",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="access_code",
                to="tokens.token",
            ),
        ),
    ]
