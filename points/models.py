"""Points accounts and the append-only ledger.

The ledger knows nothing of goods: the store records its redemptions and points at the
entry that debited them.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import WriterOwnedColumns


class Account(WriterOwnedColumns, models.Model):
    """One per household. `balance` caches the sum of its entries, updated under a row lock."""

    writer_owned = ("balance", "held")  # moved by points.ledger only

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
    balance = models.IntegerField(_("balance"), default=0, editable=False)  # points.ledger only
    # Points promised to the household's open reservations (store.Reservation): part of the
    # balance that nothing else may spend. Moved only by points.ledger.hold_plan.
    held = models.IntegerField(_("held for reservations"), default=0, db_default=0, editable=False)
    opened_at = models.DateTimeField(_("opened"), auto_now_add=True)

    class Meta:
        verbose_name = _("points account")
        verbose_name_plural = _("points accounts")
        constraints = [
            models.CheckConstraint(
                condition=Q(balance__gte=0), name="account_balance_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(held__gte=0, held__lte=models.F("balance")),
                name="account_held_within_balance",
            ),
        ]

    def __str__(self):
        return f"{self.household} {self.balance}"

    @property
    def spendable(self) -> int:
        """What the household may spend now: the balance less what its reservations hold
        (the floor points.ledger.balance_after keeps a debit above)."""
        return self.balance - self.held


class Entry(models.Model):
    """One change of points. Never updated or deleted (a database trigger refuses both)."""

    class Kind(models.TextChoices):
        OPENING = "opening", _("opening grant")
        AWARD = "award", _("award")
        DEDUCTION = "deduction", _("deduction")
        REDEMPTION = "redemption", _("redemption")
        REVERSAL = "reversal", _("reversal")
        # A household's balance brought over from the village's paper ledger (结转积分), less
        # the card's opening grant (CarryOver); either sign, never zero.
        CARRIED = "carried", _("balance carried over")

        # Spendable points above the kept amount, at an opt-in yearly settlement the
        # supervisor approved in advance (points.settlement).
        LAPSE = "lapse", _("lapsed at the yearly settlement")
        # Deliberately no kind that turns points into cash: points are never paid out.

    account = models.ForeignKey(
        Account,
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="entries",
        db_index=False,  # entry_account_recent (account, -id) serves every lookup
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    points = models.IntegerField(_("points"))
    balance_after = models.IntegerField(_("balance after"))
    # A default rather than auto_now_add so the demo loader can lay down a backdated history
    # (entry_post's `at`, never passed by views); the row is immutable once written.
    created_at = models.DateTimeField(_("posted"), default=timezone.now, db_index=True)
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
        indexes = [
            models.Index(fields=["account", "-id"], name="entry_account_recent"),
            # A village's entries of a month (the notice, the reports) through its accounts,
            # without reading the rest of the county's month.
            models.Index(fields=["account", "created_at"], name="entry_account_time"),
            # Points a household earned this year (its rank, points.sql.VILLAGER_STATE): the
            # awards and reversals of a village's accounts read from the index alone.
            models.Index(
                fields=["account", "created_at"],
                include=["points"],
                condition=Q(kind="award"),
                name="entry_award_time",
            ),
            models.Index(
                fields=["account", "created_at"],
                include=["points", "reverses"],
                condition=Q(kind="reversal"),
                name="entry_reversal_time",
            ),
        ]
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
                condition=~Q(kind__in=["deduction", "redemption", "lapse"]) | Q(points__lt=0),
                name="entry_debit_kinds_negative",
            ),
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="entry_balance_after_not_negative"
            ),
            models.CheckConstraint(
                condition=~Q(kind="carried") | ~Q(points=0), name="entry_carried_not_zero"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.points:+d}"

    @property
    def is_reversible(self) -> bool:
        """An award or a deduction (entry_reverse): a redemption is voided instead, and the
        grants, the carried-over balances, the lapses and reversals are not undone."""
        return self.kind in (self.Kind.AWARD, self.Kind.DEDUCTION)


class Rule(models.Model):
    """One line of the village's points rules (积分管理细则): data the village edits."""

    class Category(models.TextChoices):
        LIVING_ENVIRONMENT = "environment", _("living environment")
        FAMILY_VIRTUE = "virtue", _("family virtue")
        INDUSTRY_INCOME = "industry", _("industry and income")
        COLLECTIVE_ACTIVITY = "collective", _("collective activity")
        VOLUNTARY_LABOUR = "labour", _("voluntary labour")
        HONOURS = "honours", _("honours")
        DEDUCTIONS = "deductions", _("deductions")
        # The one rule under which a village's paper balances are proposed (CarryOver): made
        # by the import, never active, never chosen for a proposal nor edited.
        CARRIED_OVER = "carried", _("balance carried over")

    village = models.ForeignKey(
        "villagers.Village", verbose_name=_("village"), on_delete=models.PROTECT, related_name="+"
    )
    code = models.CharField(_("code"), max_length=20)
    category = models.CharField(_("category"), max_length=12, choices=Category.choices)
    description = models.CharField(_("description"), max_length=200)
    points = models.IntegerField(
        _("points"), help_text=_("Positive for an award, negative for a deduction.")
    )
    monthly_cap = models.PositiveIntegerField(
        _("monthly cap per household"),
        null=True,
        blank=True,
        help_text=_("Most points one household may get (or lose) by this rule in a month."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["village", "category", "code"]
        verbose_name = _("points rule")
        verbose_name_plural = _("points rules")
        constraints = [
            models.UniqueConstraint(
                fields=["village", "code"],
                name="rule_unique_code",
                violation_error_message=_("The village already has a rule with this code."),
            ),
            models.CheckConstraint(condition=~Q(points=0), name="rule_points_not_zero"),
            models.CheckConstraint(
                condition=~Q(category="deductions") | Q(points__lt=0),
                name="rule_deductions_negative",
            ),
        ]

    def __str__(self):
        return f"{self.code} {self.description} ({self.points:+d})"

    def clean(self):
        if self.points is None:
            return  # not a number: the form field says so
        if self.points == 0:
            raise ValidationError({"points": _("A rule moves points: it cannot be zero.")})
        if self.category == self.Category.DEDUCTIONS and self.points > 0:
            raise ValidationError({"points": _("A deduction rule has negative points.")})
        # The cap counts the points given or taken (points.services._cap_used): one below the
        # rule's own would leave every household of a round or activity out, "already counted
        # this month". A rule saved so before this check may still be changed otherwise (its
        # points and cap as they were): switched on or off, renamed.
        if self.monthly_cap is not None and self.monthly_cap < abs(self.points):
            saved = Rule.objects.filter(pk=self.pk).values_list("points", "monthly_cap").first()
            if saved != (self.points, self.monthly_cap):
                raise ValidationError(
                    {
                        "monthly_cap": _(
                            "The monthly cap (%(cap)d) is below the rule's own %(points)d "
                            "points: rounds and activities would leave every household out, "
                            "and a proposal would pass it only with fewer points. Make the cap "
                            "at least %(points)d, or leave it empty for no cap."
                        )
                        % {"cap": self.monthly_cap, "points": abs(self.points)}
                    }
                )


class Batch(models.Model):
    """One activity (or one decision) covering many households, proposed and approved as one."""

    village = models.ForeignKey(
        "villagers.Village", verbose_name=_("village"), on_delete=models.PROTECT, related_name="+"
    )
    # Empty when its proposals carry different rules (an inspection round's pass and fail).
    rule = models.ForeignKey(
        Rule, verbose_name=_("rule"), null=True, blank=True, on_delete=models.PROTECT
    )
    title = models.CharField(_("title"), max_length=100)
    date = models.DateField(_("date"))
    place = models.CharField(_("place"), max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("proposed by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name = _("batch")
        verbose_name_plural = _("batches")

    def __str__(self):
        return f"{self.date} {self.title}"


class CarryOver(models.Model):
    """结转积分: a village's balances carried over from its paper ledger, as one batch.

    Each household's paper balance already counts the 100 points (the village's base) its
    paper card started with, and its card here was given the same grant when issued: so the
    carried-over entry is the paper balance less the card's opening grant, and once approved
    the card holds the paper balance plus whatever it earned or spent here since it was
    issued. The paper history, when the file has it, is a record beside the ledger (`history`
    of each line), never posted: the balance alone moves points.
    """

    village = models.ForeignKey(
        "villagers.Village", verbose_name=_("village"), on_delete=models.PROTECT, related_name="+"
    )
    batch = models.OneToOneField(
        Batch, verbose_name=_("batch"), on_delete=models.PROTECT, related_name="carry_over"
    )
    file_name = models.CharField(_("file"), max_length=100)
    # Typed by the manager from the paper ledger; the import is refused unless it is the
    # file's total, so both are kept to show side by side.
    paper_total = models.IntegerField(_("paper ledger's total"))
    file_total = models.IntegerField(_("total of the file's balances"))
    grants_total = models.IntegerField(_("opening grants counted in them"))
    # The upload it was imported from (core.spreadsheet's token): a preview of it confirmed
    # again later, from another tab, is told it was carried over, not that it is out of date.
    upload_token = models.CharField(
        _("upload"), max_length=64, blank=True, default="", db_default="", editable=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("imported by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("imported"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("balances carried over")
        verbose_name_plural = _("balances carried over")

    def __str__(self):
        return f"{self.batch.date} {self.file_name}"

    @property
    def carried_total(self) -> int:
        """What the batch adds to the ledger once approved."""
        return self.file_total - self.grants_total


class CarryOverLine(models.Model):
    """One household's paper balance, the grant counted in it, and its paper history."""

    carry_over = models.ForeignKey(
        CarryOver, verbose_name=_("carried over"), on_delete=models.PROTECT, related_name="lines"
    )
    household = models.ForeignKey(
        "villagers.Household",
        verbose_name=_("household"),
        on_delete=models.PROTECT,
        related_name="carried_over",
    )
    row = models.PositiveIntegerField(_("row of the file"))
    paper_balance = models.PositiveIntegerField(_("paper balance"))
    grant = models.IntegerField(_("opening grant counted"))
    # Empty when the paper balance is the grant: nothing to carry over.
    proposal = models.OneToOneField(
        "Proposal",
        verbose_name=_("proposal"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="carry_over_line",
    )
    # The paper ledger's lines, oldest first: [{"date": "YYYY-MM-DD", "points": n, "what": s}].
    history = models.JSONField(_("paper history"), default=list, blank=True)

    class Meta:
        ordering = ["carry_over", "row"]
        verbose_name = _("balance carried over")
        verbose_name_plural = _("balances carried over")
        constraints = [
            models.UniqueConstraint(
                fields=["carry_over", "household"], name="carry_over_one_line_per_household"
            ),
        ]

    def __str__(self):
        return f"{self.household} {self.paper_balance}"

    @property
    def points(self) -> int:
        return self.paper_balance - self.grant


class InspectionRound(models.Model):
    """A month's 五净一规范 round of one village group (or the whole village), saved at once.

    Saving it records every household's inspection and proposes the village's pass or fail
    rule for each household with a card, as one batch for the supervisor. The rules chosen
    are remembered: the village's next round starts from them.
    """

    village = models.ForeignKey(
        "villagers.Village", verbose_name=_("village"), on_delete=models.PROTECT, related_name="+"
    )
    # Empty for a round of the whole village.
    group = models.ForeignKey(
        "villagers.VillageGroup",
        verbose_name=_("village group"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    date = models.DateField(_("date of the round"))
    pass_rule = models.ForeignKey(
        Rule,
        verbose_name=_("rule for a pass"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    fail_rule = models.ForeignKey(
        Rule,
        verbose_name=_("rule for a fail"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # The proposals' batch; empty when nothing was proposed (no rule chosen, no cards).
    batch = models.OneToOneField(
        Batch,
        verbose_name=_("batch"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="inspection_round",
    )
    inspections = models.ManyToManyField(
        "villagers.Inspection", verbose_name=_("inspections"), related_name="+"
    )
    # Households given no proposal (no card, the rule's monthly cap, nobody at home), and
    # why: [{"household": id, "why": text}].
    not_proposed = models.JSONField(_("households without a proposal"), default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name = _("inspection round")
        verbose_name_plural = _("inspection rounds")
        indexes = [models.Index(fields=["village", "date"], name="round_village_date")]

    def __str__(self):
        return f"{self.date} {self.group or ''}".strip()


def evidence_path(instance, filename):
    # The stored name is ours, never the uploaded one.
    stamp = timezone.now()
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "jpg"
    return f"evidence/{stamp:%Y/%m}/{stamp:%d%H%M%S%f}.{ext}"


class Activity(models.Model):
    """A collective activity or labour day that villagers check in to by scanning its QR code.

    The manager opens it and shows its QR code (a rotating signed link, points.activities);
    each signed-in villager who scans it checks their household in once. Closing it proposes
    the rule's points for every household checked in, as one batch for the supervisor.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("open for check-in")
        CLOSED = "closed", _("closed")

    village = models.ForeignKey(
        "villagers.Village", verbose_name=_("village"), on_delete=models.PROTECT, related_name="+"
    )
    rule = models.ForeignKey(Rule, verbose_name=_("rule"), on_delete=models.PROTECT)
    title = models.CharField(_("activity"), max_length=100)
    date = models.DateField(_("date"))
    place = models.CharField(_("place"), max_length=100, blank=True)
    status = models.CharField(
        _("status"), max_length=6, choices=Status.choices, default=Status.OPEN
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("opened by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # The attendance's proposals; empty while open, or when nobody could be proposed.
    batch = models.OneToOneField(
        Batch,
        verbose_name=_("batch"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="activity",
    )
    # Households checked in but given no proposal at closing, and why: [{"household", "why"}].
    not_proposed = models.JSONField(_("households without a proposal"), default=list, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        indexes = [models.Index(fields=["village", "status"], name="activity_village_status")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="open", closed_at__isnull=True, batch__isnull=True)
                | Q(status="closed", closed_at__isnull=False),
                name="activity_closed_has_time",
            ),
        ]

    def __str__(self):
        return f"{self.date} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class CheckIn(models.Model):
    """A household's attendance at an activity, checked in by one of its logins (签到)."""

    activity = models.ForeignKey(
        Activity, verbose_name=_("activity"), on_delete=models.PROTECT, related_name="checkins"
    )
    household = models.ForeignKey(
        "villagers.Household",
        verbose_name=_("household"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    # The login that scanned: the household's own or a family member's (User.member).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("checked in by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    photo = models.ImageField(_("photo"), upload_to=evidence_path, blank=True)
    checked_in_at = models.DateTimeField(_("checked in"), default=timezone.now)

    class Meta:
        ordering = ["checked_in_at", "id"]
        verbose_name = _("check-in")
        verbose_name_plural = _("check-ins")
        constraints = [
            # Once per household: a second member scanning is told, nothing is saved.
            models.UniqueConstraint(
                fields=["activity", "household"], name="checkin_once_per_household"
            ),
        ]

    def __str__(self):
        return f"{self.activity} {self.household}"


class Proposal(models.Model):
    """A proposed award or deduction: a workflow record until it takes effect.

    proposed -> approved (credited: `entry` posted) when the village has no publicity period;
    otherwise proposed -> publicity (on the public notice, open to objections until
    `credit_due_at`) -> approved (credited by `credit_due`), or -> cancelled (an objection
    upheld), or -> held (a deduction the balance could no longer bear; the supervisor credits
    or cancels it). proposed -> rejected at any time before approval. Only crediting posts the
    ledger entry; the Entry table stays append-only.
    """

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("pending approval")
        PUBLICITY = "publicity", _("approved, in publicity")
        APPROVED = "approved", _("approved and credited")
        HELD = "held", _("held: not credited when due")
        CANCELLED = "cancelled", _("cancelled after an objection")
        REJECTED = "rejected", _("rejected")

    village = models.ForeignKey(
        "villagers.Village",
        verbose_name=_("village"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # proposal_village_status (village, status) serves every lookup
    )
    household = models.ForeignKey(
        "villagers.Household",
        verbose_name=_("household"),
        on_delete=models.PROTECT,
        related_name="proposals",
        db_index=False,  # proposal_cap (household, rule, occurred_on) serves every lookup
    )
    rule = models.ForeignKey(Rule, verbose_name=_("rule"), on_delete=models.PROTECT)
    batch = models.ForeignKey(
        Batch,
        verbose_name=_("batch"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="proposals",
    )
    points = models.IntegerField(_("points"))
    override_reason = models.CharField(
        _("reason for changing the rule's points"), max_length=200, blank=True
    )
    reason = models.CharField(_("reason"), max_length=300)
    occurred_on = models.DateField(_("date of the deed"))
    member = models.ForeignKey(
        "villagers.Member",
        verbose_name=_("member who earned it"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="proposals",
    )
    photo = models.ImageField(_("photo evidence"), upload_to=evidence_path, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PROPOSED
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("proposed by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    proposed_at = models.DateTimeField(_("proposed"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    rejection_reason = models.CharField(_("reason for rejection"), max_length=300, blank=True)
    entry = models.OneToOneField(
        Entry,
        verbose_name=_("ledger entry"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="proposal",
    )
    # The end of the publicity period: credited from this moment if no objection is open.
    credit_due_at = models.DateTimeField(_("to be credited at"), null=True, blank=True)
    hold_reason = models.CharField(_("why it is held"), max_length=300, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    cancel_reason = models.CharField(_("reason for cancelling"), max_length=300, blank=True)

    class Meta:
        ordering = ["-proposed_at", "-id"]
        verbose_name = _("proposal")
        verbose_name_plural = _("proposals")
        indexes = [
            models.Index(fields=["village", "status"], name="proposal_village_status"),
            models.Index(fields=["household", "rule", "occurred_on"], name="proposal_cap"),
            # A household's pending proposals, on its start page: a few rows among thousands.
            models.Index(
                fields=["household"],
                condition=Q(status="proposed"),
                name="proposal_household_pending",
            ),
            # A household's proposals in publicity, held or cancelled: the villager's page
            # reads them on every visit (points.selectors.villager_state).
            models.Index(
                fields=["household"],
                condition=Q(status__in=["publicity", "held", "cancelled"]),
                name="proposal_household_publicity",
            ),
            models.Index(fields=["status", "credit_due_at"], name="proposal_credit_due"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(points=0), name="proposal_points_not_zero"),
            # Credited ("approved") exactly when an entry was posted.
            models.CheckConstraint(
                condition=Q(status="approved", entry__isnull=False)
                | (~Q(status="approved") & Q(entry__isnull=True)),
                name="proposal_entry_iff_credited",
            ),
            # Approved but not credited: decided, with the date it was (or is) due.
            models.CheckConstraint(
                condition=~Q(status__in=["publicity", "held", "cancelled"])
                | Q(credit_due_at__isnull=False, decided_at__isnull=False),
                name="proposal_publicity_has_due_date",
            ),
            models.CheckConstraint(
                condition=~Q(status="held") | ~Q(hold_reason=""),
                name="proposal_held_has_reason",
            ),
            models.CheckConstraint(
                condition=(Q(status="cancelled", cancelled_at__isnull=False) & ~Q(cancel_reason=""))
                | (~Q(status="cancelled") & Q(cancelled_at__isnull=True, cancel_reason="")),
                name="proposal_cancelled_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(rejection_reason=""),
                name="proposal_rejection_has_reason",
            ),
        ]

    def __str__(self):
        return f"{self.household} {self.rule.code} {self.points:+d}"

    @property
    def is_award(self) -> bool:
        return self.points > 0

    @property
    def publicity_over(self) -> bool:
        """In publicity past its end: the worker credits it within the minute (or, stopped,
        when it runs again), an objection still open first settled; the page must not
        promise a time already gone."""
        return self.credit_due_at is not None and self.credit_due_at <= timezone.now()


class Objection(models.Model):
    """异议: someone of the village disputes an award or deduction during its publicity.

    While one is open the entry is not credited; the supervisor upholds it (the proposal is
    cancelled, the resolution shown publicly) or dismisses it (credited when due).
    """

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        UPHELD = "upheld", _("upheld: the entry is cancelled")
        DISMISSED = "dismissed", _("dismissed")

    village = models.ForeignKey(
        "villagers.Village", verbose_name=_("village"), on_delete=models.PROTECT, related_name="+"
    )
    proposal = models.ForeignKey(
        Proposal,
        verbose_name=_("award or deduction"),
        on_delete=models.PROTECT,
        related_name="objections",
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("raised by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    raised_at = models.DateTimeField(_("raised"), default=timezone.now)
    reason = models.CharField(_("reason for the objection"), max_length=500)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resolved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolution = models.CharField(_("resolution"), max_length=300, blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        verbose_name = _("objection")
        verbose_name_plural = _("objections")
        indexes = [models.Index(fields=["village", "status"], name="objection_village_status")]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="objection_has_reason"),
            models.CheckConstraint(
                condition=Q(status="open", resolved_by__isnull=True, resolved_at__isnull=True)
                | (~Q(status="open") & Q(resolved_by__isnull=False, resolved_at__isnull=False)),
                name="objection_resolved_iff_closed",
            ),
            models.CheckConstraint(
                condition=~Q(status="upheld") | ~Q(resolution=""),
                name="objection_upheld_has_reason",
            ),
            # One open objection per person and entry: a second one adds nothing.
            models.UniqueConstraint(
                fields=["proposal", "raised_by"],
                condition=Q(status="open"),
                name="objection_one_open_per_person",
            ),
        ]

    def __str__(self):
        return f"{self.proposal} {self.get_status_display()}"


class Declaration(models.Model):
    """积分申报: a villager declares a good deed; the manager turns it into a proposal or not."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("waiting for review")
        ACCEPTED = "accepted", _("turned into a proposal")
        DECLINED = "declined", _("declined")

    village = models.ForeignKey(
        "villagers.Village", verbose_name=_("village"), on_delete=models.PROTECT, related_name="+"
    )
    household = models.ForeignKey(
        "villagers.Household",
        verbose_name=_("household"),
        on_delete=models.PROTECT,
        related_name="declarations",
    )
    member = models.ForeignKey(
        "villagers.Member",
        verbose_name=_("who did it"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    description = models.TextField(_("what was done"), max_length=1000)
    occurred_on = models.DateField(_("date"))
    photo = models.ImageField(_("photo"), upload_to=evidence_path, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    submitted_at = models.DateTimeField(_("submitted"), default=timezone.now)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.SUBMITTED
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    decline_reason = models.CharField(_("reason for declining"), max_length=300, blank=True)
    proposal = models.OneToOneField(
        Proposal,
        verbose_name=_("proposal"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="declaration",
    )

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("declaration")
        verbose_name_plural = _("declarations")

    def __str__(self):
        return f"{self.household} {self.occurred_on}"


class Settlement(models.Model):
    """A village's yearly settlement plan (opt-in, Village.yearly_settlement): drafted by the
    manager, approved by the supervisor (the second person) before 1 December, which tells
    each household on it; posted once by the task at the year's end (points.settlement)."""

    village = models.ForeignKey(
        "villagers.Village", verbose_name=_("village"), on_delete=models.PROTECT, related_name="+"
    )
    year = models.PositiveSmallIntegerField(_("year"))
    keep = models.PositiveIntegerField(_("points kept"))
    drafted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("drafted by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    drafted_at = models.DateTimeField(_("drafted"), default=timezone.now)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    posted_at = models.DateTimeField(_("posted"), null=True, blank=True)
    # When the first run after its year's end found the village's settlement off: the plan
    # is closed then, never posted later (the households were told: at the year's end).
    not_posted_at = models.DateTimeField(_("closed unposted"), null=True, blank=True)

    class Meta:
        verbose_name = _("yearly settlement")
        verbose_name_plural = _("yearly settlements")
        constraints = [
            models.UniqueConstraint(fields=["village", "year"], name="settlement_once_a_year"),
            models.CheckConstraint(
                condition=Q(posted_at__isnull=True) | Q(approved_at__isnull=False),
                name="settlement_posted_only_approved",
            ),
            models.CheckConstraint(
                condition=Q(posted_at__isnull=True) | Q(not_posted_at__isnull=True),
                name="settlement_posted_or_closed",
            ),
        ]

    def __str__(self):
        return f"{self.village_id} {self.year}"


class SettlementLine(models.Model):
    """One household's line of a plan: at most `points` lapse (fewer if it spent some since);
    `entry` is the lapse posted, if any."""

    settlement = models.ForeignKey(
        Settlement, verbose_name=_("settlement"), on_delete=models.PROTECT, related_name="lines"
    )
    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="+"
    )
    points = models.PositiveIntegerField(_("points to lapse at most"))
    entry = models.OneToOneField(
        Entry,
        verbose_name=_("ledger entry"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="settlement_line",
    )

    class Meta:
        verbose_name = _("settlement line")
        verbose_name_plural = _("settlement lines")
        constraints = [
            models.UniqueConstraint(
                fields=["settlement", "account"], name="settlement_line_once_per_account"
            ),
        ]

    def __str__(self):
        return f"{self.settlement} {self.account_id} {self.points}"
