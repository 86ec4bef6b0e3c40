"""The hash chain: ``seq`` and ``chain_hash`` on every event, and the chain head; and whom an
event concerned (``subject_user_id``, ``subject_username``: a token's owner, a failed sign-in's
named user).

Rows already in the log are chained in their id order (the order they were written). The
append-only triggers are dropped for the backfill and put back after it (on SQLite, adding a
unique column rebuilds the table, which drops its triggers anyway), with the new SQLite trigger
that refuses ``INSERT OR REPLACE`` over a stored row.
"""

from django.db import migrations, models

from acuknee.audit import chain, guard


def unguard(apps, schema_editor):
    guard.uninstall(schema_editor.connection)


def reguard(apps, schema_editor):
    guard.uninstall(schema_editor.connection)
    guard.install(schema_editor.connection)


def guard_without_chain(apps, schema_editor):
    """Reversing: the update and delete triggers as 0002 made them (no ``seq`` to check)."""
    connection = schema_editor.connection
    if connection.vendor != "sqlite":
        guard.install(connection)
        return
    with connection.cursor() as cursor:
        for name, sql in guard.SQLITE_TRIGGERS.items():
            if name != guard.SQLITE_REPLACE_TRIGGER:
                cursor.execute(sql)


def backfill(apps, schema_editor):
    using = schema_editor.connection.alias
    events = apps.get_model("audit", "AuditEvent").objects.using(using)
    previous, seq = chain.GENESIS, 0
    for event in events.order_by("id").iterator(chunk_size=2000):
        seq += 1
        event.seq = seq
        values = {name: getattr(event, name) for name in chain.CHAINED_FIELDS}
        previous = chain.link(previous, values)
        events.filter(pk=event.pk).update(seq=seq, chain_hash=previous)
    apps.get_model("audit", "AuditChainHead").objects.using(using).create(
        pk=1, seq=seq, chain_hash=previous
    )


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_triggers")]

    operations = [
        migrations.RunPython(unguard, guard_without_chain),
        migrations.CreateModel(
            name="AuditChainHead",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("seq", models.BigIntegerField(default=0)),
                ("chain_hash", models.CharField(default=chain.GENESIS, max_length=64)),
            ],
        ),
        migrations.AddField(
            model_name="auditevent",
            name="subject_user_id",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="subject_username",
            field=models.CharField(blank=True, max_length=150),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="seq",
            field=models.BigIntegerField(blank=True, editable=False, null=True, unique=True),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="chain_hash",
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.RunPython(reguard, unguard),
    ]
