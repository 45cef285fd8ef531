"""Reading a household roster (.xlsx, .csv or .txt) and checking it row by row, in plain words.

One row per person; rows sharing a household number form one household. Parsing never
touches the database; `roster_check` compares the rows with the village's groups and
households. The write is `villagers.services.roster_import`.
"""

import re
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from core.spreadsheet import (
    MAX_BYTES,  # noqa: F401  (the roster's limit, as its tests and pages read it)
    Column,
    RowErrors,
    SheetFileError,
    SheetRow,
    SheetRows,
    is_total_text,
    row_append,
    sheet_parse,
    text_workbook,
    year_read,
)
from core.text import list_join, person_name_text
from villagers.idnumbers import (
    EARLIEST_BIRTH_YEAR,
    id_number_invalid_message,
    id_number_is_valid,
    id_number_taken_message,
    id_number_text,
    id_numbers_registered_villages,
    phone_invalid_message,
    phone_text,
)
from villagers.masking import mask_cell, mask_household_number
from villagers.models import (
    Household,
    Member,
    Village,
    VillageGroup,
    household_number_text,
)
from villagers.selectors import household_number_keys

MAX_ROWS = 3000


COLUMNS = (
    Column(
        "household_number",
        "户号",
        "household number",
        ("戶號", "household number", "household no", "number"),
        True,
    ),
    Column(
        "group",
        "村民小组",
        "village group",
        ("小组", "组", "村民小組", "小組", "group", "village group"),
        True,
    ),
    Column(
        "head_name",
        "户主姓名",
        "head of household",
        ("户主", "戶主姓名", "戶主", "head", "head name", "head of household"),
        True,
    ),
    Column("name", "姓名", "name", ("name", "member name", "member")),
    Column(
        "relation",
        "与户主关系",
        "relation to head",
        ("关系", "與戶主關係", "關係", "relation", "relation to head"),
    ),
    Column("sex", "性别", "sex", ("性別", "sex", "gender")),
    Column(
        "birth_year",
        "出生年份",
        "birth year",
        # 出生年月 and 出生日期, as rosters often have them: the year is read (year_read).
        ("出生年", "出生年月", "出生日期", "birth year", "year of birth", "date of birth"),
        date=True,
    ),
    Column(
        "id_number",
        "身份证号",
        "ID number",
        (
            "身份证号码",
            "身份证",
            "公民身份号码",
            "身份证件号码",
            "身份證號",
            "身份證號碼",
            "id number",
            "id",
            "id no",
        ),
    ),
    Column(
        "phone",
        "联系电话",
        "phone",
        ("电话", "电话号码", "手机", "手机号", "手机号码", "联系方式", "聯繫電話", "電話", "phone"),
    ),
    Column("address", "住址", "address", ("地址", "家庭住址", "家庭地址", "现住址", "address")),
    Column(
        "is_poor",
        "贫困户",
        "registered poor",
        ("是否贫困户", "貧困戶", "poor", "registered poor", "is poor"),
        yes_no=True,
    ),
    Column(
        "poverty_exit_year",
        "脱贫年份",
        "year lifted out of poverty",
        ("脫貧年份", "exit year", "poverty exit year", "year lifted out of poverty"),
        date=True,
    ),
)
COLUMN_KEYS = [column.key for column in COLUMNS]

# Accepted spellings of each relation ("|"-separated); the first is shown in messages.
RELATIONS = {
    key: tuple(aliases.split("|"))
    for key, aliases in {
        Member.Relation.HEAD: "户主|戶主|本人|head|head of household|self",
        Member.Relation.SPOUSE: "配偶|妻|夫|妻子|丈夫|spouse|wife|husband",
        Member.Relation.CHILD: "子女|子|女|儿子|女儿|兒子|女兒|长子|长女|次子|次女|child|son|"
        "daughter",
        Member.Relation.CHILD_IN_LAW: "儿媳|女婿|兒媳|媳妇|child_in_law|child in law|son-in-law|"
        "daughter-in-law",
        Member.Relation.GRANDCHILD: "孙子|孙女|外孙|外孙女|孫子|孫女|grandchild|grandson|"
        "granddaughter",
        Member.Relation.PARENT: "父亲|母亲|父母|父親|母親|parent|father|mother",
        Member.Relation.SIBLING: "兄弟|姐妹|兄弟姐妹|哥哥|弟弟|姐姐|妹妹|sibling|brother|sister",
        Member.Relation.OTHER: "其他|other",
    }.items()
}
RELATION_LOOKUP = {alias.lower(): key for key, aliases in RELATIONS.items() for alias in aliases}
SEX_LOOKUP = {"男": "M", "女": "F", "m": "M", "f": "F", "male": "M", "female": "F"}
YES = {"是", "y", "yes", "true", "1", "√", "贫困户", "貧困戶"}
NO = {"否", "n", "no", "false", "0", "×", ""}
# A mobile number as a number cell keeps it: 11 digits from 1, no leading 0 to lose.
MOBILE = re.compile(r"1[0-9]{10}")
# A file looks like another village's roster (RosterCheck.problems) when more than half of
# its ID numbers, and this many at least, are registered in other villages.
OTHER_VILLAGE_IDS = 3


