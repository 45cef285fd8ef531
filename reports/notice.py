"""The village's public notice (公示) of a month, and publishing it (DESIGN.md ledger rule 7).

This sits in the top layer because it combines the ledger (points) with the store. Each
provider is `fn(village, year, month) -> list[NoticeSection]` with a bounded number of queries.

A month's notice follows the month's ledger: every entry posted in it appears once, on its
own line (an award, a deduction, a redemption, or a reversal or void in the corrections),
so its totals are the ledger's. Until the supervisor publishes it, a month's notice is
drawn live (the draft). Publishing stores the drawn notice (`notice_document`) in a
`PublishedNotice`, signed with the supervisor's name and the time; from then on the page is
read back from there and never recomputed. A correction made later (a reversal, a void, a
late credit) is posted in a later month and appears on that month's notice.
"""

import dataclasses
import datetime
import re
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from core.access import is_party_secretary, is_supervisor
from core.audit import audit_record
from core.months import month_of, month_span
from points.models import Account, Entry
from points.selectors import (
    LedgerMonth,
    NoticeSection,
    ledger_month,
    notice_points_sections,
    notice_publicity_sections,
)
from reports import sql as reports_sql
from reports.models import NoticeSignature, PublishedNotice
from reports.selectors_transparency import notice_traceability_sections
from store.models import Item
from store.selectors import notice_donations, notice_redemptions
from villagers.masking import mask_name
from villagers.models import User, Village

# The layout of a stored document; a later change of layout reads older ones by this.
DOCUMENT_VERSION = 1
CARD_TAIL = 4
# The figures closing each row of the list of balances, after the card's tail and the group.
BALANCE_FIGURES = ("start", "earned", "deducted", "spent", "end")


# --- the sections ---------------------------------------------------------------------------


def _line_labels() -> dict:
    return {
        (Entry.Kind.OPENING, None): _("Opening points of new cards"),
        (Entry.Kind.CARRIED, None): _("Balances carried over"),
        (Entry.Kind.AWARD, None): _("Awards"),
        (Entry.Kind.DEDUCTION, None): _("Deductions"),
        (Entry.Kind.REDEMPTION, None): _("Goods redeemed at the store"),
        (Entry.Kind.REVERSAL, Entry.Kind.AWARD): _("Awards reversed"),
        (Entry.Kind.REVERSAL, Entry.Kind.DEDUCTION): _("Deductions reversed"),
        (Entry.Kind.REVERSAL, Entry.Kind.REDEMPTION): _("Redemptions voided"),
        (Entry.Kind.LAPSE, None): _("Points lapsed at the yearly settlement"),
    }


def ledger_summary_section(ledger: LedgerMonth) -> NoticeSection:
    """The month's ledger line by line: the balance at the start plus every line is the end."""
    section = NoticeSection(
        "ledger",
        _("Points this month, from the ledger"),
        [_("What"), _("Entries"), _("Points")],
        note=_(
            "Points held by households at the start of the month, plus each line of the "
            "month's ledger, make the points held at its end. A correction is its own line."
        ),
    )
    section.rows.append([_("Held by households at the start of the month"), "", ledger.start])
    labels = _line_labels()
    order = list(labels)
    # In the labels' order: a kind the month did not have from the start (a carried-over
    # batch) takes its place beside the opening points, not at the end.
    lines = sorted(
        ledger.lines.items(), key=lambda item: order.index(item[0]) if item[0] in order else 99
    )
    for key, line in lines:
        section.rows.append([labels.get(key, " ".join(filter(None, key))), line.count, line.points])
    section.totals = [_("Held by households at the end of the month"), "", ledger.end]
    return section


def notice_name(village: Village, head_name: str) -> str:
    """A household as the village chooses to name it on the published list of balances."""
    if village.notice_names == Village.NoticeNames.FULL:
        return head_name
    if village.notice_names == Village.NoticeNames.SURNAME:
        return mask_name(head_name)
    return ""


