"""The audit log in words: a translated name for every action code the services write, and
each event's detail as a sentence.

ACTIONS holds every code written through core.audit (tests/reports/test_audit_log.py reads
the source and fails naming a code without a label here). A sentence is built with
format_html from the event's detail and the names of the rows it refers to (`refs`, from
reports.audit_log): never a raw value or repr, and nothing personal beyond what the staff
pages show (no ID number or phone is ever in a detail).
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from reports.models import ExportJob
from store.models import Donation, Donor, StockMovement
from villagers.models import Referral
from wishwall.models import Wish

# Refers to a row by type and id: returns its link or name (reports.audit_log.Refs.show).
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


def _login_failed(detail, show):
    if "card" in detail:
        return format_html(_("Card number tried: {}"), detail["card"])
    return format_html(_("User name tried: {}"), detail.get("username") or "—")


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
    return format_html(
        _("{item} counted: {counted} (difference {difference})."),
        item=show("store.item", detail.get("item")),
        counted=detail.get("counted"),
        difference=_signed(detail.get("difference")),
    )


def _write_off(detail, show):
    return format_html(
        _("{quantity} × {item} written off: {cause}."),
        quantity=detail.get("quantity"),
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


def _referral_open(detail, show):
    return format_html(
        _("Sent to the county: {what}."),
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


def _wish_edit(detail, show):
    fields = []
    for name in detail.get("fields") or []:
        try:
            fields.append(str(Wish._meta.get_field(name).verbose_name))
        except Exception:  # noqa: BLE001 - a field since renamed: its name as written
            fields.append(str(name))
    return format_html(
        _("Changed: {fields}. Household's name hidden: {hidden}. Reason: {reason}"),
        fields=", ".join(fields) or "—",
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


def _export(detail, show):
    what = _choice(ExportJob.Kind.choices, detail.get("kind"))
    if detail.get("year"):
        return format_html(_("{what} of {year}."), what=what.capitalize(), year=detail["year"])
    return format_html("{}.", what.capitalize())


def _notice_publish(detail, show):
    return format_html(_("The notice of {month} is frozen and signed."), month=detail.get("month"))


L = gettext_lazy
ACTIONS: dict[str, Action] = {
    # signing in
    "login": Action(L("Signed in")),
    "logout": Action(L("Signed out")),
    "login.failed": Action(L("Failed sign-in"), _login_failed),
    # the registry
    "household.create": Action(L("Household registered")),
    "household.update": Action(L("Household changed")),
    "member.create": Action(L("Member added")),
    "member.update": Action(L("Member changed")),
    "member.view_id": Action(L("Full ID number viewed")),
    "inspection.record": Action(L("Hygiene inspection recorded"), _inspection),
    "participation.record": Action(L("Participation recorded")),
    "roster.import": Action(L("Roster imported"), _roster),
    "card.issue": Action(L("Card issued")),
    "card.replace": Action(L("Card replaced"), _card_replace),
    "card.printed": Action(L("Cards printed"), _cards_printed),
    "card.recall": Action(L("Card recalled"), _reason),
    "card.pin_reset": Action(L("PIN reset")),
    "card.pin_change": Action(L("PIN changed by the household")),
    "member.pin_set": Action(L("Family member's PIN set"), _member_pin_set),
    "member.pin_revoke": Action(L("Family member's PIN revoked")),
    # points
    "rule.create": Action(L("Points rule added"), _rule),
    "rule.update": Action(L("Points rule changed"), _rule),
    "proposal.create": Action(L("Points proposed"), _proposal_create),
    "proposal.approve": Action(L("Proposal approved"), _proposal_approve),
    "proposal.reject": Action(L("Proposal rejected"), _reason),
    "proposal.hold": Action(L("Deduction held"), _proposal_hold),
    "proposal.credit": Action(L("Points credited"), _proposal_credit),
    "proposal.cancel": Action(L("Entry cancelled"), _reason),
    "objection.raise": Action(L("Objection raised"), _objection),
    "objection.uphold": Action(L("Objection upheld"), _objection),
    "objection.dismiss": Action(L("Objection dismissed"), _objection),
    "entry.reverse": Action(L("Ledger entry reversed"), _entry_reverse),
    "declaration.submit": Action(L("Villager's declaration submitted")),
    "declaration.accept": Action(L("Declaration accepted"), _declaration_accept),
    "declaration.decline": Action(L("Declaration declined"), _reason),
    # the store
    "item.create": Action(L("Item added"), _item),
    "item.update": Action(L("Item changed"), _item),
    "donor.create": Action(L("Donor added"), _donor),
    "donor.update": Action(L("Donor changed"), _donor),
    "stock.purchase": Action(L("Goods bought"), _stock_purchase),
    "stock.take": Action(L("Stock counted"), _stock_take),
    "stock.write_off": Action(L("Goods written off"), _write_off),
    "donation.record": Action(L("Donation recorded"), _donation_record),
    "donation.thanks_revoke": Action(L("Thanks links replaced"), _thanks_revoke),
    "redemption.create": Action(L("Goods redeemed"), _redemption_create),
    "redemption.void": Action(L("Redemption voided"), _reason),
    # wishes
    "wish.post": Action(L("Wish posted"), _wish_post),
    "wish.approve": Action(L("Wish put on the wall"), _wish_approve),
    "wish.edit": Action(L("Wish edited"), _wish_edit),
    "wish.match": Action(L("Wish matched with a donor"), _wish_match),
    "wish.fulfil": Action(L("Wish fulfilled"), _wish_fulfil),
    "wish.decline": Action(L("Wish declined"), _wish_decline),
    # the second person and the county
    "referral.open": Action(L("Sent to the county"), _referral_open),
    "referral.refuse": Action(L("Refused by the county"), _reason),
    # reports
    "export.start": Action(L("Export started"), _export),
    "notice.publish": Action(L("Notice published"), _notice_publish),
}


def action_label(code: str) -> str:
    """The action's name in the reader's language; an unknown code (a test's) as written."""
    action = ACTIONS.get(code)
    return str(action.label) if action else code


def _plain_value(value) -> str:
    if isinstance(value, bool):
        return _yes_no(value)
    if isinstance(value, list | tuple):
        return ", ".join(_plain_value(item) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{key}: {_plain_value(item)}" for key, item in value.items())
    return "—" if value is None else str(value)


def detail_sentence(code: str, detail: dict, show: Show) -> SafeString:
    """The event's detail as a sentence; a detail no sentence knows as "name: value" pairs."""
    if not detail:
        return SafeString("")
    action = ACTIONS.get(code)
    if action and action.sentence:
        try:
            return action.sentence(detail, show)
        except (KeyError, TypeError, ValueError):
            pass  # an older detail of another shape: shown as its pairs below
    return format_html_join(
        "; ",
        "{}: {}",
        ((key.replace("_", " "), _plain_value(value)) for key, value in detail.items()),
    )
