"""Export jobs beat while they run, so a job whose worker died can be failed and reported."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("clinic", "0009_token_scopes_expiry")]

    operations = [
        migrations.AddField(
            model_name="exportjob",
            name="heartbeat_at",
            field=models.DateTimeField(
                blank=True, help_text="last sign of life from the worker running it", null=True
            ),
        ),
    ]