def balances_section(village: Village, ledger: LedgerMonth) -> NoticeSection:
    """What villagers read on the board: each household's balance and its month."""
    named = village.notice_names != Village.NoticeNames.HIDDEN
    columns = [
        _("Card (last 4 digits)"),
        _("Group"),
        _("At the start"),
        _("Earned"),
        _("Deducted"),
        _("Spent"),
        _("At the month's end"),
    ]
    section = NoticeSection(
        "balances",
        _("Balances of every household"),
        ([_("Household")] if named else []) + columns,
        note=_(
            "At the start + earned - deducted - spent = at the month's end. Earned: opening "
            "points, balances carried over and awards, less awards reversed; deducted: "
            "deductions, less those reversed, and points lapsed at a yearly settlement; spent: "
            "goods redeemed, less redemptions voided."
        ),
    )
    for household in ledger.households:
        row = [
            household.card_number[-CARD_TAIL:],
            household.group,
            household.start,
            household.earned,
            household.deducted,
            household.spent,
            household.end,
        ]
        section.rows.append(([notice_name(village, household.head_name)] if named else []) + row)
    figures = [
        sum(household.start for household in ledger.households),
        sum(household.earned for household in ledger.households),
        sum(household.deducted for household in ledger.households),
        sum(household.spent for household in ledger.households),
        ledger.end,
    ]
    section.totals = ([""] if named else []) + [_("Total"), ""] + figures
    return section


@dataclass(frozen=True)
class HouseholdLine:
    """One household's line of a notice's list of balances (its month in five figures)."""

    start: int | str
    earned: int | str
    deducted: int | str
    spent: int | str
    end: int | str


def household_line(sections, *, card_numbers, group: str) -> HouseholdLine | None:
    """The household's own line of the list of balances, found as a villager would find it on
    the paper: by its card's last digits and its group (any card it held: the list names the
    card held at the month's end). None when it is not on the list, or not once."""
    tails = {number[-CARD_TAIL:] for number in card_numbers}
    width = 2 + len(BALANCE_FIGURES)  # the card's tail, the group, the figures
    for section in sections:
        if section.key != "balances":
            continue
        found = [
            row[-width:]
            for row in section.rows
            if str(row[-width]) in tails and row[-width + 1] == group
        ]
        if len(found) == 1:
            return HouseholdLine(*found[0][2:])
    return None


def notice_ledger_sections(village, year: int, month: int) -> tuple[NoticeSection, NoticeSection]:
    ledger = ledger_month(village, year, month)
    return ledger_summary_section(ledger), balances_section(village, ledger)


def notice_reversals_section(village, year: int, month: int) -> NoticeSection:
    """Corrections posted in the month: reversals of awards and deductions, voided
    redemptions, whatever month the corrected entry was in (one query)."""
    start, following = month_span(year, month)
    reversals = (
        Entry.objects.filter(
            account__village=village,
            kind=Entry.Kind.REVERSAL,
            created_at__gte=start,
            created_at__lt=following,
        )
        .select_related(
            "account__household__group",
            "reverses__proposal__rule",
            "reverses__redemption",
        )
        .order_by("created_at", "id")
    )
    section = NoticeSection(
        "reversals",
        _("Corrections: reversals and voided redemptions"),
        [
            _("Date"),
            _("Household head"),
            _("Group"),
            _("What is corrected"),
            _("Reason"),
            _("Points"),
        ],
        note=_("A correction is posted in the month it is made; earlier notices stay as posted."),
    )
    for reversal in reversals:
        corrected = reversal.reverses
        on = timezone.localdate(corrected.created_at).isoformat()
        if corrected.kind == Entry.Kind.REDEMPTION:
            redemption = getattr(corrected, "redemption", None)
            what = _("Redemption no. %(number)s of %(date)s") % {
                "number": redemption.number if redemption else "",
                "date": on,
            }
        else:
            proposal = getattr(corrected, "proposal", None)
            rule = f" {proposal.rule.code} {proposal.rule.description}" if proposal else ""
            what = f"{corrected.get_kind_display()} {on}{rule}"
        household = reversal.account.household
        section.rows.append(
            [
                timezone.localdate(reversal.created_at),
                household.head_name,
                household.group.name,
                what,
                reversal.memo,
                reversal.points,
            ]
        )
    section.totals = ["", "", "", "", _("Total"), sum(row[-1] for row in section.rows)]
    return section


