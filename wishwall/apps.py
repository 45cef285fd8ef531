from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class WishwallConfig(AppConfig):
    name = "wishwall"
    verbose_name = _("Wish wall")

    def ready(self):
        from wishwall.groups import wishwall_permissions_ensure

        post_migrate.connect(
            wishwall_permissions_ensure, sender=self, dispatch_uid="wishwall.permissions_ensure"
        )
