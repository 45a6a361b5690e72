"""Outbox bodies sealed at rest; the bodies of mail already sent (or given up) wiped.

The derivation is copied from vestibule.notifications.sealing at the time of writing, so
this migration keeps working whatever that module becomes.
"""

import base64

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.db import migrations, models
from django.utils.crypto import salted_hmac

PURPOSE = "vestibule.notifications.outbox"
WAITING = ["ready", "sending"]


def _fernet():
    keys = []
    for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]:
        digest = salted_hmac(PURPOSE, "fernet-key", secret=secret, algorithm="sha256").digest()
        keys.append(Fernet(base64.urlsafe_b64encode(digest)))
    return MultiFernet(keys)


def seal_waiting_wipe_the_rest(apps, schema_editor):
    Message = apps.get_model("notifications", "Message")
    Message.objects.exclude(state__in=WAITING).update(sealed_text="", sealed_html="")
    fernet = _fernet()
    for message in Message.objects.filter(state__in=WAITING).iterator():
        message.sealed_text = fernet.encrypt(message.sealed_text.encode()).decode()
        if message.sealed_html:
            message.sealed_html = fernet.encrypt(message.sealed_html.encode()).decode()
        message.save(update_fields=["sealed_text", "sealed_html"])


def open_waiting(apps, schema_editor):
    Message = apps.get_model("notifications", "Message")
    fernet = _fernet()
    for message in Message.objects.filter(state__in=WAITING).iterator():
        for field in ("sealed_text", "sealed_html"):
            value = getattr(message, field)
            if value:
                setattr(message, field, fernet.decrypt(value.encode()).decode())
        message.save(update_fields=["sealed_text", "sealed_html"])


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
    ]

    operations = [
        migrations.RenameField("message", "text_body", "sealed_text"),
        migrations.RenameField("message", "html_body", "sealed_html"),
        migrations.AlterField(
            model_name="message",
            name="sealed_text",
            field=models.TextField(blank=True, verbose_name="text"),
        ),
        migrations.RunPython(seal_waiting_wipe_the_rest, open_waiting),
    ]
