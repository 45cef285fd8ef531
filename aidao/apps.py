from django.apps import AppConfig


class AidaoConfig(AppConfig):
    """The project package: settings, urls, site-wide views and commands (no models)."""

    name = "aidao"
    verbose_name = "aidao"
