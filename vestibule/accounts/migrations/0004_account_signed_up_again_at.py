from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_account_region"),
    ]

    operations = [
        migrations.AddField(
            model_name="account",
            name="signed_up_again_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="signed up again"),
        ),
    ]
