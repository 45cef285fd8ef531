from django.apps import AppConfig


class AidaoConfig(AppConfig):
    name = "aidao"
    verbose_name = "Aidao"
