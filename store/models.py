"""The store: zones, items, stock movements, donors and donations, counter redemptions.

Stock works like the points ledger: every change is an append-only `StockMovement`
and `Item.stock` caches their sum, moved under the item's row lock in the same
transaction. A redemption points at the ledger entry that debited the household.
"""

from django.conf import settings
from django.core.validators import FileExtensionValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.models import WriterOwnedColumns
from core.text import records_language
from store.validators import validate_photo_size


class Zone(models.Model):
    """One of the six zones of a village's store (the source's 六大区)."""

    class Code(models.TextChoices):
        GRAIN_OIL = "grain_oil", _("Grain & oil (粮油区)")
        DAILY = "daily", _("Daily goods (日用品区)")
        TOILETRIES = "toiletries", _("Toiletries & cleaning (洗化区)")
        CLOTHING = "clothing", _("Clothing (服装区)")
        FARM = "farm", _("Farm supplies (农资区)")
        APPLIANCES = "appliances", _("Household appliances (家用电器区)")

    village = models.ForeignKey(
        "villagers.Village",
        verbose_name=_("village"),
        on_delete=models.PROTECT,
        related_name="zones",
    )
    code = models.CharField(_("zone"), max_length=12, choices=Code.choices)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["village", "position", "id"]
        verbose_name = _("zone")
        verbose_name_plural = _("zones")
        constraints = [models.UniqueConstraint(fields=["village", "code"], name="zone_unique_code")]

    def __str__(self):
        # Not get_code_display(): it rebuilds a dict of the (lazy, translated) choices on every
        # call, which cost a counter page with twenty shelf rows about a millisecond each.
        return str(self.Code(self.code).label) if self.code in self.Code.values else self.code


