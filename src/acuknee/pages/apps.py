from django.apps import AppConfig


class PagesConfig(AppConfig):
    name = "acuknee.pages"
    label = "pages"
    verbose_name = "acuknee practitioner pages"
