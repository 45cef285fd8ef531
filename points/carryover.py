"""Opening balances from the paper ledger (结转积分): read, check row by row, import as a batch.

A village that switches brings each household's balance from its paper ledger, and if it
likes the paper's dated lines too. The file is read by core.spreadsheet (as the roster is),
checked here in plain words, and imported all or nothing by `carry_over_import` as one
batch of proposals under the village's carried-over rule, which the supervisor approves
like any batch (second person, publicity, the county's queue). See `CarryOver` for how the
carried-over entry relates to the card's opening grant.

Once only: a household already in a carried-over batch is refused a second one, unless its
line was undone: its proposal rejected or cancelled, or, for a line that moves no points (a
paper balance equal to the grant, with no proposal of its own), every proposal of its batch.
So a file where no balance moves points is refused: nobody would decide it. The
confirmation carries a one-time key.
"""

import datetime
import re
from collections import defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, Sum
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from core.access import is_manager
from core.audit import audit_record
from core.forms import MAX_NUMBER_LENGTH, number_text
from core.months import EARLIEST_DAY
from core.spreadsheet import (
    Column,
    RowErrors,
    SheetRow,
    SheetRows,
    date_read,
    is_total_text,
    row_append,
    sheet_parse,
    text_workbook,
)
from core.text import records_language
from points.models import Batch, CarryOver, CarryOverLine, Entry, Proposal, Rule
from points.services import proposals_refer_if_undecidable
from villagers.masking import mask_cell, mask_household_number
from villagers.models import (
    Household,
    User,
    Village,
    household_number_text,
)
from villagers.selectors import household_number_keys, households_with_active_card

MAX_ROWS = 20000
MAX_BALANCE = 1_000_000
COLUMNS = (
    Column(
        "household_number", "户号", "household number", ("戶號", "household no", "number"), True
    ),
    Column(
        "head_name", "户主姓名", "head of household", ("户主", "戶主姓名", "戶主", "head"), True
    ),
    Column(
        "balance",
        "结转余额",
        "balance",
        ("余额", "积分余额", "結轉餘額", "餘額", "積分餘額", "paper balance"),
    ),
    Column("date", "日期", "date", ("date of the line",), date=True),
    Column("points", "积分变动", "points", ("变动", "分值", "積分變動", "change")),
    Column("what", "事由", "what for", ("摘要", "说明", "說明", "what", "reason", "memo")),
)
COLUMN_KEYS = [column.key for column in COLUMNS]
# A whole number as a paper ledger writes it: its sign if it has one (a line of "+300" beside
# one of "-50"), and its thousands parted by commas if they are ("1,200"; "12,5" is no 125).
WHOLE = re.compile(r"[+-]?([0-9]+|[0-9]{1,3}(,[0-9]{3})+)")
# What a paper ledger's numbers are typed with besides core.forms.number_text's full-width
# characters: the minus sign (U+2212) that Word, WPS and copied web pages put for "-", and
# the full-width comma between thousands.
SIGNS = str.maketrans({"\u2212": "-", "，": ","})
# The points' unit after the number (350分, +5分, -50 分): read as the number alone. Nothing
# else is: "扣5分" (deduct 5) is refused and told to be written -5 (DEDUCTION_WORDS), as a
# word before a number may say anything ("扣-5分", "补扣5分").
UNIT = re.compile(r"\s*分\Z")
DEDUCTION_WORDS = ("扣", "减", "減", "罚", "罰")
# A carried-over proposal's fields the import's check settles for every row at once.
CHECKED_FIELDS = ["village", "household", "rule", "batch", "proposed_by"]
# Rejected or cancelled proposals leave a household free to be carried over again.
UNDONE = (Proposal.Status.REJECTED, Proposal.Status.CANCELLED)
LIVE = [status for status in Proposal.Status.values if status not in UNDONE]


@dataclass
class RowReport:
    row: SheetRow
    errors: RowErrors
    is_balance: bool = False
    # The row under the balances that adds them up (合计): checked against them, not imported.
    is_total: bool = False
    carried_on: datetime.date | None = None  # its household's balance is carried over already


