from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WishwallConfig(AppConfig):
    name = "wishwall"
    verbose_name = _("Wish wall")
