from django.apps import AppConfig


class CommandsConfig(AppConfig):
    name = "acuknee.commands"
    label = "acuknee_commands"
    verbose_name = "acuknee operational commands"