@dataclass
class HouseholdPlan:
    household: Household
    row: int
    paper_balance: int
    grant: int
    spendable: int  # the card's balance now, less the points held for its reservations
    history: list[dict] = field(default_factory=list)

    @property
    def points(self) -> int:
        return self.paper_balance - self.grant


@dataclass
class CarryOverCheck:
    reports: list[RowReport]
    plans: list[HouseholdPlan]
    paper_total: int
    file_total: int  # every balance the file gives that reads as one, bad rows' included
    problems: list[str] = field(default_factory=list)  # of the file as a whole

    @property
    def grants_total(self) -> int:
        return sum(plan.grant for plan in self.plans)

    @property
    def carried_total(self) -> int:
        return sum(plan.points for plan in self.plans)

    @property
    def totals_agree(self) -> bool:
        return self.paper_total == self.file_total

    @property
    def bad_rows(self) -> int:
        return sum(1 for report in self.reports if report.errors)

    @property
    def is_valid(self) -> bool:
        return bool(self.plans) and not self.problems and not self.bad_rows

    @property
    def carried_over_on(self) -> datetime.date | None:
        """The day of the batch, when every balance of the file is carried over already: the
        same file, imported meanwhile (another tab of its preview confirmed at the same
        moment). The file's other problems, if any, are not told then: it was imported."""
        balances = [report for report in self.reports if report.is_balance]
        if balances and all(report.carried_on for report in balances):
            return max(report.carried_on for report in balances)
        return None

    def error_lines(self) -> list[str]:
        return self.problems + [
            _("Row %(line)d: %(error)s") % {"line": report.row.line, "error": error}
            for report in self.reports
            for error in report.errors
        ]


def carry_over_parse(upload) -> SheetRows:
    """Read an uploaded paper ledger (SheetFileError for a file that is no such table)."""
    return sheet_parse(
        upload,
        COLUMNS,
        max_rows=MAX_ROWS,
        no_rows=_("The file has column names but no rows of balances."),
    )


def _whole(text: str) -> int | None:
    """The whole number a cell holds, of any size (the checks say when it is too large), or
    None; a Chinese input method's full-width digits, signs and comma read as ASCII (and
    SIGNS), and a trailing 分 (UNIT) as nothing."""
    text = UNIT.sub("", number_text(text).translate(SIGNS))
    if len(text) > MAX_NUMBER_LENGTH or not WHOLE.fullmatch(text):
        return None
    return int(text.replace(",", ""))


def _taken(village: Village, household_ids) -> dict[int, datetime.date]:
    """{household id: date of its batch} for the village's households already carried over.

    A line with a proposal stands unless that proposal was undone; a line without one (its
    paper balance was the grant) follows its batch: a batch rejected frees every household
    in it. A batch without proposals (imported before such files were refused) stands.
    Each table is read with the village named (docs/performance.md, "Past one database").
    """
    proposals = Proposal.objects.filter(village=village)
    batch_proposals = proposals.filter(batch_id=OuterRef("carry_over__batch_id"))
    lines = (
        CarryOverLine.objects.filter(
            carry_over__village=village,
            household_id__in=list(household_ids),
        )
        .filter(
            Exists(proposals.filter(pk=OuterRef("proposal_id"), status__in=LIVE))
            | Q(proposal__isnull=True)
            & (
                Exists(batch_proposals.filter(status__in=LIVE))
                | ~Exists(batch_proposals.values("pk"))
            )
        )
        .values_list("household_id", "carry_over__batch__date")
    )
    return dict(lines)


DIGITS = re.compile(r"[0-9]+")