# The file reading is core.spreadsheet's, shared with the paper ledger's import.
RosterFileError = SheetFileError
RosterRow = SheetRow


@dataclass
class RowReport:
    row: RosterRow
    errors: list[str] = field(default_factory=list)
    member: dict = field(default_factory=dict)
    # The row under the people that counts them (合计 3户 5人): nobody's, not imported.
    is_total: bool = False


@dataclass
class RosterCheck:
    reports: list[RowReport]
    households: list[dict]
    problems: list[str] = field(default_factory=list)  # of the file as a whole

    @property
    def is_valid(self) -> bool:
        return bool(self.households) and not any(report.errors for report in self.reports)

    @property
    def error_count(self) -> int:
        return sum(len(report.errors) for report in self.reports)

    def error_lines(self) -> list[str]:
        return self.problems + [
            _("Row %(line)d: %(error)s") % {"line": report.row.line, "error": error}
            for report in self.reports
            for error in report.errors
        ]


def roster_parse(upload) -> SheetRows:
    """Read an uploaded file into rows (raises RosterFileError for files that are no roster)."""
    return sheet_parse(
        upload,
        COLUMNS,
        max_rows=MAX_ROWS,
        no_rows=_("The file has column names but no rows of people."),
    )


def _year(text: str, low: int, high: int) -> int | None:
    """The year a cell gives (a year, a month or a day: core.spreadsheet.year_read) from
    `low` to `high`, or None."""
    year = year_read(text)
    return year if year is not None and low <= year <= high else None


def _check_member(values: dict[str, str], errors: RowErrors, number_cells=frozenset()) -> dict:
    """Validate the person's own columns; returns the member's fields. `number_cells`: the
    row's columns the workbook held as numbers (SheetRow.number_cells)."""
    this_year = timezone.localdate().year
    head_name = person_name_text(values["head_name"])
    name = person_name_text(values["name"]) or head_name
    if len(name) > 50:
        errors.append(_("The name is longer than 50 characters."))

    relation_text = values["relation"]
    if relation_text:
        relation = RELATION_LOOKUP.get(relation_text.lower())
        if relation is None:
            errors.about(
                "relation",
                _('Unknown relation to the head "%(value)s". Use one of: %(choices)s.')
                % {
                    "value": mask_cell(relation_text),
                    "choices": list_join(a[0] for a in RELATIONS.values()),
                },
            )
    elif name and name == head_name:
        relation = Member.Relation.HEAD
    else:
        relation = None
        errors.append(_("The relation to the head of household is missing (for example 配偶)."))

    # A misplaced TRUE is said once (RowErrors), and is no ID number to find twice.
    id_number = "" if "id_number" in errors.misplaced else id_number_text(values["id_number"])
    if id_number and not id_number_is_valid(id_number):
        id_number_ok = False
        errors.append(id_number_invalid_message(id_number))
    else:
        id_number_ok = bool(id_number)

    sex_text = values["sex"]
    sex = SEX_LOOKUP.get(sex_text.lower())
    if sex_text and sex is None:
        errors.about("sex", _('Sex "%(value)s" is not 男 or 女.') % {"value": mask_cell(sex_text)})
    elif not sex_text:
        if id_number_ok:
            sex = "M" if int(id_number[16]) % 2 else "F"
        else:
            errors.append(_("The sex is missing (男 or 女)."))

    birth_text = values["birth_year"]
    birth_year = _year(birth_text, EARLIEST_BIRTH_YEAR, this_year)
    if birth_text and birth_year is None:
        errors.about(
            "birth_year",
            _('Birth year "%(value)s" is not a year between %(first)d and %(year)d.')
            % {"value": mask_cell(birth_text), "first": EARLIEST_BIRTH_YEAR, "year": this_year},
        )
    elif not birth_text:
        if id_number_ok:
            birth_year = int(id_number[6:10])
        else:
            errors.append(_("The birth year is missing."))
    elif id_number_ok and int(id_number[6:10]) != birth_year:
        errors.append(_("The birth year does not match the ID number."))

    try:
        phone = phone_text(values["phone"])
    except ValueError:
        phone = ""
        errors.about("phone", phone_invalid_message())
    else:
        # A number cell drops a landline's leading 0 (08511234567 is kept as 8511234567),
        # and a "+" before a country code: only a mobile number is what was typed.
        if "phone" in number_cells and phone and not MOBILE.fullmatch(phone):
            phone = ""
            errors.about(
                "phone",
                _(
                    "The phone number is in a cell formatted as a number, which drops a "
                    "leading 0 (0851… is kept as 851…). Format the phone column as text, "
                    "type the number again and upload the file again."
                ),
            )

    return {
        "name": name,
        "relation": relation,
        "sex": sex,
        "birth_year": birth_year,
        "id_number": id_number,
        "phone": phone,
    }


