from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AidaoConfig(AppConfig):
    """The project package: settings, urls, site-wide views and commands (no models)."""

    name = "aidao"
    verbose_name = "aidao"


class AidaoAdminConfig(admin_apps.AdminConfig):
    """Django's admin on the project's site (aidao.admin_site), Django's documented way to
    change a view of the default site; INSTALLED_APPS names it in django.contrib.admin's
    place."""

    default = False  # the "aidao" app itself is AidaoConfig
    default_site = "aidao.admin_site.AidaoAdminSite"
