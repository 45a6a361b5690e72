"""Each event remembers its writing transaction (PostgreSQL), for a feed without gaps.

A BEFORE INSERT trigger sets `xid` from pg_current_xact_id() (the top-level transaction's
id, also inside a savepoint), whatever value the insert carried: Django writes the field's
default, 0, and the trigger overrides it. The rows already there keep 0: they are committed,
and the feed serves them first, in id order. SQLite has no trigger: its writers are
serialised (BEGIN IMMEDIATE), so there id order is commit order.
"""

from django.db import migrations, models

TRIGGER = """
CREATE FUNCTION audit_event_xid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.xid := pg_current_xact_id()::text::bigint;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_event_xid BEFORE INSERT ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_xid();
"""

TRIGGER_DROP = """
DROP TRIGGER IF EXISTS audit_event_xid ON audit_event;
DROP FUNCTION IF EXISTS audit_event_xid();
"""


def trigger_create(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER)


def trigger_drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER_DROP)


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0002_alter_event_subject"),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="xid",
            field=models.BigIntegerField(default=0, editable=False, verbose_name="transaction"),
        ),
        migrations.AddIndex(
            model_name="event",
            index=models.Index(fields=["xid", "id"], name="audit_event_feed"),
        ),
        migrations.RunPython(trigger_create, trigger_drop),
    ]
