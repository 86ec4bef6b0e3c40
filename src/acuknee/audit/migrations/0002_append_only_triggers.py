"""Triggers that make the database itself refuse UPDATE and DELETE on audit events."""

from django.db import migrations

from acuknee.audit import guard


def forwards(apps, schema_editor):
    guard.install(schema_editor.connection)


def backwards(apps, schema_editor):
    guard.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
