"""The audit log in words: a translated name for every action code the services write, and
each event's detail as a sentence.

ACTIONS holds every code written through core.audit (tests/reports/test_audit_log.py reads
the source and fails naming a code without a label here). A sentence is built with
format_html from the event's detail and the names of the rows it refers to (`refs`, from
reports.audit_log): never a raw value or repr, and nothing personal beyond what the staff
pages show. Text a person typed (a reason, what a donor gave, a name tried at the sign-in)
may hold an ID number or a phone: it is read masked (`masked_detail`).
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.core.exceptions import FieldDoesNotExist
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from core.access import role_name
from core.audit import REFUSALS_RECORDED_PER_MINUTE
from core.text import list_join
from reports.models import ExportJob
from store.models import Donation, Donor, StockMovement
from villagers.cardnumbers import typed_card_number
from villagers.masking import mask_cell
from villagers.models import County, Member, Referral, Township, User, Village, VillageGroup
from wishwall.models import Wish

# Refers to a row by type and id: returns its link or name (reports.audit_log.Refs.shower).
Show = Callable[[str, object], SafeString]
Sentence = Callable[[dict, Show], SafeString]


@dataclass(frozen=True)
class Action:
    label: str
    sentence: Sentence | None = None


def _signed(points) -> str:
    try:
        return f"{int(points):+d}"
    except (TypeError, ValueError):
        return str(points)


def _yes_no(value) -> str:
    return _("yes") if value else _("no")


def _choice(choices, value) -> str:
    return str(dict(choices).get(value, value or "—"))


def _reason(detail, show) -> SafeString:
    return format_html(_("Reason: {}"), detail.get("reason") or "—")


def _refused(detail) -> SafeString:
    """How many refusals the address had this minute, where not each is recorded
    (core.audit.refusal_to_record)."""
    if not detail.get("refused"):
        return SafeString("")
    return format_html(
        " {}",
        _(
            "(refused %(count)s times from this address this minute so far: past "
            "%(limit)s, one is recorded each time the number doubles)"
        )
        % {"count": detail["refused"], "limit": REFUSALS_RECORDED_PER_MINUTE},
    )


def _login_failed(detail, show):
    if detail.get("pin_set_by_staff"):
        said = format_html(
            _("Card {}: a PIN set for it was refused, as another login of the card uses it"),
            detail.get("card") or "—",
        )
    elif "card" in detail:
        said = format_html(_("Card number tried: {}"), detail["card"])
    else:
        said = format_html(_("User name tried: {}"), detail.get("username") or "—")
    return format_html("{}{}", said, _refused(detail))


def _proposal_create(detail, show):
    count = len(detail.get("proposals") or [])
    return format_html(
        ngettext(
            "{count} household, rule {rule}, {points} points: {reason}",
            "{count} households, rule {rule}, {points} points each: {reason}",
            count,
        ),
        count=count,
        rule=detail.get("rule", "—"),
        points=_signed(detail.get("points")),
        reason=detail.get("reason", ""),
    )


def _proposal_approve(detail, show):
    if detail.get("entry"):
        return format_html(
            _("Credited {points} points ({entry})."),
            points=_signed(detail.get("points")),
            entry=show("points.entry", detail["entry"]),
        )
    due = str(detail.get("credit_due_at", ""))[:10]
    return format_html(
        _("{points} points, to be credited on {date} after the publicity period."),
        points=_signed(detail.get("points")),
        date=due or "—",
    )


def _proposal_hold(detail, show):
    return format_html(
        _("{points} points held: {why}"),
        points=_signed(detail.get("points")),
        why=detail.get("why"),
    )


def _proposal_credit(detail, show):
    return format_html(
        _("Credited {points} points ({entry})."),
        points=_signed(detail.get("points")),
        entry=show("points.entry", detail.get("entry")),
    )


def _objection(detail, show):
    text = detail.get("reason") or detail.get("resolution") or "—"
    return format_html(
        _("On {proposal}: {text}"),
        proposal=show("points.proposal", detail.get("proposal")),
        text=text,
    )


def _rule(detail, show):
    return format_html(
        _("Rule {code}, {points} points, {state}."),
        code=detail.get("code", "—"),
        points=_signed(detail.get("points")),
        state=_("in use") if detail.get("active") else _("not in use"),
    )


def _entry_reverse(detail, show):
    return format_html(
        _("Reversed {entry} with {points} points. Reason: {reason}"),
        entry=show("points.entry", detail.get("reverses")),
        points=_signed(detail.get("points")),
        reason=detail.get("reason") or "—",
    )


def _declaration_accept(detail, show):
    return format_html(
        _("Turned into {proposal}."), proposal=show("points.proposal", detail.get("proposal"))
    )


def _item(detail, show):
    return format_html(
        _("{name} at {price} points."),
        name=detail.get("name", "—"),
        price=detail.get("points_price"),
    )


def _donor(detail, show):
    return format_html(
        _("{name} ({kind})."),
        name=detail.get("name", "—"),
        kind=_choice(Donor.Kind.choices, detail.get("kind")),
    )


def _stock_purchase(detail, show):
    sentence = format_html(
        _("{quantity} × {item} bought: {fund}."),
        quantity=detail.get("quantity"),
        item=show("store.item", detail.get("item")),
        fund=_choice(StockMovement.FundSource.choices, detail.get("fund")),
    )
    if detail.get("paid_by"):
        sentence += format_html(
            " " + _("Paid from the donation {donation}."),
            donation=show("store.donation", detail["paid_by"]),
        )
    return sentence


def _stock_take(detail, show):
    if "counted" not in detail:  # a count's difference, confirmed by a second person
        return format_html(
            _("{item}: stock corrected by {quantity} after a count asked by {asked_by}."),
            item=show("store.item", detail.get("item")),
            quantity=_signed(detail.get("quantity")),
            asked_by=show("villagers.user", detail.get("asked_by")),
        )
    return format_html(
        _("{item} counted: {counted} (difference {difference})."),
        item=show("store.item", detail.get("item")),
        counted=detail.get("counted"),
        difference=_signed(detail.get("difference")),
    )


def _stock_count(detail, show):
    differences = len(detail.get("differences") or {})
    items = detail.get("items")
    counted = (
        ngettext("{items} item counted", "{items} items counted", items)
        if isinstance(items, int)
        else _("{items} items counted")
    )
    waiting = ngettext(
        "{differences} difference waits for a second person.",
        "{differences} differences wait for a second person.",
        differences,
    )
    said = format_html(
        _("{counted}; {waiting}"),
        counted=format_html(counted, items=items if items is not None else "—"),
        waiting=format_html(waiting, differences=differences),
    )
    left = len(detail.get("left") or [])
    if not left:
        return said
    kept = ngettext(
        "{left} count waiting from before was left as it was.",
        "{left} counts waiting from before were left as they were.",
        left,
    )
    return format_html("{} {}", said, format_html(kept, left=left))


def _write_off_request(detail, show):
    return format_html(
        _("{quantity} × {item} to be written off ({cause}): waits for a second person."),
        quantity=detail.get("quantity"),
        item=show("store.item", detail.get("item")),
        cause=_choice(StockMovement.Cause.choices, detail.get("cause")),
    )


def _count_shortfall(detail, show):
    return format_html(
        _("{item}: {quantity} as counted, the write-off refused: waits for a second person."),
        item=show("store.item", detail.get("item")),
        quantity=detail.get("quantity"),
    )


def _write_off(detail, show):
    quantity = detail.get("quantity")
    return format_html(
        _("{quantity} × {item} written off: {cause}."),
        # Kept as the movement's signed change (-3): the sentence counts the goods.
        quantity=abs(quantity) if isinstance(quantity, int) else quantity,
        item=show("store.item", detail.get("item")),
        cause=_choice(StockMovement.Cause.choices, detail.get("cause")),
    )


def _donation_record(detail, show):
    return format_html(
        _("{kind} from {donor}, value ¥{value}."),
        kind=_choice(Donation.Kind.choices, detail.get("kind")).capitalize(),
        donor=detail.get("donor", "—"),
        value=detail.get("value", "—"),
    )


def _donation_correct(detail, show):
    changes = format_html_join(
        "; ",
        "{}: {} → {}",
        (
            (_field_label(Donation, name), old, new)
            for name, (old, new) in (detail.get("changed") or {}).items()
        ),
    )
    return format_html(
        _("Corrected {changes}. What was wrong: {reason}"),
        changes=changes,
        reason=detail.get("reason", "—"),
    )


def _field_label(model, name: str) -> str:
    try:
        return str(model._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:  # a field renamed since the event was written
        return name


def _household_sms(detail, show):
    if detail.get("sms"):
        return format_html("{}", _("Text messages: yes."))
    return format_html("{}", _("Text messages: no (the list on the phone only)."))


def _thanks_revoke(detail, show):
    return format_html(
        _("Earlier thanks links stopped working; the new link is version {version}."),
        version=detail.get("version"),
    )


def _redemption_create(detail, show):
    return format_html(
        _("{points} points redeemed by {household}."),
        points=detail.get("points"),
        household=show("villagers.household", detail.get("household")),
    )


def _inspection(detail, show):
    return format_html("{}", _("Passed.") if detail.get("passed") else _("Not passed."))


def _card_replace(detail, show):
    sentence = format_html(
        _("Replaced card {old}. Reason: {reason}"),
        old=detail.get("old_card", "—"),
        reason=detail.get("reason") or "—",
    )
    if detail.get("members_kept") is False:
        sentence += format_html(" {}", _("Family members' PINs revoked."))
    return sentence


def _member_pin_set(detail, show):
    if detail.get("reset"):
        return format_html(
            _("A new PIN of their own ({household})."),
            household=show("villagers.household", detail.get("household")),
        )
    return format_html(
        _("A PIN of their own on the card of {household}."),
        household=show("villagers.household", detail.get("household")),
    )


def _member_pin_revoke(detail, show):
    return format_html(
        _("Their own PIN on the card of {household} stopped working."),
        household=show("villagers.household", detail.get("household")),
    )


def _member_leave(detail, show):
    return format_html(
        _("Left {household} on {day}: {why}."),
        household=show("villagers.household", detail.get("household")),
        day=detail["on"],
        why=_choice(Member.LeftWhy.choices, detail.get("why")),
    )


def _member_return(detail, show):
    return format_html(
        _("Back in {household}; recorded as left on {day}: {why}."),
        household=show("villagers.household", detail.get("household")),
        day=detail["on"],
        why=_choice(Member.LeftWhy.choices, detail.get("why")),
    )


def _cards_printed(detail, show):
    count = len(detail.get("cards") or [])
    return format_html(
        ngettext("{count} card printed.", "{count} cards printed.", count), count=count
    )


def _roster(detail, show):
    return format_html(
        _("{households} households and {members} members imported."),
        households=detail.get("households"),
        members=detail.get("members"),
    )


def _carry_over(detail, show):
    return format_html(
        _(
            "{households} households' paper balances: paper total {paper}, file total {file}, "
            "{carried} points carried over."
        ),
        households=detail.get("households"),
        paper=detail.get("paper_total"),
        file=detail.get("file_total"),
        carried=detail.get("carried"),
    )


def _referral_open(detail, show):
    return format_html(
        _("Sent up: {what}."),
        what=_choice(Referral.Kind.choices, detail.get("kind")),
    )


def _referral_update(detail, show):
    return format_html(
        _("Sent up again, with what is asked now: {what}."),
        what=_choice(Referral.Kind.choices, detail.get("kind")),
    )


def _wish_post(detail, show):
    kind = _choice(Wish.Kind.choices, detail.get("kind"))
    if detail.get("on_behalf"):
        return format_html(_("A wish for {kind}, posted on the household's behalf."), kind=kind)
    return format_html(_("A wish for {kind}, posted by the household."), kind=kind)


def _wish_approve(detail, show):
    if detail.get("hide_household"):
        return format_html("{}", _("Shown on the wall without the household's name."))
    return format_html("{}", _("Shown on the wall with the household's name."))


def _field_names(names) -> str:
    fields = []
    for name in names or []:
        try:
            fields.append(str(Wish._meta.get_field(name).verbose_name))
        except Exception:  # noqa: BLE001 - a field since renamed: its name as written
            fields.append(str(name))
    return list_join(fields) or "—"


def _wish_revise(detail, show):
    return format_html(_("Changed: {fields}."), fields=_field_names(detail.get("fields")))


def _wish_withdraw(detail, show):
    if detail.get("was_on_wall"):
        return format_html("{}", _("It was on the wall and has left it."))
    return format_html("{}", _("It was not on the wall yet."))


def _inspection_round(detail, show):
    sentence = format_html(
        _("{inspected} households inspected, {passed} passed."),
        inspected=detail.get("inspected", "—"),
        passed=detail.get("passed", "—"),
    )
    if detail.get("batch"):
        return format_html(
            "{} {}",
            sentence,
            format_html(
                _("Points proposed as {batch}."), batch=show("points.batch", detail["batch"])
            ),
        )
    return sentence


def _announcement_post(detail, show):
    if detail.get("photo") and detail.get("audio"):
        return format_html("{}", _("With a photo and a voice recording."))
    if detail.get("photo"):
        return format_html("{}", _("With a photo."))
    if detail.get("audio"):
        return format_html("{}", _("With a voice recording."))
    return format_html("{}", _("Words only."))


def _settlement(detail, show):
    return format_html(_("Year {year}."), year=detail.get("year", "—"))


def _activity_open(detail, show):
    return format_html(
        _("{title}: rule {rule}, {points} points."),
        title=detail.get("title", "—"),
        rule=detail.get("rule", "—"),
        points=_signed(detail.get("points")),
    )


def _activity_checkin(detail, show):
    household = show("villagers.household", detail.get("household"))
    if detail.get("photo"):
        return format_html(_("{household} checked in, with a photo."), household=household)
    return format_html(_("{household} checked in."), household=household)


def _activity_close(detail, show):
    sentence = format_html(
        _("{checked_in} households checked in, {proposed} proposed."),
        checked_in=detail.get("checked_in", "—"),
        proposed=detail.get("proposed", "—"),
    )
    if detail.get("at_day_end"):
        sentence = format_html("{} {}", _("Left open: closed at the day's end."), sentence)
    if detail.get("batch"):
        return format_html(
            "{} {}",
            sentence,
            format_html(
                _("Points proposed as {batch}."), batch=show("points.batch", detail["batch"])
            ),
        )
    return sentence


def _wish_edit(detail, show):
    return format_html(
        _("Changed: {fields}. Household's name hidden: {hidden}. Reason: {reason}"),
        fields=_field_names(detail.get("fields")),
        hidden=_yes_no(detail.get("hide_household")),
        reason=detail.get("reason") or "—",
    )


def _wish_match(detail, show):
    return format_html(_("Matched with {donor}."), donor=detail.get("donor", "—"))


def _wish_fulfil(detail, show):
    return format_html(
        _("Fulfilled by {donor}: {given}"),
        donor=show("store.donor", detail.get("donor_id")),
        given=detail.get("given") or "—",
    )


def _wish_decline(detail, show):
    return format_html(
        _("Declined (it was {status}). Reason: {reason}"),
        status=_choice(Wish.Status.choices, detail.get("from")),
        reason=detail.get("reason") or "—",
    )


def _reservation(detail, show):
    return format_html(
        _("{points} points and their goods held for {household}."),
        points=detail.get("points", "—"),
        household=show("villagers.household", detail.get("household")),
    )


def _reservation_closed(detail, show):
    return format_html(
        _("{points} points and their goods free again for {household}."),
        points=detail.get("points", "—"),
        household=show("villagers.household", detail.get("household")),
    )


def _reservation_fulfilled(detail, show):
    return format_html(
        _("Handed over as {redemption} ({points} points)."),
        redemption=show("store.redemption", detail.get("redemption")),
        points=detail.get("points", "—"),
    )


def _export(detail, show):
    what = _choice(ExportJob.Kind.choices, detail.get("kind"))
    # A year report names its year, an overview its month.
    period = detail.get("year") or detail.get("month")
    if period:
        return format_html(_("{what} of {year}."), what=what.capitalize(), year=period)
    return format_html("{}.", what.capitalize())


def _notice_publish(detail, show):
    return format_html(_("The notice of {month} is frozen and signed."), month=detail.get("month"))


def _notice_countersign(detail, show):
    return format_html(
        _("The party secretary countersigned the notice of {month}."), month=detail.get("month")
    )


def _api_call(detail, show):
    path = detail.get("path", "")
    if detail.get("query"):
        path = f"{path}?{detail['query']}"
    return format_html("{}", path)


def _api_refused(detail, show):
    """A refused call: its path, and the key it sent as its event keeps it (reports.api)."""
    if detail.get("revoked"):
        key = format_html(_("the key of a revoked token, {prefix}…"), prefix=detail["revoked"])
    elif detail.get("not_a_key"):
        key = _("something of no key's form")
    elif detail.get("key"):
        key = format_html(_("a key starting {start}…"), start=detail["key"])
    else:
        key = _("no key")
    return format_html(
        _("{call}, with {key}{refused}"),
        call=_api_call(detail, show),
        key=key,
        refused=_refused(detail),
    )


def _api_token(detail, show):
    return format_html(
        _("Token {prefix}… {name} {scope}"),
        prefix=detail.get("prefix", ""),
        name=detail.get("name", ""),
        scope=detail.get("scope", ""),
    )


def _roles(names) -> str:
    return list_join(role_name(name) for name in names)


def _field_name(model, name) -> str:
    """A field of `model` as its verbose name says it (the name itself if it has none)."""
    try:
        return str(model._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:
        return name


def _user_field(name) -> str:
    return _field_name(User, name)


def _staff_change(detail, show):
    """A staff account made or changed in the admin: names, roles, places, household,
    status, permissions."""
    parts = []
    for name in ("username", "display_name", "first_name", "last_name", "email", "village",
                 "township", "county"):  # fmt: skip
        if name in detail:
            before, after = detail[name]
            parts.append(
                format_html(
                    _("{field}: {before} → {after}."),
                    field=_user_field(name).capitalize(),
                    before=before or "—",
                    after=after or "—",
                )
            )
    if detail.get("roles_given"):
        parts.append(format_html(_("Roles given: {roles}."), roles=_roles(detail["roles_given"])))
    if detail.get("roles_taken"):
        parts.append(format_html(_("Roles taken: {roles}."), roles=_roles(detail["roles_taken"])))
    if "household" in detail:
        before, after = detail.get("household_before"), detail["household"]
        parts.append(
            format_html(
                _("{field}: {before} → {after}."),
                field=_user_field("household").capitalize(),
                before=show("villagers.household", before) if before else "—",
                after=show("villagers.household", after) if after else "—",
            )
        )
    for name in ("is_staff", "is_active", "is_superuser"):
        if name in detail:
            parts.append(
                format_html("{}: {}.", _user_field(name).capitalize(), _yes_no(detail[name]))
            )
    if "password" in detail:
        parts.append(
            format_html(
                "{}",
                _("Password set.") if detail["password"] else _("Password-based sign-in disabled."),
            )
        )
    if "permissions" in detail:
        before, after = (list_join(names) or "—" for names in detail["permissions"])
        parts.append(
            format_html(
                _("{field}: {before} → {after}."),
                field=_user_field("user_permissions").capitalize(),
                before=before,
                after=after,
            )
        )
    return format_html_join(" ", "{}", ((part,) for part in parts))


def _changes(model, otherwise: Sentence | None = None) -> Sentence:
    """A back-office save's sentence (core.admin.AuditedMixin): each field of `model` changed,
    from what to what. `otherwise` reads the same action written by a service, which keeps
    no list of changes (a donor added on the store's pages)."""

    def sentence(detail, show):
        if "changed" not in detail and otherwise is not None:
            return otherwise(detail, show)
        changed = detail.get("changed") or {}
        if not changed:
            return SafeString("")
        return format_html(
            _("Changed: {changes}."),
            changes=format_html_join(
                "; ",
                "{}: {} → {}",
                (
                    (_field_name(model, name), _plain_value(before), _plain_value(after))
                    for name, (before, after) in sorted(changed.items())
                ),
            ),
        )

    return sentence


def _deleted(detail, show):
    """A row deleted in the back office (core.admin.AuditedDeletesMixin), by its name then."""
    return format_html(_("Deleted: {name}."), name=detail.get("name") or "—")


def _signin_record_deleted(detail, show):
    """A sign-in record deleted in the back office: not by its name, which names who tried
    and from what address (django-axes' own words), as its object is named by its kind and
    number only (reports.audit_log): the whole site's event, read by every county's admin."""
    return SafeString("")


def _records_removed(detail, show):
    """Expired sign-in records removed in the back office (core.admin)."""
    count = detail.get("deleted") or 0
    return format_html(
        "{}",
        ngettext("%(count)s record removed.", "%(count)s records removed.", count)
        % {"count": count},
    )


def _role_deleted(detail, show):
    """A role deleted in the back office, named in the reader's language (core.access)."""
    return _deleted({**detail, "name": role_name(detail.get("name") or "")}, show)


_village_change = _changes(Village)


ACTIONS: dict[str, Action] = {
    # signing in
    "login": Action(gettext_lazy("Signed in")),
    "logout": Action(gettext_lazy("Signed out")),
    "login.failed": Action(gettext_lazy("Failed sign-in"), _login_failed),
    # the registry
    "household.create": Action(gettext_lazy("Household registered")),
    "household.update": Action(gettext_lazy("Household changed")),
    "household.sms": Action(gettext_lazy("Text messages chosen by the household"), _household_sms),
    "member.create": Action(gettext_lazy("Member added")),
    "member.update": Action(gettext_lazy("Member changed")),
    "member.view_id": Action(gettext_lazy("Full ID number viewed")),
    "inspection.record": Action(gettext_lazy("Hygiene inspection recorded"), _inspection),
    "inspection.round": Action(gettext_lazy("Hygiene round saved"), _inspection_round),
    "participation.record": Action(gettext_lazy("Participation recorded")),
    "roster.import": Action(gettext_lazy("Roster imported"), _roster),
    "card.issue": Action(gettext_lazy("Card issued")),
    "card.replace": Action(gettext_lazy("Card replaced"), _card_replace),
    "card.printed": Action(gettext_lazy("Cards printed"), _cards_printed),
    "card.recall": Action(gettext_lazy("Card recalled"), _reason),
    "card.pin_reset": Action(gettext_lazy("PIN reset")),
    "card.pin_change": Action(gettext_lazy("PIN changed by the household")),
    "member.pin_set": Action(gettext_lazy("Family member's PIN set"), _member_pin_set),
    "member.pin_revoke": Action(gettext_lazy("Family member's PIN revoked"), _member_pin_revoke),
    "member.leave": Action(gettext_lazy("Member left the household"), _member_leave),
    "member.return": Action(gettext_lazy("Former member back in the household"), _member_return),
    # the county's back office (the admin)
    "village.create": Action(gettext_lazy("Village added"), _village_change),
    "village.update": Action(gettext_lazy("Village settings changed"), _village_change),
    "village.delete": Action(gettext_lazy("Village deleted"), _deleted),
    "villagegroup.create": Action(gettext_lazy("Village group added"), _changes(VillageGroup)),
    "villagegroup.update": Action(gettext_lazy("Village group changed"), _changes(VillageGroup)),
    "villagegroup.delete": Action(gettext_lazy("Village group deleted"), _deleted),
    "county.create": Action(gettext_lazy("County added"), _changes(County)),
    "county.update": Action(gettext_lazy("County changed"), _changes(County)),
    "county.delete": Action(gettext_lazy("County deleted"), _deleted),
    "township.create": Action(gettext_lazy("Township added"), _changes(Township)),
    "township.update": Action(gettext_lazy("Township changed"), _changes(Township)),
    "township.delete": Action(gettext_lazy("Township deleted"), _deleted),
    "staff.create": Action(gettext_lazy("Staff account made"), _staff_change),
    "staff.update": Action(gettext_lazy("Staff account changed"), _staff_change),
    "staff.password": Action(gettext_lazy("Staff password set"), _staff_change),
    "staff.delete": Action(gettext_lazy("Staff account deleted"), _deleted),
    "role.create": Action(gettext_lazy("Role added"), _changes(Group)),
    "role.update": Action(gettext_lazy("Role changed"), _changes(Group)),
    "role.delete": Action(gettext_lazy("Role deleted"), _role_deleted),
    "signin_record.delete": Action(gettext_lazy("Sign-in record deleted"), _signin_record_deleted),
    "signin_record.cleanup": Action(
        gettext_lazy("Expired sign-in records removed"), _records_removed
    ),
    # points
    "carryover.import": Action(
        gettext_lazy("Balances from the paper ledger imported"), _carry_over
    ),
    "rule.create": Action(gettext_lazy("Points rule added"), _rule),
    "rule.update": Action(gettext_lazy("Points rule changed"), _rule),
    "proposal.create": Action(gettext_lazy("Points proposed"), _proposal_create),
    "proposal.approve": Action(gettext_lazy("Proposal approved"), _proposal_approve),
    "proposal.reject": Action(gettext_lazy("Proposal rejected"), _reason),
    # An award is held too (its household's card recalled, or its balance at the limit).
    "proposal.hold": Action(gettext_lazy("Entry held"), _proposal_hold),
    "proposal.credit": Action(gettext_lazy("Points credited"), _proposal_credit),
    "proposal.cancel": Action(gettext_lazy("Entry cancelled"), _reason),
    "objection.raise": Action(gettext_lazy("Objection raised"), _objection),
    "objection.uphold": Action(gettext_lazy("Objection upheld"), _objection),
    "objection.dismiss": Action(gettext_lazy("Objection dismissed"), _objection),
    "entry.reverse": Action(gettext_lazy("Ledger entry reversed"), _entry_reverse),
    "announcement.post": Action(gettext_lazy("Announcement posted"), _announcement_post),
    "announcement.withdraw": Action(gettext_lazy("Announcement withdrawn")),
    "settlement.draft": Action(gettext_lazy("Yearly settlement drawn up"), _settlement),
    "settlement.approve": Action(gettext_lazy("Yearly settlement approved"), _settlement),
    "settlement.post": Action(gettext_lazy("Points lapsed at the yearly settlement"), _settlement),
    "settlement.close": Action(
        gettext_lazy("Yearly settlement closed unposted: it was off when the year ended"),
        _settlement,
    ),
    "activity.open": Action(gettext_lazy("Activity opened for check-in"), _activity_open),
    "activity.checkin": Action(gettext_lazy("Checked in to an activity"), _activity_checkin),
    "activity.close": Action(gettext_lazy("Activity check-in closed"), _activity_close),
    "declaration.submit": Action(gettext_lazy("Villager's declaration submitted")),
    "declaration.accept": Action(gettext_lazy("Declaration accepted"), _declaration_accept),
    "declaration.decline": Action(gettext_lazy("Declaration declined"), _reason),
    # the store
    "item.create": Action(gettext_lazy("Item added"), _item),
    "item.update": Action(gettext_lazy("Item changed"), _item),
    "donor.create": Action(gettext_lazy("Donor added"), _changes(Donor, _donor)),
    "donor.update": Action(gettext_lazy("Donor changed"), _changes(Donor, _donor)),
    "donor.delete": Action(gettext_lazy("Donor deleted"), _deleted),
    "stock.purchase": Action(gettext_lazy("Goods bought"), _stock_purchase),
    "stock.take": Action(gettext_lazy("Stock counted"), _stock_take),
    "stock.write_off": Action(gettext_lazy("Goods written off"), _write_off),
    "stock.count": Action(gettext_lazy("Stock-take sheet saved"), _stock_count),
    "stock.write_off_request": Action(gettext_lazy("Write-off asked for"), _write_off_request),
    "stock.correction_refuse": Action(gettext_lazy("Stock correction refused"), _reason),
    "stock.count_shortfall": Action(
        gettext_lazy("Counted shortfall of a refused write-off"), _count_shortfall
    ),
    "donation.record": Action(gettext_lazy("Donation recorded"), _donation_record),
    "donation.correct": Action(gettext_lazy("Donation corrected"), _donation_correct),
    "donation.thanks_revoke": Action(gettext_lazy("Thanks links replaced"), _thanks_revoke),
    "redemption.create": Action(gettext_lazy("Goods redeemed"), _redemption_create),
    "redemption.void": Action(gettext_lazy("Redemption voided"), _reason),
    "redemption.void_ask": Action(gettext_lazy("Void asked of the supervisor"), _reason),
    # wishes
    "reservation.create": Action(gettext_lazy("Goods reserved"), _reservation),
    "reservation.cancelled": Action(gettext_lazy("Reservation cancelled"), _reservation_closed),
    "reservation.expired": Action(gettext_lazy("Reservation expired"), _reservation_closed),
    "reservation.fulfilled": Action(
        gettext_lazy("Reserved goods handed over"), _reservation_fulfilled
    ),
    "wish.post": Action(gettext_lazy("Wish posted"), _wish_post),
    "wish.approve": Action(gettext_lazy("Wish put on the wall"), _wish_approve),
    "wish.edit": Action(gettext_lazy("Wish edited"), _wish_edit),
    "wish.revise": Action(gettext_lazy("Wish changed by the household"), _wish_revise),
    "wish.withdraw": Action(gettext_lazy("Wish withdrawn by the household"), _wish_withdraw),
    "wish.match": Action(gettext_lazy("Wish matched with a donor"), _wish_match),
    "wish.fulfil": Action(gettext_lazy("Wish fulfilled"), _wish_fulfil),
    "wish.decline": Action(gettext_lazy("Wish declined"), _wish_decline),
    # the second person and the county
    "referral.open": Action(gettext_lazy("Sent up"), _referral_open),
    "referral.update": Action(gettext_lazy("Sent up again"), _referral_update),
    "referral.refuse": Action(gettext_lazy("Refused when sent up"), _reason),
    # reports
    "export.start": Action(gettext_lazy("Export started"), _export),
    "notice.publish": Action(gettext_lazy("Notice published"), _notice_publish),
    "notice.countersign": Action(gettext_lazy("Notice countersigned"), _notice_countersign),
    # the read-only API
    "api.call": Action(gettext_lazy("API call"), _api_call),
    "api.refused": Action(gettext_lazy("API call refused"), _api_refused),
    "api_token.create": Action(gettext_lazy("API token made"), _api_token),
    "api_token.revoke": Action(gettext_lazy("API token revoked"), _api_token),
}


# The areas of the actions (the code before its dot), for the log's filter: a reader picks one
# action or a whole area.
AREAS = {
    "activity": gettext_lazy("Activities"),
    "announcement": gettext_lazy("Announcements"),
    "api": gettext_lazy("API calls"),
    "api_token": gettext_lazy("API tokens"),
    "card": gettext_lazy("Points cards"),
    "carryover": gettext_lazy("Paper ledger carried over"),
    "county": gettext_lazy("Counties"),
    "declaration": gettext_lazy("Declared good deeds"),
    "donation": gettext_lazy("Donations"),
    "donor": gettext_lazy("Donors"),
    "entry": gettext_lazy("Ledger entries"),
    "export": gettext_lazy("Exports"),
    "household": gettext_lazy("Households"),
    "inspection": gettext_lazy("Inspections"),
    "item": gettext_lazy("Goods"),
    "login": gettext_lazy("Sign-ins"),
    "logout": gettext_lazy("Sign-outs"),
    "member": gettext_lazy("Household members"),
    "notice": gettext_lazy("Public notices"),
    "objection": gettext_lazy("Objections"),
    "participation": gettext_lazy("Public-welfare work"),
    "proposal": gettext_lazy("Proposals"),
    "redemption": gettext_lazy("Redemptions"),
    "referral": gettext_lazy("Sent up"),
    "reservation": gettext_lazy("Reservations"),
    "role": gettext_lazy("Roles"),
    "roster": gettext_lazy("Roster uploads"),
    "rule": gettext_lazy("Points rules"),
    "settlement": gettext_lazy("Yearly settlements"),
    "signin_record": gettext_lazy("Sign-in records"),
    "staff": gettext_lazy("Staff accounts"),
    "stock": gettext_lazy("Stock"),
    "township": gettext_lazy("Townships"),
    "village": gettext_lazy("Villages"),
    "villagegroup": gettext_lazy("Village groups"),
    "wish": gettext_lazy("Wishes"),
}


def action_label(code: str) -> str:
    """The action's name in the reader's language; an unknown code (a test's) as written."""
    action = ACTIONS.get(code)
    return str(action.label) if action else code


def _plain_value(value) -> str:
    """A value kept in a detail, in words: nothing (none, an empty text or list) as a dash."""
    if isinstance(value, bool):
        return _yes_no(value)
    if isinstance(value, list | tuple):
        return list_join(_plain_value(item) for item in value) or "—"
    if isinstance(value, dict):
        return "; ".join(f"{key}: {_plain_value(item)}" for key, item in value.items())
    return "—" if value is None or value == "" else str(value)


def sentence(code: str, detail: dict, show: Show) -> SafeString | None:
    """The event's detail as its action's sentence; None where no sentence reads it (an action
    without one, or an older detail of another shape)."""
    action = ACTIONS.get(code)
    if not (action and action.sentence):
        return None
    try:
        return action.sentence(detail, show)
    except (KeyError, TypeError, ValueError):
        return None


# Detail keys the code writes, never a person: an amount, an address called, a card's or a
# key's number, a month. Read whole (an amount of a million yuan is no phone).
NOT_TYPED = frozenset(
    {
        "value",
        "path",
        "query",
        "prefix",
        "revoked",
        "old_card",
        "cards",
        "month",
        "credit_due_at",
    }
)


def _masked_value(value, key: str | None = None):
    if key in NOT_TYPED:
        return value
    if isinstance(value, str):
        # A card number is no personal data, and the staff look a card up by it whole.
        return value if typed_card_number(value) else mask_cell(value)
    if isinstance(value, list | tuple):
        return [_masked_value(item) for item in value]
    if isinstance(value, dict):
        return {name: _masked_value(item, name) for name, item in value.items()}
    return value


def masked_detail(detail: dict) -> dict:
    """The detail with every run of digits that could be an ID number or a phone masked, as
    the wall masks a wish's words: a reason or what was given is typed freely, and the log
    is read by the township officer and the county, who read those words masked elsewhere."""
    return _masked_value(detail)


def detail_sentence(code: str, detail: dict, show: Show) -> SafeString:
    """The event's detail as a sentence. A detail no sentence reads (an old row's; a test's)
    falls back to "name: value" pairs: every detail the code writes now has its sentence
    (tests/reports/test_audit_labels.py reads the writers and fails naming one without)."""
    if not detail:
        return SafeString("")
    detail = masked_detail(detail)
    written = sentence(code, detail, show)
    if written is not None:
        return written
    return format_html_join(
        "; ",
        "{}: {}",
        ((key.replace("_", " "), _plain_value(value)) for key, value in detail.items()),
    )
