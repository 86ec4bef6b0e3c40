from django.apps import AppConfig


class ClinicConfig(AppConfig):
    name = "acuknee.clinic"
    label = "clinic"
    verbose_name = "acuknee clinic"
