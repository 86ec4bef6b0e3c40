"""Knee skin temperature was pooled as "circulation"; no validated clinical measure of knee
circulation exists, and acuknee reads skin temperature as an exploratory marker of inflammation
(instruments.toml [[domain]]). Its four columns are renamed, their rows kept, and described as
what they hold."""

from django.db import migrations, models

NAMED = "inflammation, skin temperature"

operations: list[migrations.operations.base.Operation] = [
    migrations.RenameField(
        model_name="courseoutcome",
        old_name=f"circulation_{part}",
        new_name=f"skin_temperature_{part}",
    )
    for part in ("baseline", "final", "improvement", "mic_reached")
]
operations += [
    migrations.AlterField(
        model_name="courseoutcome",
        name="skin_temperature_baseline",
        field=models.FloatField(help_text=f"{NAMED} (exploratory): baseline, degC", null=True),
    ),
    migrations.AlterField(
        model_name="courseoutcome",
        name="skin_temperature_final",
        field=models.FloatField(help_text=f"{NAMED}: last follow-up, degC", null=True),
    ),
    migrations.AlterField(
        model_name="courseoutcome",
        name="skin_temperature_improvement",
        field=models.FloatField(
            help_text=f"{NAMED}: improvement from baseline, degC, positive is better", null=True
        ),
    ),
    migrations.AlterField(
        model_name="courseoutcome",
        name="skin_temperature_mic_reached",
        field=models.BooleanField(
            help_text=f"{NAMED}: the improvement reaches the measure's minimal important change",
            null=True,
        ),
    ),
]


class Migration(migrations.Migration):
    dependencies = [
        ("research", "0003_age_band_under_18"),
    ]

    operations = operations
