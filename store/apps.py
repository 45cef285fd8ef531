from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class StoreConfig(AppConfig):
    name = "store"
    verbose_name = _("Store")

    def ready(self):
        from store.groups import store_permissions_ensure

        post_migrate.connect(
            store_permissions_ensure, sender=self, dispatch_uid="store.permissions_ensure"
        )
