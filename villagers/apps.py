from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class VillagersConfig(AppConfig):
    name = "villagers"
    verbose_name = _("Villagers")

    def ready(self):
        from django.contrib.auth.signals import user_login_failed

        from villagers.auth import login_failed_record
        from villagers.groups import groups_ensure

        # Groups and their admin permissions are set-up data, refreshed after every migrate
        # (and every flush between tests): once, after this app's own permissions exist;
        # each app grants its own the same way.
        post_migrate.connect(groups_ensure, sender=self, dispatch_uid="villagers.groups_ensure")
        # Every failed sign-in (staff page, card page, the back office, a PIN refused) sends
        # django.contrib.auth's signal: audited here, where whose name or card it was is known.
        user_login_failed.connect(login_failed_record, dispatch_uid="villagers.auth.login_failed")
