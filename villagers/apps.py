from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class VillagersConfig(AppConfig):
    name = "villagers"
    verbose_name = _("Villagers")

    def ready(self):
        from villagers.groups import groups_ensure

        # Groups and their admin permissions are set-up data, refreshed after every migrate.
        post_migrate.connect(groups_ensure, dispatch_uid="villagers.groups_ensure")
