from django.apps import AppConfig


class RecordsConfig(AppConfig):
    """Label `clinic`: the tables (`clinic_*`) and the migration history keep their names."""

    name = "acuknee.records"
    label = "clinic"
    verbose_name = "acuknee clinical records"
