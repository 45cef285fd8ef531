from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AidaoConfig(AppConfig):
    name = "aidao"
    verbose_name = _("Audit log")