def _check_household(values: dict[str, str], errors: RowErrors, groups: dict) -> dict:
    """Validate the household columns of one row; returns the household's fields."""
    number = household_number_text(values["household_number"])
    if not number:
        errors.append(_("The household number is missing."))
    elif len(number) > 20:
        errors.append(_("The household number is longer than 20 characters."))

    group_name = values["group"]
    group = groups.get(group_name.lower()) if group_name else None
    if not group_name:
        errors.append(_("The village group is missing."))
    elif group is None:
        errors.about(
            "group",
            _('Unknown village group "%(value)s". This village has: %(groups)s.')
            % {
                "value": mask_cell(group_name),
                "groups": list_join(g.name for g in groups.values()),
            },
        )

    head_name = person_name_text(values["head_name"])
    if not head_name:
        errors.append(_("The head of household's name is missing."))
    elif len(head_name) > 50:
        errors.append(_("The head of household's name is longer than 50 characters."))

    poor_text = values["is_poor"].lower()
    is_poor = poor_text in YES
    if poor_text not in YES | NO:
        errors.append(
            _('Registered poor "%(value)s": write 是 or 否.')
            % {"value": mask_cell(values["is_poor"])}
        )

    exit_text = values["poverty_exit_year"]
    exit_year = _year(exit_text, 2000, 2100)
    if exit_text and exit_year is None:
        errors.about(
            "poverty_exit_year",
            _('Year lifted out of poverty "%(value)s" is not a year.')
            % {"value": mask_cell(exit_text)},
        )
    if len(values["address"]) > 200:
        errors.append(_("The address is longer than 200 characters."))

    return {
        "number": number,
        "group_id": group.pk if group else None,
        "head_name": head_name,
        "address": values["address"],
        "is_poor": is_poor,
        "poverty_exit_year": exit_year,
    }


SHARED_COLUMNS = ("group", "head_name", "address", "is_poor", "poverty_exit_year")
PERSON = ("name", "relation", "sex", "birth_year")


def _shared(key: str, value: str) -> str:
    """A household's cell as rows of it are compared: the head's name as registered."""
    return person_name_text(value) if key == "head_name" else value


def _same_person_check(
    member: dict, line: int, number_key: str, person_lines: dict, errors: list[str]
) -> None:
    """Two rows of one household alike in name, relation, sex and birth year are one person
    pasted twice, whether neither or one of them has an ID number; two ID numbers are two
    people (one ID number twice is refused as such)."""
    earlier = person_lines.setdefault((number_key, *(member[key] for key in PERSON)), [])
    id_number = member["id_number"]
    same = next((other for other in earlier if not (id_number and other[1])), None)
    if same is None:
        earlier.append((line, id_number))
    elif not id_number and not same[1]:
        errors.append(
            _(
                "The same person (name, relation, sex and birth year) is already in "
                "row %(line)d. If they are two people, write their ID numbers."
            )
            % {"line": same[0]}
        )
    elif same[1]:
        errors.append(
            _(
                "The same person (name, relation, sex and birth year) is already in row "
                "%(line)d, with an ID number. If they are two people, write this row's ID "
                "number too; if not, delete this row."
            )
            % {"line": same[0]}
        )
    else:
        errors.append(
            _(
                "The same person (name, relation, sex and birth year) is already in row "
                "%(line)d, without an ID number. If they are two people, write row "
                "%(line)d's ID number too; if not, delete row %(line)d."
            )
            % {"line": same[0]}
        )


