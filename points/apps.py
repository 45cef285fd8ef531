from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class PointsConfig(AppConfig):
    name = "points"
    verbose_name = _("Points")

    def ready(self):
        from points.groups import points_permissions_ensure

        post_migrate.connect(
            points_permissions_ensure, sender=self, dispatch_uid="points.permissions_ensure"
        )
