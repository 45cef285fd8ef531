from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    """The top layer: pages that combine several apps (public notice, dashboards, county).

    It imports villagers, points, store and wishwall; none of them imports it.
    """

    name = "reports"
    verbose_name = _("Reports")
