"""The store: zones, items, stock movements, donors and donations, counter redemptions."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Donor(models.Model):
    class Kind(models.TextChoices):
        COMPANY = "company", _("caring company (愛心企業)")
        PERSON = "person", _("caring person (愛心人士)")
        GOVERNMENT = "government", _("government body")

    village = models.ForeignKey(
        "villagers.Village",
        verbose_name=_("village"),
        on_delete=models.PROTECT,
        related_name="donors",
    )
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    contact = models.CharField(_("contact"), max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("donor")
        verbose_name_plural = _("donors")
        constraints = [
            models.UniqueConstraint(fields=["village", "name"], name="donor_unique_name")
        ]

    def __str__(self):
        return self.name