def notice_store_sections(village, year: int, month: int) -> list[NoticeSection]:
    """Every redemption of the month (a void is marked, and listed among the corrections)
    and the donations with their thanks."""
    redemptions = NoticeSection(
        "redemptions",
        _("Goods redeemed"),
        [_("Date"), _("Receipt"), _("Household head"), _("Group"), _("Items"), _("Points")],
    )
    redemptions_of_month = notice_redemptions(village, year, month)
    for row in redemptions_of_month:
        items = row["items"] + (" " + _("(voided)") if row["voided"] else "")
        redemptions.rows.append(
            [row["date"], row["number"], row["household_head"], row["group"], items, row["points"]]
        )
    redemptions.totals = ["", "", "", "", _("Total"), sum(row[-1] for row in redemptions.rows)]
    if any(row["voided"] for row in redemptions_of_month):
        redemptions.note = _(
            "A voided redemption stays on the list, marked, and in the total: its points came "
            "back by a correction, listed below among the corrections."
        )

    donations = NoticeSection(
        "donations",
        _("Donations received, with thanks"),
        [
            _("Date"),
            _("Donor"),
            _("Donor kind"),
            _("Money or goods"),
            _("What"),
            _("Value (yuan)"),
            _("Thanks"),
        ],
    )
    for row in notice_donations(village, year, month):
        donations.rows.append(
            [
                row["date"],
                row["donor"],
                row["donor_kind"],
                row["kind"],
                row["what"],
                row["value"],
                row["thanks"],
            ]
        )
    donations.totals = [
        "",
        "",
        "",
        "",
        _("Total"),
        sum((row[5] or Decimal(0) for row in donations.rows), Decimal(0)),
        "",
    ]
    return [redemptions, donations]


def notice_sections(village, year: int, month: int) -> list[NoticeSection]:
    """The month's notice drawn live, in reading order; the list of balances comes last (it
    prints on its own sheet for the notice board)."""
    summary, balances = notice_ledger_sections(village, year, month)
    awards, deductions, carried = notice_points_sections(village, year, month)
    publicity, cancelled = notice_publicity_sections(village, year, month)
    redemptions, donations = notice_store_sections(village, year, month)
    return [
        summary,
        awards,
        deductions,
        *([carried] if carried.rows else []),  # once in a village's life: shown only then
        notice_reversals_section(village, year, month),
        publicity,
        cancelled,
        redemptions,
        donations,
        *notice_traceability_sections(village, year, month),
        balances,
    ]


# --- the document: what is stored when a month is published ----------------------------------