def _households(village: Village, rows: list[SheetRow]):
    """{number as stored: number in capitals} for the numbers the file gives, the database's
    capitals (household_number_keys), and {number in capitals: household} for them ("x001"
    finds X001).

    A number of digits alone that no household has finds the one household whose number is
    it with leading zeros (1 finds 001): Excel and WPS keep a number typed in a cell not
    formatted as text as a number, and drop its zeros, and so does the CSV they save. Several
    such households (01 and 001) find none. The head's name, checked next, confirms it."""
    keys = household_number_keys(row.values["household_number"] for row in rows)
    village_households = Household.objects.filter(village=village).select_related("account")
    found = {h.number_upper: h for h in village_households.numbered(keys.values())}
    lost = {str(int(n)) for n, key in keys.items() if DIGITS.fullmatch(n) and key not in found}
    if lost:
        padded = defaultdict(list)
        pattern = f"^0+({'|'.join(sorted(lost))})$"
        capitals = village_households.annotate(number_upper=Upper("number"))
        for household in capitals.filter(number__regex=pattern):
            padded[str(int(household.number))].append(household)
        for number, key in keys.items():
            if DIGITS.fullmatch(number) and key not in found:
                candidates = padded.get(str(int(number)), [])
                if len(candidates) == 1:
                    found[key] = candidates[0]
    return keys, found


def _same_name(typed: str, registered: str) -> bool:
    """Whether a file's name is the registered one, white space aside: a paper ledger spaces
    a two-character name out to the width of three (冯　明, 冯 明), and a roster may have
    registered it so."""
    return re.sub(r"\s+", "", typed) == re.sub(r"\s+", "", registered)


def _grants(account_ids) -> dict[int, int]:
    rows = (
        Entry.objects.filter(account_id__in=list(account_ids), kind=Entry.Kind.OPENING)
        .values("account_id")
        .annotate(points=Sum("points"))
    )
    return {row["account_id"]: row["points"] for row in rows}


def _check_balance_row(report: RowReport, text: str) -> int | None:
    balance = _whole(text)
    if balance is None:
        report.errors.about(
            "balance",
            _('The balance "%(value)s" is not a whole number of points.')
            % {"value": mask_cell(text)},
        )
    elif balance < 0:
        # Masked, as below: so many digits may be an ID number or a phone one column off.
        report.errors.append(
            _("The balance cannot be negative (%(value)s).") % {"value": mask_cell(str(balance))}
        )
    elif balance > MAX_BALANCE:
        report.errors.append(
            _("The balance %(value)s is more than %(max)d points.")
            % {"value": mask_cell(str(balance)), "max": MAX_BALANCE}
        )
    else:
        return balance
    return None


def _check_history_row(report: RowReport, values: dict[str, str]) -> dict | None:
    day = date_read(values["date"])
    points = _whole(values["points"])
    if day is None:
        report.errors.about(
            "date",
            _('The date "%(value)s" is not a date like 2021-03-15.')
            % {"value": mask_cell(values["date"])},
        )
    elif day > timezone.localdate():
        report.errors.append(_("The date %(value)s is in the future.") % {"value": day})
    elif day < EARLIEST_DAY:
        report.errors.append(
            _("The date %(value)s is before the earliest allowed, %(earliest)s.")
            % {"value": day, "earliest": EARLIEST_DAY}
        )
    if points is None and any(word in values["points"] for word in DEDUCTION_WORDS):
        report.errors.about(
            "points",
            _(
                'The points "%(value)s" of the line are not a number. Write a deduction as a '
                "number with a minus sign, such as -5."
            )
            % {"value": mask_cell(values["points"])},
        )
    elif points is None or points == 0:
        report.errors.about(
            "points",
            _('The points "%(value)s" of the line are not a whole number other than 0.')
            % {"value": mask_cell(values["points"])},
        )
    elif abs(points) > MAX_BALANCE:
        report.errors.append(
            _("The line's %(value)s points are more than %(max)d.")
            % {"value": mask_cell(str(points)), "max": MAX_BALANCE}
        )
    if len(values["what"]) > 200:
        report.errors.append(_("What the line is for is longer than 200 characters."))
    if report.errors:
        return None
    return {"date": day.isoformat(), "points": points, "what": values["what"]}


SUBTOTAL_WORDS = ("小计", "小計", "subtotal")


