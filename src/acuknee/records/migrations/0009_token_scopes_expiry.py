"""API tokens get scopes and an expiry.

Tokens made before this migration could read and write everything their user could, and never
expired: they keep read and write (not bulk export, which now needs a token made for it) and
expire DEFAULT_LIFETIME (90 days) after the migration runs.
"""

import datetime as dt

from django.db import migrations, models
from django.utils import timezone

EXISTING_SCOPES = "read write"
EXISTING_LIFETIME = dt.timedelta(days=90)


def scope_existing(apps, schema_editor):
    tokens = apps.get_model("clinic", "ApiToken").objects.using(schema_editor.connection.alias)
    tokens.update(scopes=EXISTING_SCOPES, expires_at=timezone.now() + EXISTING_LIFETIME)


class Migration(migrations.Migration):
    dependencies = [("clinic", "0008_fhir_observation_count")]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="scopes",
            field=models.CharField(
                default="read", help_text="space-separated TokenScope values", max_length=40
            ),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunPython(scope_existing, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(),
        ),
    ]