def _plain(value):
    """A cell as stored and shown: dates in full (YYYY-MM-DD), yuan with two decimals."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int | str):
        return value
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime.datetime):
        return timezone.localdate(value).isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def section_plain(section: NoticeSection) -> dict:
    return {
        "key": section.key,
        "title": str(section.title),
        "note": str(section.note),
        "columns": [str(column) for column in section.columns],
        "rows": [[_plain(cell) for cell in row] for row in section.rows],
        "totals": [_plain(cell) for cell in section.totals] if section.totals else None,
    }


def section_from_plain(data: dict) -> NoticeSection:
    return NoticeSection(
        data["key"],
        data["title"],
        data["columns"],
        rows=data["rows"],
        totals=data["totals"],
        note=data.get("note", ""),
    )


def sections_for_page(sections: list[NoticeSection]) -> list[NoticeSection]:
    """Live sections with their cells written as a published notice writes them (full
    dates, yuan with two decimals), keeping their "object" links."""
    shown = []
    for section in sections:
        plain = section_from_plain(section_plain(section))
        plain.links, plain.link_label = section.links, section.link_label
        shown.append(plain)
    return shown


def notice_document(village: Village, year: int, month: int) -> dict:
    """The whole notice of a month as plain values (JSON), as it is stored when published."""
    return {
        "version": DOCUMENT_VERSION,
        "village": village.name,
        "village_code": village.code,
        "month": f"{year:04d}-{month:02d}",
        "language": translation.get_language(),
        "drawn_at": timezone.now().isoformat(),
        "sections": [section_plain(s) for s in notice_sections(village, year, month)],
    }


def document_sections(document: dict) -> list[NoticeSection]:
    return [section_from_plain(section) for section in document["sections"]]


# The sections that show what stands, not what the month recorded: the list of balances,
# where the past year's donations went. The ledger's summary shows both: its first row is
# the points held at the start of the month, each further row a kind of entry and how many
# the month posted (ledger_summary_section).
STANDING_SECTIONS = frozenset({"balances", "donations_traced"})


def nothing_recorded(sections: list[NoticeSection]) -> bool:
    """Whether a month's notice shows no record of the month (no entry, proposal,
    redemption or donation): only the balances as they stood. Stock bought or written off
    is not on a notice, so a month of those alone shows nothing either (the pages word it
    as what the notice shows, not what the month recorded)."""
    for section in sections:
        if section.key == "ledger":
            if any(row[1] for row in section.rows[1:]):
                return False
        elif section.key not in STANDING_SECTIONS and section.rows:
            return False
    return True


# How `_plain` writes yuan and days: a stored document holds them as text.
_PLAIN_TYPES = (
    (re.compile(r"-?[0-9]+\.[0-9]{2}"), Decimal),
    (re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"), datetime.date.fromisoformat),
)


def _column_type(cells):
    """The type `_plain` wrote a column's filled cells from (yuan, days), or None: a column
    only when every filled cell of its rows reads as one, so no typed name or reason moves."""
    filled = [cell for cell in cells if cell != ""]
    for pattern, typed in _PLAIN_TYPES:
        if filled and all(isinstance(c, str) and pattern.fullmatch(c) for c in filled):
            return pattern, typed
    return None


def _filled_or_total(cells: list, totals: list | None, index: int) -> list:
    """A column's cells to read its type from: its rows', or its total's where no row is
    filled (a month with nothing donated: its total "0.00" stayed text)."""
    if any(cell not in ("", None) for cell in cells) or not totals or index >= len(totals):
        return cells
    return [totals[index]] if totals[index] not in ("", None) else []


def _typed(row: list, kinds: list) -> list:
    return [
        kind[1](cell) if kind and isinstance(cell, str) and kind[0].fullmatch(cell) else cell
        for cell, kind in zip(row, kinds + [None] * (len(row) - len(kinds)), strict=False)
    ]


def workbook_sections(sections: list[NoticeSection]) -> list[NoticeSection]:
    """Sections for a workbook: a published notice's yuan and days as numbers and dates
    again, as the draft's workbook has them (stored as text, a spreadsheet summed the
    donations' yuan to nothing). Live sections come back as they are."""
    typed = []
    for section in sections:
        kinds = [
            _column_type(
                _filled_or_total(
                    [row[i] for row in section.rows if i < len(row)], section.totals, i
                )
            )
            for i in range(len(section.columns))
        ]
        typed.append(
            dataclasses.replace(
                section,
                rows=[_typed(row, kinds) for row in section.rows],
                totals=_typed(section.totals, kinds) if section.totals else section.totals,
            )
        )
    return typed


