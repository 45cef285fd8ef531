"""Points accounts and the append-only ledger.

The ledger knows nothing of goods: the store records its redemptions and points at the
entry that debited them.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Account(models.Model):
    """One per household. `balance` caches the sum of its entries, updated under a row lock."""

    household = models.OneToOneField(
        "villagers.Household",
        verbose_name=_("household"),
        on_delete=models.PROTECT,
        related_name="account",
    )
    # Denormalised from the household so village-scoped aggregates need no join.
    village = models.ForeignKey(
        "villagers.Village",
        verbose_name=_("village"),
        on_delete=models.PROTECT,
        related_name="accounts",
    )
    balance = models.IntegerField(_("balance"), default=0)
    opened_at = models.DateTimeField(_("opened"), auto_now_add=True)

    class Meta:
        verbose_name = _("points account")
        verbose_name_plural = _("points accounts")
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="account_balance_not_negative")
        ]

    def __str__(self):
        return f"{self.household} {self.balance}"


class Entry(models.Model):
    """One change of points. Never updated or deleted (a database trigger refuses both)."""

    class Kind(models.TextChoices):
        OPENING = "opening", _("opening grant")
        AWARD = "award", _("award")
        DEDUCTION = "deduction", _("deduction")
        REDEMPTION = "redemption", _("redemption")
        REVERSAL = "reversal", _("reversal")
        # Deliberately no kind that turns points into cash: points are never paid out.

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="entries"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    points = models.IntegerField(_("points"))
    balance_after = models.IntegerField(_("balance after"))
    created_at = models.DateTimeField(_("posted"), auto_now_add=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("posted by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    memo = models.CharField(_("memo"), max_length=200, blank=True)
    # A reversal points at the entry it cancels; unique, so an entry is reversed at most once.
    reverses = models.OneToOneField(
        "self",
        verbose_name=_("reverses"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reversed_by",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        indexes = [models.Index(fields=["account", "-id"], name="entry_account_recent")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="reversal", reverses__isnull=False)
                | (~Q(kind="reversal") & Q(reverses__isnull=True)),
                name="entry_reversal_points_at_entry",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["opening", "award"]) | Q(points__gt=0),
                name="entry_credit_kinds_positive",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["deduction", "redemption"]) | Q(points__lt=0),
                name="entry_debit_kinds_negative",
            ),
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="entry_balance_after_not_negative"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.points:+d}"
