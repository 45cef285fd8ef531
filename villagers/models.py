"""Villages, households, members, hygiene inspections, participation and points cards."""

import unicodedata
from decimal import Decimal

from django.contrib import admin
from django.contrib.auth.models import AbstractUser
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from villagers.masking import mask_id_number, mask_phone


class County(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)

    class Meta:
        verbose_name = _("county")
        verbose_name_plural = _("counties")

    def __str__(self):
        return self.name


class Township(models.Model):
    county = models.ForeignKey(
        County, verbose_name=_("county"), on_delete=models.PROTECT, related_name="townships"
    )
    name = models.CharField(_("name"), max_length=50)

    class Meta:
        verbose_name = _("township")
        verbose_name_plural = _("townships")
        constraints = [
            models.UniqueConstraint(fields=["county", "name"], name="township_unique_name")
        ]

    def __str__(self):
        return self.name


YUAN_PER_POINT_MESSAGE = _("One point must be worth more than 0 yuan.")


class Village(models.Model):
    class NoticeNames(models.TextChoices):
        """How the published notice names a household on its list of balances."""

        FULL = "full", _("full name")
        SURNAME = "surname", _("family name only (王**)")
        HIDDEN = "hidden", _("no name: last digits of the card only")

    township = models.ForeignKey(
        Township, verbose_name=_("township"), on_delete=models.PROTECT, related_name="villages"
    )
    name = models.CharField(_("name"), max_length=50)
    # Three digits that start every card number of the village, unique in the deployment.
    code = models.CharField(
        _("card code"),
        max_length=3,
        unique=True,
        validators=[RegexValidator(r"^[0-9]{3}$", _("Three digits."))],
    )
    base_points = models.PositiveIntegerField(
        _("opening points of a new card"), default=100, validators=[MaxValueValidator(10_000)]
    )
    yuan_per_point = models.DecimalField(
        _("yuan value of one point"),
        max_digits=6,
        decimal_places=2,
        default=3,
        # Above 0: the reports value the points held and the stock's cover in yuan by it.
        validators=[MinValueValidator(Decimal("0.01"), message=YUAN_PER_POINT_MESSAGE)],
    )
    publicity_days = models.PositiveSmallIntegerField(
        _("publicity period (days)"),
        default=3,
        validators=[MaxValueValidator(30)],
        help_text=_(
            "Approved awards and deductions are credited after this many days; 0 = at once."
        ),
    )
    reservation_days = models.PositiveSmallIntegerField(
        _("reservations kept (days)"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(30)],
        help_text=_("Reserved goods not collected after this many days go back on the shelf."),
    )
    # Off by default: points accumulate, as the source says (points.settlement).
    yearly_settlement = models.BooleanField(
        _("yearly settlement"),
        default=False,
        db_default=False,
        help_text=_(
            "On: at the year's end, the points a household could spend above the amount kept "
            "lapse, as the supervisor approved in a plan announced a month before. The points "
            "earned stay on every record. Turned off, an approved plan is called off that "
            "night, and its households are told."
        ),
    )
    settlement_keep = models.PositiveIntegerField(
        _("points kept at the yearly settlement"), default=100, db_default=100
    )
    show_rank = models.BooleanField(_("show households their rank"), default=True)
    black_list_names = models.BooleanField(_("show names on the black list"), default=False)
    # When names were turned on (the admin sets it): a deduction made while the board named
    # nobody is never named afterwards. Empty with names on: every deduction is named.
    black_list_names_since = models.DateTimeField(
        _("names on the black list since"), null=True, blank=True, editable=False
    )
    notice_names = models.CharField(
        _("names on the notice's balance list"),
        max_length=10,
        choices=NoticeNames.choices,
        default=NoticeNames.SURNAME,
        help_text=_(
            "How households are named on the published notice's list of balances, which "
            "anyone may open without signing in."
        ),
    )
    # Its records begin in this day's month: the pages of a month, year or day reach back to
    # it, and no notice is published before it (core.months.asked_within). Today for a new
    # village; a donation recorded as received before it moves it back (store.services).
    started_on = models.DateField(
        _("started using the app on"), default=timezone.localdate, editable=False
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("village")
        verbose_name_plural = _("villages")

    def __str__(self):
        return self.name

    @property
    def county(self):
        return self.township.county


class VillageGroup(models.Model):
    """村民小组: a village group."""

    village = models.ForeignKey(
        Village, verbose_name=_("village"), on_delete=models.CASCADE, related_name="groups"
    )
    name = models.CharField(_("name"), max_length=50)

    class Meta:
        ordering = ["village", "id"]
        verbose_name = _("village group")
        verbose_name_plural = _("village groups")
        constraints = [
            models.UniqueConstraint(
                fields=["village", "name"],
                name="group_unique_name",
                violation_error_message=_("The village already has a group with this name."),
            )
        ]

    def __str__(self):
        return self.name


def household_number_text(value) -> str:
    """A household number as it is stored and looked up: NFKC (a Chinese input method's
    full-width Ｘ００１ is X001), surrounding white space dropped. Every writer (the household
    form, the roster) and every lookup (the roster's, the paper ledger's, the search) reads
    numbers through it, so one household never has two spellings; the case of the letters is
    kept as typed, and every lookup ignores it (x001 finds X001), as the database does
    (household_unique_number_any_case)."""
    return unicodedata.normalize("NFKC", str(value or "")).strip()


class HouseholdQuerySet(models.QuerySet):
    def numbered(self, keys):
        """The households whose numbers, in capitals, are among `keys` (the database's
        capitals: villagers.selectors.household_number_keys), each with `number_upper`:
        "x001" finds X001."""
        return self.annotate(number_upper=Upper("number")).filter(number_upper__in=list(keys))


class Household(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        MOVED = "moved", _("moved away")
        CLOSED = "closed", _("closed")

    village = models.ForeignKey(
        Village, verbose_name=_("village"), on_delete=models.PROTECT, related_name="households"
    )
    group = models.ForeignKey(
        VillageGroup,
        verbose_name=_("village group"),
        on_delete=models.PROTECT,
        related_name="households",
    )
    number = models.CharField(_("household number"), max_length=20)
    head_name = models.CharField(_("household head"), max_length=50, db_index=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    # Notifications stay in the household's list on its pages; this only stops the SMS.
    # A database default too: bulk loaders (the demo's COPY) name only the columns they fill.
    sms_opt_out = models.BooleanField(_("no text messages"), default=False, db_default=False)
    is_poor = models.BooleanField(_("registered poor household"), default=False)
    poverty_exit_year = models.PositiveSmallIntegerField(
        _("year lifted out of poverty"),
        null=True,
        blank=True,
        validators=[MinValueValidator(2000), MaxValueValidator(2100)],
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    created_at = models.DateTimeField(_("registered"), auto_now_add=True)
    # When it was marked moved away or closed (villagers.services.household_save), so a past
    # month's figures count the households the village had then; empty while it is active,
    # and for those marked before it was recorded (their time is not known).
    left_at = models.DateTimeField(_("moved away or closed"), null=True, blank=True, editable=False)

    objects = HouseholdQuerySet.as_manager()

    class Meta:
        ordering = ["village", "number"]
        verbose_name = _("household")
        verbose_name_plural = _("households")
        constraints = [
            # Its index serves the lookups by number and the lists in number order.
            models.UniqueConstraint(
                fields=["village", "number"],
                name="household_unique_number",
                violation_error_message=_("This household number is already used in this village."),
            ),
            # "x001" is X001 written in small letters, no second household beside it.
            models.UniqueConstraint(
                Upper("number"),
                "village",
                name="household_unique_number_any_case",
                violation_error_message=_("This household number is already used in this village."),
            ),
            # An active household has not left.
            models.CheckConstraint(
                condition=~Q(status="active") | Q(left_at__isnull=True),
                name="household_active_not_left",
            ),
        ]

    def __str__(self):
        return f"{self.head_name} ({self.number})"

    @property
    def masked_phone(self):
        return mask_phone(self.phone)


class MemberQuerySet(models.QuerySet):
    def current(self):
        """The members still in their household (not those who left it)."""
        return self.filter(left_on__isnull=True)


class Member(models.Model):
    class Relation(models.TextChoices):
        HEAD = "head", _("head of household")
        SPOUSE = "spouse", _("spouse")
        CHILD = "child", _("child")
        CHILD_IN_LAW = "child_in_law", _("son/daughter-in-law")
        GRANDCHILD = "grandchild", _("grandchild")
        PARENT = "parent", _("parent")
        SIBLING = "sibling", _("sibling")
        OTHER = "other", _("other")

    class Sex(models.TextChoices):
        MALE = "M", _("male")
        FEMALE = "F", _("female")

    class LeftWhy(models.TextChoices):
        DIED = "died", _("died")
        MOVED_AWAY = "moved_away", _("moved away")
        MARRIED_AWAY = "married_away", _("married away")
        OTHER = "other", _("other reason")

    household = models.ForeignKey(
        Household, verbose_name=_("household"), on_delete=models.CASCADE, related_name="members"
    )
    name = models.CharField(_("name"), max_length=50)
    relation = models.CharField(_("relation to head"), max_length=20, choices=Relation.choices)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    birth_year = models.PositiveSmallIntegerField(
        _("birth year"), validators=[MinValueValidator(1900), MaxValueValidator(2100)]
    )
    id_number = models.CharField(
        _("ID number"),
        max_length=18,
        blank=True,
        validators=[RegexValidator(r"^[0-9]{17}[0-9X]$", _("An ID number has 18 characters."))],
    )
    phone = models.CharField(
        _("phone"),
        max_length=20,
        blank=True,
        validators=[RegexValidator(r"^\+?[0-9\- ]{5,20}$", _("Enter a valid phone number."))],
    )
    # Someone who died, moved or married away stays on record (what they earned or collected
    # names them) but is no longer one of the household's members (villagers.services.
    # member_leave).
    left_on = models.DateField(_("left the household on"), null=True, blank=True)
    # A database default too: the county generator COPYs members without this column.
    left_why = models.CharField(
        _("why they left"),
        max_length=12,
        choices=LeftWhy.choices,
        blank=True,
        default="",
        db_default="",
    )

    objects = MemberQuerySet.as_manager()

    class Meta:
        ordering = ["household", "id"]
        verbose_name = _("member")
        verbose_name_plural = _("members")
        constraints = [
            # One person is registered once in the deployment, in the household they live
            # in now. The form and the roster look first, to say so in words; this refuses
            # what two registrations at the same moment would both write (two villages, a
            # double click).
            models.UniqueConstraint(
                fields=["id_number"],
                condition=~Q(id_number="") & Q(left_on__isnull=True),
                name="member_id_number_unique",
                violation_error_message=_("A person with this ID number is already registered."),
            ),
            models.CheckConstraint(
                condition=Q(left_on__isnull=True, left_why="")
                | (Q(left_on__isnull=False) & ~Q(left_why="")),
                name="member_left_says_when_and_why",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    @admin.display(description=_("ID number"))
    def masked_id_number(self):
        return mask_id_number(self.id_number)

    @property
    def masked_phone(self):
        return mask_phone(self.phone)


class Inspection(models.Model):
    """A 五净一规范 hygiene inspection: five cleans and one order, six checks."""

    CHECKS = (
        ("yard_clean", _("yard clean")),
        ("bedroom_clean", _("bedroom clean")),
        ("kitchen_clean", _("kitchen clean")),
        ("toilet_clean", _("toilet clean")),
        ("person_clean", _("personal hygiene clean")),
        ("belongings_in_order", _("belongings in order")),
    )

    household = models.ForeignKey(
        Household,
        verbose_name=_("household"),
        on_delete=models.CASCADE,
        related_name="inspections",
    )
    date = models.DateField(_("date"))
    inspector = models.ForeignKey(
        "villagers.User",
        verbose_name=_("inspector"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    yard_clean = models.BooleanField(_("yard clean"), default=False)
    bedroom_clean = models.BooleanField(_("bedroom clean"), default=False)
    kitchen_clean = models.BooleanField(_("kitchen clean"), default=False)
    toilet_clean = models.BooleanField(_("toilet clean"), default=False)
    person_clean = models.BooleanField(_("personal hygiene clean"), default=False)
    belongings_in_order = models.BooleanField(_("belongings in order"), default=False)
    notes = models.TextField(_("notes"), blank=True, max_length=1000)
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name = _("hygiene inspection")
        verbose_name_plural = _("hygiene inspections")
        # A household's inspections newest first, its latest round one index probe (the
        # county overview's hygiene figure reads it for every household of the county).
        indexes = [
            models.Index(fields=["household", "-date", "-id"], name="inspection_household_latest")
        ]

    def __str__(self):
        return f"{self.household} {self.date}"

    @property
    @admin.display(description=_("passed"), boolean=True)
    def passed(self) -> bool:
        return all(getattr(self, name) for name, _label in self.CHECKS)

    @property
    def failed_checks(self):
        return [label for name, label in self.CHECKS if not getattr(self, name)]


class Participation(models.Model):
    """A public-welfare activity or contribution to the village's work by a household."""

    household = models.ForeignKey(
        Household,
        verbose_name=_("household"),
        on_delete=models.CASCADE,
        related_name="participations",
    )
    date = models.DateField(_("date"))
    activity = models.CharField(_("activity"), max_length=200)
    notes = models.TextField(_("notes"), blank=True, max_length=1000)
    recorded_by = models.ForeignKey(
        "villagers.User",
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name = _("participation record")
        verbose_name_plural = _("participation records")

    def __str__(self):
        return f"{self.household} {self.date} {self.activity}"


class Card(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        LOST = "lost", _("reported lost (replaced)")
        RECALLED = "recalled", _("recalled")

    household = models.ForeignKey(
        Household, verbose_name=_("household"), on_delete=models.PROTECT, related_name="cards"
    )
    number = models.CharField(_("card number"), max_length=12, unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    # A default rather than auto_now_add so a loader replaying history can date the issue.
    issued_at = models.DateTimeField(_("issued"), default=timezone.now)
    issued_by = models.ForeignKey(
        "villagers.User",
        verbose_name=_("issued by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    # When the card was last printed on a sheet of cards; empty = not printed yet.
    printed_at = models.DateTimeField(_("printed"), null=True, blank=True)
    end_reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        ordering = ["-issued_at"]
        verbose_name = _("points card")
        verbose_name_plural = _("points cards")
        constraints = [
            models.UniqueConstraint(
                fields=["household"],
                condition=Q(status="active"),
                name="card_one_active_per_household",
            )
        ]

    def __str__(self):
        return self.number


class User(AbstractUser):
    """A login: staff (groups Manager, Supervisor, Party secretary of a village; County admin
    of a county; Township officer of a township) or a household's villager login.

    A villager login has is_staff False and a household; it signs in with the household's
    card number and a PIN (stored as this user's password). The household's own login (the
    head's) has no `member`; an adult family member may have a login of their own on the
    same card, with `member` set. Staff may also be linked to their own household, which
    stops them approving points for it.
    """

    village = models.ForeignKey(
        Village,
        verbose_name=_("village"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )
    county = models.ForeignKey(
        County,
        verbose_name=_("county"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )
    # A township officer's township: they oversee its villages (core.access.oversees).
    township = models.ForeignKey(
        Township,
        verbose_name=_("township"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )
    household = models.ForeignKey(
        Household,
        verbose_name=_("own household"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )
    display_name = models.CharField(_("name shown"), max_length=50, blank=True)
    # A family member's own login on the household's card (villagers.services.member_pin_set):
    # the same household and pages as the household's login, its own PIN, its own name.
    member = models.OneToOneField(
        Member,
        verbose_name=_("family member"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="login",
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=Q(member__isnull=True) | Q(is_staff=False, household__isnull=False),
                name="user_member_login_is_villager",
            )
        ]

    def __str__(self):
        return self.display_name or self.username


class Referral(models.Model):
    """An effect on a household that nobody of its village may take: sent up to the county.

    DESIGN.md ledger rule 8: nobody approves, reverses, voids, credits, settles, resets a
    PIN, matches a wish or confirms a stock correction for their own household or on their
    own action. When the village
    has nobody else who may (the usual case: one supervisor), the item waits here for the
    county admin of the village's county, who decides it: the only write a county admin has.
    `request` keeps what the village asked for (a reason, a decision), never a PIN.
    """

    class Kind(models.TextChoices):
        PROPOSAL = "proposal", _("decide a proposed award or deduction")
        REVERSAL = "reversal", _("reverse a ledger entry")
        VOID = "void", _("void a redemption")
        HELD = "held", _("credit or cancel a held entry")
        OBJECTION = "objection", _("settle an objection")
        PIN_RESET = "pin_reset", _("reset a card's PIN")
        MEMBER_PIN = "member_pin", _("set or revoke a family member's PIN")
        WISH_MATCH = "wish_match", _("match a wish with a donor")
        WISH_FULFIL = "wish_fulfil", _("record a wish as fulfilled")
        STOCK = "stock", _("confirm a stock correction or write-off")
        SETTLEMENT = "settlement", _("approve the yearly settlement")
        CARD_ISSUE = "card_issue", _("issue a card")
        CARD_REPLACE = "card_replace", _("replace a lost or damaged card")
        CARD_RECALL = "card_recall", _("recall a card")

    class Status(models.TextChoices):
        OPEN = "open", _("waiting for the township or the county")
        # Not the time a decision was made (the msgid "decided" of the fields decided_at).
        DONE = "done", pgettext_lazy("referral status", "decided")
        REFUSED = "refused", _("refused by the township or the county")

    village = models.ForeignKey(
        Village, verbose_name=_("village"), on_delete=models.PROTECT, related_name="+"
    )
    # Empty for an effect on no household (a stock correction of the village's store).
    household = models.ForeignKey(
        Household,
        verbose_name=_("household"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    kind = models.CharField(_("what is asked"), max_length=12, choices=Kind.choices)
    # The id of the proposal, entry, redemption, objection, household, wish, stock
    # correction or settlement concerned.
    object_id = models.BigIntegerField(_("object"))
    request = models.JSONField(_("what the village asked for"), default=dict, blank=True)
    why = models.CharField(_("why the village could not decide it"), max_length=300)
    requested_by = models.ForeignKey(
        "villagers.User",
        verbose_name=_("sent by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("sent"), default=timezone.now)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.OPEN
    )
    decided_by = models.ForeignKey(
        "villagers.User",
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=300, blank=True)

    class Meta:
        ordering = ["requested_at", "id"]
        verbose_name = _("item sent up")
        verbose_name_plural = _("items sent up")
        indexes = [models.Index(fields=["village", "status"], name="referral_village_status")]
        constraints = [
            # One open referral per item: sending it up twice adds nothing.
            models.UniqueConstraint(
                fields=["kind", "object_id"],
                condition=Q(status="open"),
                name="referral_one_open_per_item",
            ),
            models.CheckConstraint(
                condition=Q(status="open", decided_by__isnull=True, decided_at__isnull=True)
                | (~Q(status="open") & Q(decided_at__isnull=False)),
                name="referral_decided_iff_closed",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.object_id}"