class Item(WriterOwnedColumns, models.Model):
    """A good on the shelves. `stock` caches the sum of its movements and never goes below 0."""

    # Moved by their movements, reservations and waiting corrections only.
    writer_owned = ("stock", "held", "writing_off")

    village = models.ForeignKey(
        "villagers.Village",
        verbose_name=_("village"),
        on_delete=models.PROTECT,
        related_name="items",
    )
    zone = models.ForeignKey(
        Zone, verbose_name=_("zone"), on_delete=models.PROTECT, related_name="items"
    )
    name = models.CharField(_("name"), max_length=100)
    unit = models.CharField(_("unit"), max_length=20, help_text=_("e.g. bag, bottle, piece"))
    points_price = models.PositiveIntegerField(_("points price"), validators=[MinValueValidator(1)])
    barcode = models.CharField(_("barcode"), max_length=32, blank=True)
    photo = models.ImageField(
        _("photo"),
        upload_to="store/items/%Y/",
        blank=True,
        validators=[
            FileExtensionValidator(["jpg", "jpeg", "png", "webp"]),
            validate_photo_size,
        ],
    )
    is_active = models.BooleanField(_("on sale"), default=True)
    low_stock_threshold = models.PositiveIntegerField(_("low-stock threshold"), default=5)
    stock = models.IntegerField(_("in stock"), default=0, editable=False)
    # Of the stock, how many are promised to open reservations (Reservation): on the shelf,
    # but nobody else may take them. Moved only by store.services._holds_plan.
    held = models.IntegerField(_("held for reservations"), default=0, db_default=0, editable=False)
    # Of the stock, how many the waiting write-offs and stock-take shortfalls take
    # (StockCorrection.set_aside): counted in the books until the supervisor decides, but not
    # on offer meanwhile. Moved only by store.services._set_aside_plan.
    writing_off = models.IntegerField(
        _("waiting to be written off"), default=0, db_default=0, editable=False
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["zone__position", "name", "id"]
        verbose_name = _("item")
        verbose_name_plural = _("items")
        constraints = [
            models.CheckConstraint(condition=Q(stock__gte=0), name="item_stock_not_negative"),
            models.CheckConstraint(
                condition=Q(held__gte=0, held__lte=models.F("stock")),
                name="item_held_within_stock",
            ),
            models.CheckConstraint(
                condition=Q(
                    writing_off__gte=0,
                    writing_off__lte=models.F("stock") - models.F("held"),
                ),
                name="item_writing_off_within_stock",
            ),
            models.CheckConstraint(condition=Q(points_price__gte=1), name="item_price_positive"),
            models.UniqueConstraint(
                fields=["village", "name"],
                name="item_unique_name",
                violation_error_message=_("The village already has an item with this name."),
            ),
            models.UniqueConstraint(
                fields=["village", "barcode"],
                condition=~Q(barcode=""),
                name="item_unique_barcode",
                violation_error_message=_("Another item of the village has this barcode."),
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.unit})"

    @property
    def available(self) -> int:
        """What may still be taken or reserved: the stock less what reservations hold and
        what waits to be written off."""
        return self.stock - self.held - self.writing_off

    @staticmethod
    def running_low() -> Q:
        """Items running low, as a filter: on sale, with their available units (`is_low`) at
        or below the threshold."""
        return Q(
            is_active=True,
            stock__lte=models.F("held") + models.F("writing_off") + models.F("low_stock_threshold"),
        )

    @property
    def is_low(self) -> bool:
        """Running low by what is available: units held for reservations or waiting to be
        written off are not on offer."""
        return self.available <= self.low_stock_threshold

    def reference_yuan(self, yuan_per_point):
        """The price in yuan, for reference only: points are never paid out or bought."""
        return self.points_price * yuan_per_point


class Donation(models.Model):
    """Money or goods given to the store; shown on the village's public notice with thanks."""

    class Kind(models.TextChoices):
        MONEY = "money", _("money")
        GOODS = "goods", _("goods")

    village = models.ForeignKey(
        "villagers.Village",
        verbose_name=_("village"),
        on_delete=models.PROTECT,
        related_name="donations",
    )
    donor = models.ForeignKey(
        "store.Donor", verbose_name=_("donor"), on_delete=models.PROTECT, related_name="donations"
    )
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    received_on = models.DateField(_("received on"), default=timezone.localdate)
    # Money: the amount given. Goods: the donor's or the village's estimate of their value.
    value_yuan = models.DecimalField(
        _("value (yuan)"), max_digits=10, decimal_places=2, validators=[MinValueValidator(0)]
    )
    description = models.CharField(_("what was given"), max_length=200, blank=True)
    thanks = models.CharField(_("public thank-you"), max_length=300)
    # Signed into the donor's thanks link; raising it revokes every link made before.
    thanks_link_version = models.PositiveIntegerField(
        _("thanks link version"), default=1, editable=False
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["-received_on", "-id"]
        verbose_name = _("donation")
        verbose_name_plural = _("donations")
        constraints = [
            models.CheckConstraint(
                condition=Q(value_yuan__gte=0), name="donation_value_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(kind="goods") | Q(value_yuan__gt=0), name="donation_money_positive"
            ),
        ]

    def __str__(self):
        return f"{self.donor} {self.received_on} {self.get_kind_display()}"


class Redemption(models.Model):
    """Goods taken at the counter for points: one ledger entry, one stock movement per line.

    `idempotency_key` is the one-time key of the cart form, so a resubmitted confirm finds
    this row instead of charging again; `request_hash` refuses the key with another cart.
    """

    village = models.ForeignKey(
        "villagers.Village",
        verbose_name=_("village"),
        on_delete=models.PROTECT,
        related_name="redemptions",
        db_index=False,  # redemption_village_recent (village, created_at) serves every lookup
    )
    household = models.ForeignKey(
        "villagers.Household",
        verbose_name=_("household"),
        on_delete=models.PROTECT,
        related_name="redemptions",
    )
    entry = models.OneToOneField(
        "points.Entry",
        verbose_name=_("ledger entry"),
        on_delete=models.PROTECT,
        related_name="redemption",
    )
    total_points = models.PositiveIntegerField(_("points"))
    idempotency_key = models.UUIDField(_("confirmation key"), unique=True, editable=False)
    request_hash = models.CharField(_("request fingerprint"), max_length=64, editable=False)
    created_at = models.DateTimeField(_("redeemed at"), default=timezone.now, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("teller"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # 兑换人: the member of the household who collected the goods (chosen at the counter,
    # the head by default); empty on redemptions recorded before members were asked.
    collected_by = models.ForeignKey(
        "villagers.Member",
        verbose_name=_("collected by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    voided_at = models.DateTimeField(_("voided at"), null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("voided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    void_reason = models.CharField(_("reason for voiding"), max_length=200, blank=True)
    void_entry = models.OneToOneField(
        "points.Entry",
        verbose_name=_("reversal entry"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="voided_redemption",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("redemption")
        verbose_name_plural = _("redemptions")
        # A village's redemptions of a day or a month (notice, summaries, lists), newest first.
        indexes = [models.Index(fields=["village", "created_at"], name="redemption_village_recent")]
        constraints = [
            models.CheckConstraint(condition=Q(total_points__gt=0), name="redemption_points_pos"),
            models.CheckConstraint(
                condition=(
                    Q(voided_at__isnull=True, void_entry__isnull=True, void_reason="")
                    | (Q(voided_at__isnull=False, void_entry__isnull=False) & ~Q(void_reason=""))
                ),
                name="redemption_void_complete",
            ),
        ]

    def __str__(self):
        return f"#{self.number} {self.household}"

    @staticmethod
    def number_of(pk: int) -> str:
        """A receipt's number as it is printed (000751), from its id."""
        return f"{pk:06d}"

    @property
    def number(self) -> str:
        return self.number_of(self.pk)

    @property
    def is_voided(self) -> bool:
        return self.voided_at is not None


class RedemptionLine(models.Model):
    redemption = models.ForeignKey(
        Redemption, verbose_name=_("redemption"), on_delete=models.PROTECT, related_name="lines"
    )
    item = models.ForeignKey(
        Item, verbose_name=_("item"), on_delete=models.PROTECT, related_name="redemption_lines"
    )
    # The zone the item stood in when redeemed: moving it later leaves past months' figures
    # by zone as they were, published ones included (DESIGN.md rule 7).
    zone = models.ForeignKey(
        Zone, verbose_name=_("zone"), on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    points_each = models.PositiveIntegerField(_("points each"))
    points = models.PositiveIntegerField(_("points"))

    class Meta:
        ordering = ["redemption", "id"]
        verbose_name = _("redemption line")
        verbose_name_plural = _("redemption lines")
        constraints = [
            models.UniqueConstraint(fields=["redemption", "item"], name="redemption_line_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="redemption_line_qty_pos"),
            models.CheckConstraint(
                condition=Q(points=models.F("quantity") * models.F("points_each")),
                name="redemption_line_points_total",
            ),
        ]

    def __str__(self):
        return f"{self.item} × {self.quantity}"


class Reservation(models.Model):
    """Goods a household asked for from its phone, held until handed over or until it expires.

    While it is open its points are held on the household's account (Account.held) and its
    quantities on the items (Item.held), so neither can be spent twice; handing it over at
    the counter turns it into exactly one Redemption, at the prices it was reserved at.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("waiting to be collected")
        FULFILLED = "fulfilled", _("handed over")
        # Its own word: "cancelled" elsewhere (a ledger entry) reads 已撤销, and the message
        # on cancelling says 预订已取消; one reservation read both.
        CANCELLED = "cancelled", pgettext_lazy("reservation status", "cancelled")
        EXPIRED = "expired", _("expired")

    village = models.ForeignKey(
        "villagers.Village",
        verbose_name=_("village"),
        on_delete=models.PROTECT,
        related_name="reservations",
    )
    household = models.ForeignKey(
        "villagers.Household",
        verbose_name=_("household"),
        on_delete=models.PROTECT,
        related_name="reservations",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    total_points = models.PositiveIntegerField(_("points"))
    created_at = models.DateTimeField(_("reserved at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reserved by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    expires_at = models.DateTimeField(_("kept until"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("closed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    redemption = models.OneToOneField(
        Redemption,
        verbose_name=_("redemption"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reservation",
    )
    # When the household was told it is about to expire (store.services.reservations_remind):
    # set with that message, in its transaction, so it is told once.
    expiry_reminded_at = models.DateTimeField(_("reminded of expiry"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("reservation")
        verbose_name_plural = _("reservations")
        indexes = [
            # The open ones: the pick list, the counter, the expiry task.
            models.Index(
                fields=["village", "expires_at"],
                condition=Q(status="open"),
                name="reservation_open",
            ),
            models.Index(fields=["household", "-created_at"], name="reservation_household"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(total_points__gt=0), name="reservation_points_pos"),
            models.CheckConstraint(
                condition=(
                    Q(status="open", closed_at__isnull=True, redemption__isnull=True)
                    | Q(status="fulfilled", closed_at__isnull=False, redemption__isnull=False)
                    | Q(
                        status__in=["cancelled", "expired"],
                        closed_at__isnull=False,
                        redemption__isnull=True,
                    )
                ),
                name="reservation_status_complete",
            ),
        ]

    def __str__(self):
        return f"#{self.number} {self.household}"

    @property
    def number(self) -> str:
        return f"{self.pk:06d}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class ReservationLine(models.Model):
    reservation = models.ForeignKey(
        Reservation, verbose_name=_("reservation"), on_delete=models.PROTECT, related_name="lines"
    )
    item = models.ForeignKey(
        Item, verbose_name=_("item"), on_delete=models.PROTECT, related_name="reservation_lines"
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    points_each = models.PositiveIntegerField(_("points each"))
    points = models.PositiveIntegerField(_("points"))

    class Meta:
        ordering = ["reservation", "id"]
        verbose_name = _("reservation line")
        verbose_name_plural = _("reservation lines")
        constraints = [
            models.UniqueConstraint(fields=["reservation", "item"], name="reservation_line_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="reservation_line_qty_pos"),
            models.CheckConstraint(
                condition=Q(points=models.F("quantity") * models.F("points_each")),
                name="reservation_line_points_total",
            ),
        ]

    def __str__(self):
        return f"{self.item} × {self.quantity}"


class StockMovement(models.Model):
    """One change of stock. Never updated or deleted (a database trigger refuses both)."""

    class Kind(models.TextChoices):
        PURCHASE = "purchase", _("stock-in: purchase")
        DONATION = "donation", _("stock-in: donated goods")
        REDEMPTION = "redemption", _("out: redemption")
        VOID = "void", _("back in: voided redemption")
        ADJUSTMENT = "adjustment", _("stock-take adjustment")
        WRITE_OFF = "write_off", _("write-off")

    class FundSource(models.TextChoices):
        POVERTY_BUREAU = "poverty_bureau", _("Poverty-alleviation bureau (扶贫局)")
        CIVIL_AFFAIRS = "civil_affairs", _("Civil-affairs subsidy (民政)")
        DONATED_MONEY = "donated_money", _("Donated money")
        COLLECTIVE = "collective", _("Village collective")

    class Cause(models.TextChoices):
        SPOILED = "spoiled", _("spoiled")
        EXPIRED = "expired", _("past its date")
        DAMAGED = "damaged", _("damaged")
        LOST = "lost", _("lost")

    village = models.ForeignKey(
        "villagers.Village",
        verbose_name=_("village"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # movement_village_time (village, created_at) serves every lookup
    )
    item = models.ForeignKey(
        Item,
        verbose_name=_("item"),
        on_delete=models.PROTECT,
        related_name="movements",
        db_index=False,  # movement_item_recent (item, -id) serves every lookup
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    quantity = models.IntegerField(_("quantity"))
    stock_after = models.IntegerField(_("stock after"))
    fund_source = models.CharField(
        _("paid from"), max_length=16, choices=FundSource.choices, blank=True
    )
    cost_yuan = models.DecimalField(
        _("cost (yuan)"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    cause = models.CharField(_("cause"), max_length=10, choices=Cause.choices, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    donation = models.ForeignKey(
        Donation,
        verbose_name=_("donation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="movements",
    )
    redemption = models.ForeignKey(
        Redemption,
        verbose_name=_("redemption"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="movements",
    )
    # A purchase paid from donated money names the money donation it was paid from, so the
    # donor can see what the gift became.
    paid_by = models.ForeignKey(
        Donation,
        verbose_name=_("paid from the donation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="purchases",
    )
    created_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        indexes = [
            models.Index(fields=["item", "-id"], name="movement_item_recent"),
            # A village's movements of a period (reports, the notice) and its latest one
            # (the county overview), without reading the rest of the county's.
            models.Index(fields=["village", "created_at"], name="movement_village_time"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(stock_after__gte=0), name="movement_stock_after"),
            models.CheckConstraint(condition=~Q(quantity=0), name="movement_quantity_nonzero"),
            models.CheckConstraint(
                condition=~Q(kind__in=["purchase", "donation", "void"]) | Q(quantity__gt=0),
                name="movement_in_kinds_positive",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["redemption", "write_off"]) | Q(quantity__lt=0),
                name="movement_out_kinds_negative",
            ),
            models.CheckConstraint(
                condition=~Q(kind="purchase") | (~Q(fund_source="") & Q(cost_yuan__gte=0)),
                name="movement_purchase_funded",
            ),
            models.CheckConstraint(
                condition=~Q(kind="donation") | Q(donation__isnull=False),
                name="movement_donation_linked",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["redemption", "void"]) | Q(redemption__isnull=False),
                name="movement_redemption_linked",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["adjustment", "write_off", "void"]) | ~Q(reason=""),
                name="movement_reason_given",
            ),
            models.CheckConstraint(
                condition=~Q(kind="write_off") | ~Q(cause=""), name="movement_write_off_cause"
            ),
            models.CheckConstraint(
                condition=Q(paid_by__isnull=True) | Q(kind="purchase", fund_source="donated_money"),
                name="movement_paid_by_donated_money",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.quantity:+d}"


class Donor(models.Model):
    class Kind(models.TextChoices):
        COMPANY = "company", _("caring company (爱心企业)")
        PERSON = "person", _("caring person (爱心人士)")
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
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("donor")
        verbose_name_plural = _("donors")
        constraints = [
            models.UniqueConstraint(
                fields=["village", "name"],
                name="donor_unique_name",
                violation_error_message=_("The village already has a donor with this name."),
            )
        ]

    def __str__(self):
        return self.name


class StockCorrection(models.Model):
    """A stock-take difference or a write-off waiting for a second person (DESIGN.md rule 8).

    The manager who counted or wrote off asks; the village's supervisor (never the one who
    asked; the county admin when nobody else may) confirms, and only the confirmation writes
    the stock movement, of the difference as counted: sales made meanwhile do not change it.
    A new count of the item replaces its pending count; a write-off waits beside it.
    While a shortfall or a write-off waits, its goods are set aside (`set_aside`,
    Item.writing_off): still in the books, but neither sold nor reserved; refused or
    replaced, they are on offer again.
    """

    class Source(models.TextChoices):
        COUNT = "count", _("stock-take")
        WRITE_OFF = "write_off", _("write-off")

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for confirmation")
        CONFIRMED = "confirmed", _("confirmed")
        REFUSED = "refused", _("refused")
        REPLACED = "replaced", _("replaced by a new count")

    village = models.ForeignKey(
        "villagers.Village", verbose_name=_("village"), on_delete=models.PROTECT, related_name="+"
    )
    item = models.ForeignKey(
        Item, verbose_name=_("item"), on_delete=models.PROTECT, related_name="corrections"
    )
    source = models.CharField(_("from"), max_length=10, choices=Source.choices)
    # The movement it becomes: an adjustment (surplus or shortfall) or a write-off.
    kind = models.CharField(
        _("kind"),
        max_length=12,
        choices=[
            (StockMovement.Kind.ADJUSTMENT, StockMovement.Kind.ADJUSTMENT.label),
            (StockMovement.Kind.WRITE_OFF, StockMovement.Kind.WRITE_OFF.label),
        ],
    )
    quantity = models.IntegerField(_("difference"))
    # A count: what was counted, against the figure the sheet showed (book stock less the
    # write-offs then waiting).
    counted = models.PositiveIntegerField(_("counted"), null=True, blank=True)
    expected = models.IntegerField(_("expected"), null=True, blank=True)
    cause = models.CharField(
        _("cause"), max_length=10, choices=StockMovement.Cause.choices, blank=True
    )
    reason = models.CharField(_("reason"), max_length=200)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("asked by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("asked"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    refusal_reason = models.CharField(_("why it was refused"), max_length=300, blank=True)
    # A write-off waiting while the item was counted: the count's figure left its goods out,
    # so the shelf was found without them. Refused, the write-off leaves the books above the
    # shelf by its quantity: that difference then waits as the count's (store.services).
    counted_without_at = models.DateTimeField(
        _("counted without these goods"), null=True, blank=True
    )
    counted_without_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("counted by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    movement = models.OneToOneField(
        StockMovement,
        verbose_name=_("stock movement"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="correction",
    )
    # The units of a shortfall or a write-off taken off offer while it waits (Item.writing_off
    # is their sum over the waiting corrections), fixed when it is asked: all of them, but for
    # one asked before goods were set aside, whose shelf may no longer have had them all.
    set_aside = models.PositiveIntegerField(_("set aside"), default=0, db_default=0, editable=False)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("stock correction")
        verbose_name_plural = _("stock corrections")
        indexes = [
            models.Index(
                fields=["village", "item"],
                condition=Q(status="pending"),
                name="correction_pending",
            )
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(quantity=0), name="correction_quantity_nonzero"),
            models.CheckConstraint(condition=~Q(reason=""), name="correction_has_reason"),
            models.CheckConstraint(
                condition=~Q(kind="write_off") | (Q(quantity__lt=0) & ~Q(cause="")),
                name="correction_write_off_out_with_cause",
            ),
            models.CheckConstraint(
                condition=~Q(source="count") | Q(counted__isnull=False, expected__isnull=False),
                name="correction_count_has_figures",
            ),
            # Confirmed exactly when its movement was written.
            models.CheckConstraint(
                condition=Q(status="confirmed", movement__isnull=False)
                | (~Q(status="confirmed") & Q(movement__isnull=True)),
                name="correction_movement_iff_confirmed",
            ),
            models.CheckConstraint(
                condition=Q(status="pending", decided_at__isnull=True)
                | (~Q(status="pending") & Q(decided_at__isnull=False)),
                name="correction_decided_iff_closed",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["refused", "replaced"]) | ~Q(refusal_reason=""),
                name="correction_refusal_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(set_aside=0) | Q(set_aside__lte=-models.F("quantity")),
                name="correction_set_aside_within_shortfall",
            ),
            # One pending count per item: a new count replaces it.
            models.UniqueConstraint(
                fields=["item"],
                condition=Q(status="pending", source="count"),
                name="correction_one_pending_count",
            ),
        ]

    def __str__(self):
        return f"{self.item} {self.quantity:+d}"

    @property
    def outcome_note(self) -> str:
        """Why it was closed, where that says more than its status: a count replaced by a
        new one keeps its status's own words as its reason (a closed one must have one),
        which the page would say twice ("replaced by a new count: replaced by a new count")."""
        with records_language():
            status_words = str(self.Status(self.status).label)
        return "" if self.refusal_reason == status_words else self.refusal_reason