def roster_check(village: Village, rows: list[RosterRow]) -> RosterCheck:
    """Every row's problems in plain words, and the households the rows would create."""
    groups = {g.name.lower(): g for g in VillageGroup.objects.filter(village=village)}
    # A number is one number whatever the case of its letters, as the database compares
    # them (household_unique_number_any_case): "a12" is A12, in the file and registered.
    # Its capitals are the database's own (household_number_keys), not Python's.
    number_keys = household_number_keys(row.values["household_number"] for row in rows)
    taken = dict(
        Household.objects.filter(village=village)
        .numbered(number_keys.values())
        .values_list("number_upper", "number")
    )
    # Read as each row's will be, and looked for in every village: a person is registered
    # once in the deployment (full-width digits, or another village, slipped through). The
    # manager is told whether here or in another village, never whose household it is.
    known_ids = id_numbers_registered_villages(
        {id_number_text(row.values["id_number"]) for row in rows}
    )
    reports = []
    households: dict[str, dict] = {}
    first_line: dict[str, RosterRow] = {}
    first_misplaced: dict[str, frozenset[str]] = {}
    head_line: dict[str, int] = {}
    relation_unread: set[str] = set()  # households with a row whose relation is said already
    id_line: dict[str, int] = {}
    # Each person's rows so far, by household and person: [(line, ID number or "")].
    person_lines: dict[tuple, list[tuple[int, str]]] = {}
    for row in rows:
        if is_total_text(row.values["household_number"] or row.values["head_name"]):
            reports.append(RowReport(row=row, is_total=True))
            continue
        errors = RowErrors(row, COLUMNS)
        household = _check_household(row.values, errors, groups)
        member = _check_member(row.values, errors, row.number_cells)
        number = household["number"]
        number_key = number_keys[number]
        if number_key in taken:
            errors.append(
                _("Household number %(number)s is already registered in this village.")
                % {"number": mask_household_number(taken[number_key])}
            )
        if member["id_number"]:
            if member["id_number"] in known_ids:
                here = known_ids[member["id_number"]] == village.pk
                errors.append(id_number_taken_message(in_this_village=here))
            elif member["id_number"] in id_line:
                errors.append(
                    _("The same ID number is already in row %(line)d.")
                    % {"line": id_line[member["id_number"]]}
                )
            else:
                id_line[member["id_number"]] = row.line
        if number and member["relation"] is None:
            relation_unread.add(number_key)
        if number:
            _same_person_check(member, row.line, number_key, person_lines, errors)
            first = first_line.setdefault(number_key, row)
            # A TRUE in the first row's cell is said there, once: not again as a difference.
            said = first_misplaced.setdefault(number_key, errors.misplaced)
            for key in SHARED_COLUMNS:
                if (
                    first is not row
                    and key not in said
                    and row.values[key]
                    and _shared(key, row.values[key]) != _shared(key, first.values[key])
                ):
                    errors.about(
                        key,
                        _('Household %(number)s: "%(column)s" differs from row %(line)d.')
                        % {
                            "number": mask_household_number(number),
                            "column": next(c.header for c in COLUMNS if c.key == key),
                            "line": first.line,
                        },
                    )
            if member["relation"] == Member.Relation.HEAD:
                if number_key in head_line:
                    errors.append(
                        _("Household %(number)s already has its head in row %(line)d.")
                        % {"number": mask_household_number(number), "line": head_line[number_key]}
                    )
                else:
                    head_line[number_key] = row.line
                # The household (its pages, its login) is known by the head's column, the
                # head by this row: two names would register one head as two people.
                if household["head_name"] and member["name"] != household["head_name"]:
                    errors.append(
                        _(
                            "The head's row names %(name)s, but the household's head (户主姓名) "
                            "is %(head)s."
                        )
                        % {
                            "name": mask_cell(member["name"]),
                            "head": mask_cell(row.values["head_name"]),
                        }
                    )
            if first is row:
                households[number_key] = {**household, "phone": "", "members": []}
            if member["relation"] == Member.Relation.HEAD and member["phone"]:
                households[number_key]["phone"] = member["phone"]
            households[number_key]["members"].append(member)
        reports.append(RowReport(row=row, errors=errors, member=member))
    # A household comes whole from a roster, so its head is among its members (one, as
    # `member_save` keeps it): a household without that row is said so on its first row,
    # unless a row's relation could not be read (that row may be the head's: said there).
    by_line = {report.row.line: report for report in reports}
    for number_key, household in households.items():
        if (
            number_key not in head_line
            and number_key not in relation_unread
            and household["head_name"]
        ):
            by_line[first_line[number_key].line].errors.append(
                _("Household %(number)s has no row for its head, %(name)s (relation 户主).")
                % {
                    "number": mask_household_number(household["number"]),
                    "name": mask_cell(household["head_name"]),
                }
            )
    id_numbers = [report.member.get("id_number", "") for report in reports]  # none of a total
    problems = _other_village_ids(village, id_numbers, known_ids)
    if not households and not any(report.errors for report in reports):  # its total row alone
        problems.append(_("The file has column names but no rows of people."))
    return RosterCheck(reports=reports, households=list(households.values()), problems=problems)