def notice_public_path(village: Village, first: datetime.date) -> str:
    return reverse("reports:notice_public", args=[village.code, first.year, first.month])


def published_notice(village: Village, first: datetime.date) -> PublishedNotice | None:
    """The month's published notice with its signatures (two queries), or None.

    Its document (the whole notice) is read only when asked for (a third query): the pages
    show it from the cache, under the notice's id and row version (`version`)."""
    notice = (
        PublishedNotice.objects.filter(village=village, month=first)
        .order_by()
        .defer("document")
        .annotate(version=RawSQL(reports_sql.NOTICE_VERSION, ()))  # noqa: S611 (a constant)
        .first()
    )
    if notice is not None:
        notice.village = village
        notice.signed = {signature.role: signature for signature in notice.signatures.all()}
    return notice


def latest_published_before(village: Village, first: datetime.date) -> datetime.date | None:
    """The newest published month before `first`: where a villager's "previous" link goes."""
    return (
        PublishedNotice.objects.filter(village=village, month__lt=first)
        .order_by("-month")
        .values_list("month", flat=True)
        .first()
    )


def publishing_refusal(village: Village, first: datetime.date, actor: User) -> str | None:
    """Why `actor` may not publish the month's notice now, or None."""
    if not (is_supervisor(actor) and actor.village_id == village.pk):
        return _("Only the village's supervisor may publish its notice.")
    if first < month_of(village.started_on):
        return _(
            "%(month)s is before the village started using the app (its records begin in "
            "%(first)s): there is no notice of it to publish."
        ) % {"month": f"{first:%Y-%m}", "first": f"{village.started_on:%Y-%m}"}
    if first >= month_of(timezone.localdate()):
        return _("Only a month that has ended can be published: %(month)s is still running.") % {
            "month": f"{first:%Y-%m}"
        }
    return None


def _already_published(notice: PublishedNotice) -> ValidationError:
    return ValidationError(
        _(
            "The notice of %(month)s was already published on %(when)s and cannot change. "
            "A correction is posted now and appears on this month's notice."
        )
        % {
            "month": f"{notice.month:%Y-%m}",
            "when": formats.date_format(timezone.localtime(notice.published_at), "Y-m-d H:i"),
        },
        code="published",
    )


def _rows_wait(rows) -> None:
    """Lock `rows` (FOR NO KEY UPDATE, in id order) until the transaction ends."""
    list(rows.select_for_update(no_key=True).order_by("pk").values_list("pk", flat=True))


