from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    """The top layer: pages that combine several apps (public notice, dashboards, county).

    It imports villagers, points, store and wishwall; none of them imports it.
    """

    name = "reports"
    verbose_name = _("Reports")

    def ready(self):
        from core.months import closed_month_finder_register
        from reports.models import PublishedNotice

        def published(village_id, first):
            return PublishedNotice.objects.filter(village_id=village_id, month=first).exists()

        closed_month_finder_register(published)