def _other_village_ids(village: Village, id_numbers: list[str], known: dict) -> list[str]:
    """That the file looks like another village's roster, when more than half of its valid
    ID numbers (OTHER_VILLAGE_IDS at least) are registered in other villages. Counted over
    them all, never by village: "in one other village" told whether the people of a file
    live in the same village, so two ID numbers known to be of village Y beside a third
    said whether that person lives in Y (each row says only "in another village")."""
    numbers = {number for number in id_numbers if number and id_number_is_valid(number)}
    count = sum(1 for n in numbers if n in known and known[n] != village.pk)
    if count < OTHER_VILLAGE_IDS or count * 2 <= len(numbers):
        return []
    return [
        _(
            "%(count)d of the file's %(total)d ID numbers are already registered in other "
            "villages: this file looks like another village's roster. Check that it is this "
            "village's file."
        )
        % {"count": count, "total": len(numbers)}
    ]


def _names_in(text: str, names) -> set[str]:
    """Which of `names` `text` holds, longest first: a name within a longer one found at
    the same place (新村 in 李新村) is not found there."""
    taken = [False] * len(text)
    found = set()
    for name in sorted(names, key=len, reverse=True):
        start = text.find(name)
        while start >= 0:
            end = start + len(name)
            if not any(taken[start:end]):
                found.add(name)
                taken[start:end] = [True] * len(name)
            start = text.find(name, start + 1)
    return found


def roster_villages_named(village: Village, texts) -> list[str]:
    """The other villages of the deployment that `texts` (the file's name, its sheet's name,
    the title above its columns) name, when they do not name `village` too: a roster made for
    another village whose groups and household numbers fit this one's would be imported
    without a word. A name of one character, or this village's group's (a group 富莊 beside
    a village 富莊), says nothing."""
    text = " ".join(texts)
    groups = {
        name.lower()
        for name in VillageGroup.objects.filter(village=village).values_list("name", flat=True)
    }
    others = {
        name
        for name in Village.objects.exclude(pk=village.pk).values_list("name", flat=True)
        if len(name) > 1 and name != village.name and name.lower() not in groups
    }
    found = _names_in(text, others | {village.name})
    if village.name in found:
        return []
    return sorted(found)


def roster_column_notes(village: Village) -> dict[str, str]:
    """What to write in each column, as the template's help sheet and the upload page say it."""
    group_names = VillageGroup.objects.filter(village=village).values_list("name", flat=True)
    return {
        "household_number": _(
            "Same number on every row of one household. Capital and small letters are the "
            "same: x001 is X001."
        ),
        "group": list_join(group_names),
        "head_name": _(
            "The head's name, the same on every row of the household. Each household needs "
            "a row of its own for its head, with relation 户主 and this name in 姓名 (or 姓名 "
            "left empty)."
        ),
        "name": _("Empty means the row is the head of household."),
        "relation": list_join(aliases[0] for aliases in RELATIONS.values()),
        "sex": "男 / 女",
        "birth_year": _("Four digits, e.g. 1965."),
        "id_number": _("18 characters; optional."),
        "is_poor": "是 / 否",
    }


def roster_template_workbook(village: Village):
    """An .xlsx with the expected columns and a sheet that explains them."""
    workbook = text_workbook(COLUMNS, "花名册")
    # The sheet the import reads keeps its Chinese name and headers: they are what to type.
    help_sheet = workbook.create_sheet(pgettext("spreadsheet sheet", "How to fill it in"))
    row_append(help_sheet, [_("Column"), _("English name"), _("Required"), _("What to write")])
    notes = roster_column_notes(village)
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