def notice_publish(
    *,
    village: Village,
    year: int,
    month: int,
    actor: User,
    empty_confirmed: bool = False,
    request=None,
) -> PublishedNotice:
    """The supervisor publishes a month that has ended: its notice is drawn once, stored
    and signed with their name and the time; published once (a second attempt, or a second
    supervisor at the same moment, is refused and changes nothing). A month in which nothing
    was recorded only with `empty_confirmed`: the supervisor said so, it is no slip."""
    first = datetime.date(year, month, 1)
    refusal = publishing_refusal(village, first, actor)
    if refusal:
        raise ValidationError(refusal, code="refused")
    try:
        with transaction.atomic():
            # The village's row, locked before the notice is drawn, closes the month: a
            # donation written or corrected meanwhile (store.services, which lock it too and
            # then ask core.months.closed_month_check) is either in the document or refused.
            # FOR NO KEY UPDATE: rows that refer to the village are still written meanwhile.
            Village.objects.select_for_update(no_key=True).filter(pk=village.pk).first()
            # Every write of points or goods locks its accounts or items first and takes its
            # time after: waiting here for the village's accounts and items, one write dated
            # in the month while this began (at midnight, say) commits first and is drawn, and
            # a later one is dated after publication. In id order, as the writers lock them.
            _rows_wait(Account.objects.filter(village=village))
            _rows_wait(Item.objects.filter(village=village))
            existing = PublishedNotice.objects.filter(village=village, month=first).first()
            if existing is not None:  # published before, or by another supervisor meanwhile
                raise _already_published(existing)
            # The notice is the village's document: drawn in the deployment's language,
            # whatever the supervisor's screen shows.
            with translation.override(settings.LANGUAGE_CODE):
                document = notice_document(village, year, month)
            if not empty_confirmed and nothing_recorded(document_sections(document)):
                raise ValidationError(
                    _(
                        "Nothing of %(month)s is on its notice: no points, no redemptions, no "
                        "donations. Nothing was published: to publish it all the same, tick "
                        "the box that says so."
                    )
                    % {"month": f"{first:%Y-%m}"},
                    code="empty",
                )
            now = timezone.now()
            notice = PublishedNotice.objects.create(
                village=village,
                month=first,
                document=document,
                published_by=actor,
                published_at=now,
            )
            NoticeSignature.objects.create(
                notice=notice,
                role=NoticeSignature.Role.SUPERVISOR,
                signed_by=actor,
                name=actor.display_name or actor.get_full_name() or actor.username,
                signed_at=now,
            )
            audit_record(
                action="notice.publish",
                actor=actor,
                village_id=village.pk,
                obj=notice,
                detail={"month": f"{first:%Y-%m}"},
                request=request,
            )
    except IntegrityError as error:
        # Another supervisor published the month a moment ago: theirs stands.
        existing = PublishedNotice.objects.filter(village=village, month=first).first()
        if existing is None:
            raise
        raise _already_published(existing) from error
    return notice


def countersigning_refusal(notice: PublishedNotice, actor: User) -> str | None:
    """Why `actor` may not countersign the published `notice` now, or None."""
    if not (is_party_secretary(actor) and actor.village_id == notice.village_id):
        return _("Only the village's party secretary may countersign its notice.")
    if NoticeSignature.Role.SECRETARY in notice.signed:
        return _("The party secretary has already countersigned this notice.")
    if notice.published_by_id == actor.pk:
        # A second person: whoever published the notice does not also countersign it.
        return _("You published this notice: someone else must countersign it.")
    return None


def notices_to_countersign(village: Village, actor: User, *, shown: int = 3) -> list:
    """The months, newest first, whose published notice waits for `actor`'s countersignature
    (the party secretary's dashboard says so: nothing else told them a notice waited)."""
    if not (is_party_secretary(actor) and actor.village_id == village.pk):
        return []
    return list(
        PublishedNotice.objects.filter(village=village)
        .exclude(published_by=actor)
        .exclude(signatures__role=NoticeSignature.Role.SECRETARY)
        .order_by("-month")
        .values_list("month", flat=True)[:shown]
    )


def notice_countersign(*, notice: PublishedNotice, actor: User, request=None) -> NoticeSignature:
    """The village party secretary (组长) countersigns a published notice: their name and the
    time under the supervisor's, once. The notice itself does not change: publication does
    not wait for this signature, so a month is never kept from the villagers by an absent
    signer, and the secretary signs figures that can no longer move."""
    if not hasattr(notice, "signed"):
        notice = published_notice(notice.village, notice.month)
    refusal = countersigning_refusal(notice, actor)
    if refusal:
        raise ValidationError(refusal, code="refused")
    try:
        with transaction.atomic():
            signature = NoticeSignature.objects.create(
                notice=notice,
                role=NoticeSignature.Role.SECRETARY,
                signed_by=actor,
                name=actor.display_name or actor.get_full_name() or actor.username,
                signed_at=timezone.now(),
            )
            audit_record(
                action="notice.countersign",
                actor=actor,
                village_id=notice.village_id,
                obj=notice,
                detail={"month": f"{notice.month:%Y-%m}"},
                request=request,
            )
    except IntegrityError as error:
        # Signed a moment ago in another tab: that signature stands.
        raise ValidationError(
            _("The party secretary has already countersigned this notice."), code="signed"
        ) from error
    return signature
