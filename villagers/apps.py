from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class VillagersConfig(AppConfig):
    name = "villagers"
    verbose_name = _("Villagers")

    def ready(self):
        from villagers.groups import groups_ensure

        # Groups and their admin permissions are set-up data, refreshed after every migrate
        # (and every flush between tests): once, after this app's own permissions exist;
        # each app grants its own the same way.
        post_migrate.connect(groups_ensure, sender=self, dispatch_uid="villagers.groups_ensure")