def _check_total_row(report: RowReport, file_total: int) -> None:
    """A total row (合计) is not imported; the sum it gives is the file's, or the row says so.
    A subtotal (小计, of one group) is not compared: what it adds up is not written."""
    values = report.row.values
    text = values["balance"]
    if not text:
        return
    total = _whole(text)
    if total is None:
        report.errors.about(
            "balance",
            _('The total row\'s balance "%(value)s" is not a whole number of points.')
            % {"value": mask_cell(text)},
        )
    elif total != file_total and not any(
        word in (values["household_number"] + values["head_name"]).lower()
        for word in SUBTOTAL_WORDS
    ):
        report.errors.append(
            _(
                "This is the file's total row: it gives %(total)d, but the balances above it "
                "add up to %(sum)d. Check the balances against the paper ledger, or correct "
                "the total."
            )
            % {"total": total, "sum": file_total}
        )


def carry_over_check(village: Village, rows: list[SheetRow], paper_total: int) -> CarryOverCheck:
    """Every row's problems in plain words, and what each household would carry over."""
    keys, households = _households(village, rows)
    accounts = {h.pk: h.account for h in households.values() if hasattr(h, "account")}
    with_card = households_with_active_card(h.pk for h in households.values())
    grants = _grants(account.pk for account in accounts.values())
    taken = _taken(village, (h.pk for h in households.values()))
    reports = []
    file_total = 0
    plans: dict[str, HouseholdPlan] = {}
    # Keyed by the number in capitals (household_number_keys): "X001" and "x001" are one household.
    balance_rows: dict[str, int] = {}
    history: dict[str, list[tuple[RowReport, dict]]] = defaultdict(list)
    total_rows: list[RowReport] = []
    for row in rows:
        values = row.values
        report = RowReport(row=row, errors=RowErrors(row, COLUMNS))
        reports.append(report)
        number = household_number_text(values["household_number"])
        household = households.get(keys[number])
        # One household is one key, whichever spelling of its number the row gives (1, 001).
        key = household.number_upper if household is not None else keys[number]
        if household is None and is_total_text(values["household_number"] or values["head_name"]):
            report.is_total = True
            total_rows.append(report)
            continue
        if household is not None:
            number = household.number  # the messages name it as registered
        if not number:
            report.errors.append(_("The household number is missing."))
        elif household is None:
            report.errors.about(
                "household_number",
                _("No household numbered %(number)s is registered in this village.")
                % {"number": mask_household_number(number)},
            )
        elif not _same_name(values["head_name"], household.head_name):
            report.errors.about(
                "head_name",
                _('Household %(number)s is headed by %(registered)s, not "%(value)s".')
                % {
                    "number": number,
                    "registered": household.head_name,
                    "value": mask_cell(values["head_name"]),
                },
            )
        # A misplaced TRUE is said once (RowErrors): a row with one beside a line or a
        # balance is not also said to give both.
        typed = {key for key, value in values.items() if value}
        line_typed = typed & {"date", "points", "what"}
        balance_given = "balance" in typed - report.errors.misplaced
        has_line = bool(line_typed - report.errors.misplaced) or (
            bool(line_typed) and not balance_given
        )
        if balance_given and line_typed - report.errors.misplaced:
            report.errors.append(
                _("A row gives either the balance or one dated line of history, not both.")
            )
            continue
        if "balance" not in typed and not line_typed:
            report.errors.append(_("The row has neither a balance nor a dated line of history."))
            continue
        if has_line:
            line = _check_history_row(report, values)
            if line is not None and number:
                history[key].append((report, line))
            continue
        report.is_balance = True
        balance = _check_balance_row(report, values["balance"])
        file_total += balance or 0
        if key in balance_rows:
            report.errors.append(
                _("The balance of household %(number)s is already in row %(line)d.")
                % {"number": number, "line": balance_rows[key]}
            )
            continue
        balance_rows[key] = row.line
        if household is None or report.errors:
            continue
        if household.status != Household.Status.ACTIVE:
            report.errors.append(
                _("Household %(number)s is %(status)s.")
                % {"number": number, "status": household.get_status_display()}
            )
        account = accounts.get(household.pk)
        if account is None:
            report.errors.append(
                _("Household %(number)s has no points card yet: issue its card first.")
                % {"number": number}
            )
        elif household.pk not in with_card:
            report.errors.append(
                _("Household %(number)s has no active points card (recalled).") % {"number": number}
            )
        if household.pk in taken:
            report.carried_on = taken[household.pk]
            report.errors.append(
                _("Household %(number)s already has its balance carried over (batch of %(date)s).")
                % {"number": number, "date": taken[household.pk].isoformat()}
            )
        if report.errors:
            continue
        plan = HouseholdPlan(
            household=household,
            row=row.line,
            paper_balance=balance,
            grant=grants.get(account.pk, 0),
            spendable=account.spendable,
        )
        if plan.spendable + plan.points < 0:
            # As the approval will count (points.ledger.balance_after): what is held for
            # reservations is not there to be taken.
            report.errors.append(
                _(
                    "Household %(number)s can spend %(spendable)d points now (its balance less "
                    "what its reservations hold); carrying over %(points)d (its paper balance "
                    "less the card's opening grant) would leave it below zero."
                )
                % {"number": number, "spendable": plan.spendable, "points": plan.points}
            )
            continue
        plans[key] = plan
    for key, lines in history.items():
        plan = plans.get(key)
        if plan is None:
            first = lines[0][0]
            if not first.errors and key in households:
                first.errors.append(
                    _("Household %(number)s has lines of history but no correct balance row.")
                    % {"number": households[key].number}
                )
            continue
        plan.history = sorted((line for _report, line in lines), key=lambda line: line["date"])
        added = sum(line["points"] for line in plan.history)
        if added != plan.paper_balance:
            balance_report = next(r for r in reports if r.row.line == plan.row)
            balance_report.errors.append(
                _(
                    "The lines of history of household %(number)s add up to %(sum)d, "
                    "but its balance is %(balance)d."
                )
                % {"number": plan.household.number, "sum": added, "balance": plan.paper_balance}
            )
    for report in total_rows:
        _check_total_row(report, file_total)
    bad = {r.row.line for r in reports if r.errors and r.is_balance}
    result = CarryOverCheck(
        reports=reports,
        plans=[plan for plan in plans.values() if plan.row not in bad],
        paper_total=paper_total,
        file_total=file_total,
    )
    if not result.plans and not result.bad_rows:
        result.problems.append(_("The file has no row with a balance."))
    elif result.plans and not any(plan.points for plan in result.plans):
        result.problems.append(
            _(
                "Every balance in the file equals the card's opening grant: there is nothing "
                "to carry over, and nothing to import."
            )
        )
    if not result.totals_agree:
        result.problems.append(
            _(
                "The paper ledger's total you typed, %(paper)d, is not the total of the file's "
                "balances, %(file)d. Check the file against the paper ledger."
            )
            % {"paper": paper_total, "file": result.file_total}
        )
    return result


def carried_over_rule(village: Village) -> Rule:
    """The village's rule for balances carried over, made on first use (never active)."""
    rule = Rule.objects.filter(village=village, category=Rule.Category.CARRIED_OVER).first()
    if rule is not None:
        return rule
    code = "结转"
    taken = set(Rule.objects.filter(village=village).values_list("code", flat=True))
    suffix = 1
    while code in taken:
        suffix += 1
        code = f"结转{suffix}"
    with records_language():
        description = _("Balance carried over from the paper ledger")
    rule = Rule(
        village=village,
        code=code,
        category=Rule.Category.CARRIED_OVER,
        description=description[:200],
        points=1,  # a rule moves points; each proposal carries its own figure
        active=False,
    )
    rule.full_clean()
    rule.save()
    return rule


def carried_over_already(day: datetime.date) -> ValidationError:
    """The answer to a paper ledger confirmed again once it was imported (another tab of its
    preview, at the same moment or later): nothing was imported twice."""
    return ValidationError(
        _(
            "The balances of this paper ledger were carried over already (batch of "
            "%(date)s): nothing was imported again."
        )
        % {"date": day.isoformat()},
        code="carried_over",
    )


def carry_over_import(
    *,
    village: Village,
    rows: list[SheetRow],
    paper_total: int,
    file_name: str,
    actor: User,
    upload_token: str = "",
    request=None,
) -> CarryOver:
    """Propose every household's paper balance as one batch, all or nothing.

    The rows are checked again under the village's row lock: the households, their cards
    and earlier imports may have changed since the preview, and two imports queue up.
    """
    if not (is_manager(actor) and actor.village_id == village.pk):
        raise ValidationError(_("Only the village's manager may import the paper ledger."))
    with transaction.atomic():
        village = Village.objects.select_for_update(no_key=True).get(pk=village.pk)
        # A balance the carried-over line cannot bear is refused here already; approval checks
        # it again under the accounts' locks, as for any deduction.
        check = carry_over_check(village, rows, paper_total)
        if not check.is_valid and (day := check.carried_over_on) is not None:
            raise carried_over_already(day)
        if not check.is_valid:
            raise ValidationError(check.error_lines())
        rule = carried_over_rule(village)
        today = timezone.localdate()
        with records_language():  # the batch, its reasons: the village's records
            title = _("Balances carried over from the paper ledger")
            reason = _("Paper balance %(balance)d, less the card's opening grant %(grant)d")
        batch = Batch(
            village=village,
            rule=rule,
            title=title[:100],
            date=today,
            created_by=actor,
        )
        batch.full_clean()
        batch.save()
        carry_over = CarryOver(
            village=village,
            batch=batch,
            file_name=file_name[:100],
            paper_total=paper_total,
            file_total=check.file_total,
            grants_total=check.grants_total,
            upload_token=upload_token,
            created_by=actor,
        )
        carry_over.full_clean()
        carry_over.save()
        proposals, lines = [], []
        for plan in check.plans:
            proposal = None
            if plan.points:
                proposal = Proposal(
                    village=village,
                    household=plan.household,
                    rule=rule,
                    batch=batch,
                    points=plan.points,
                    reason=(reason % {"balance": plan.paper_balance, "grant": plan.grant})[:300],
                    occurred_on=today,
                    proposed_by=actor,
                )
                # The check above looked, under the village's lock, at every household of
                # the file at once (this village's, with an active card, not carried over
                # yet; its points not 0): full_clean asking again for each foreign key and
                # constraint took some 23 queries a household (2,300 for a village of 100,
                # some 20 s for one of 1,000). The database holds them all.
                proposal.full_clean(exclude=CHECKED_FIELDS, validate_constraints=False)
                proposals.append(proposal)
            lines.append(
                CarryOverLine(
                    carry_over=carry_over,
                    household=plan.household,
                    row=plan.row,
                    paper_balance=plan.paper_balance,
                    grant=plan.grant,
                    proposal=proposal,
                    history=plan.history,
                )
            )
        Proposal.objects.bulk_create(proposals)
        for line in lines:
            line.proposal_id = line.proposal.pk if line.proposal else None
            # One line a household: the check refused a household's second balance.
            line.full_clean(
                exclude=["carry_over", "household", "proposal"], validate_constraints=False
            )
        CarryOverLine.objects.bulk_create(lines)
        proposals_refer_if_undecidable(proposals=proposals, actor=actor, request=request)
        audit_record(
            action="carryover.import",
            actor=actor,
            village_id=village.pk,
            obj=batch,
            detail={
                "households": len(lines),
                "paper_total": paper_total,
                "file_total": check.file_total,
                "carried": check.carried_total,
            },
            request=request,
        )
    return carry_over


def carry_over_template_workbook(village: Village):
    """An .xlsx with the expected columns and a sheet that explains them."""
    workbook = text_workbook(COLUMNS, "结转积分")
    # The sheet the import reads keeps its Chinese name and headers: they are what to type.
    help_sheet = workbook.create_sheet(pgettext("spreadsheet sheet", "How to fill it in"))
    row_append(help_sheet, [_("Column"), _("English name"), _("Required"), _("What to write")])
    notes = {
        "household_number": _("The household number as registered in the roster."),
        "head_name": _("As registered; it checks the number."),
        "balance": _("The household's balance on the paper ledger, one row per household."),
        "date": _("Optional lines of history: one row per line, without a balance."),
        "points": _("The line's points, negative for a deduction or a redemption."),
        "what": _("What the line was for."),
    }
    for column in COLUMNS:
        row_append(
            help_sheet,
            [
                column.header,
                str(column.english),
                _("yes") if column.required else _("no"),
                str(notes.get(column.key, "")),
            ],
        )
    return workbook
