"""The audit log page: who did what, when and from where, for the village's staff and the county.

Staff of a village read their village's events; a county admin reads every village of the
county and the county's events of no village (staff, API tokens and their calls, exports,
logins, its townships' officers) and the site's that name nobody known (sign-ins and API
calls refused for a name, card or key of no one), a township officer every village of the
township and the township's events of no village, optionally narrowed to one village.
Villagers never see it. Each event reads as words: the action's translated name
(reports.audit_labels), the object as a link to its page with its name, the detail as a
sentence.
"""

import datetime
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.apps import apps
from django.contrib.auth.models import Group
from django.db.models import Q
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.access import (
    Role,
    access_required,
    is_county_admin,
    is_township_officer,
    link_for,
    role_name,
)
from core.audit import SITE_WIDE_ACTIONS
from core.db import row_id_or_none
from core.models import AuditEvent
from core.months import EARLIEST_DAY
from core.pagination import Paginator
from points.models import Batch, Declaration, Entry, Objection, Proposal, Rule
from reports.audit_labels import ACTIONS, AREAS, action_label, detail_sentence
from reports.models import ExportJob, PublishedNotice
from reports.notice import notice_public_path
from store.models import Donation, Donor, Item, Redemption, StockMovement
from villagers.models import (
    Card,
    County,
    Household,
    Inspection,
    Member,
    Participation,
    Referral,
    Township,
    User,
    Village,
    VillageGroup,
)
from wishwall.models import Wish
from wishwall.selectors import wishes_readable

PAGE_SIZE = 50
LAST_DAY = datetime.date(2999, 12, 31)


def _action_choices() -> list:
    """Every action by its name in the reader's language (the codes mean nothing to them),
    grouped by area, each area first as a whole."""
    groups = []
    for area, area_label in sorted(AREAS.items(), key=lambda pair: str(pair[1])):
        actions = sorted(
            (str(action.label), code)
            for code, action in ACTIONS.items()
            if code.split(".")[0] == area
        )
        whole = (area, _("%(area)s: all") % {"area": area_label})
        groups.append((str(area_label), [whole, *((code, label) for label, code in actions)]))
    return [("", _("All actions")), *groups]


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(
        label=gettext_lazy("Action"), required=False, choices=_action_choices
    )
    user = forms.CharField(label=gettext_lazy("User name"), required=False, max_length=150)
    date_from = forms.DateField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    village = forms.ModelChoiceField(
        label=gettext_lazy("Village"), queryset=Village.objects.none(), required=False
    )

    def __init__(self, *args, villages, **kwargs):
        super().__init__(*args, **kwargs)
        if villages is None:
            del self.fields["village"]
        else:
            self.fields["village"].queryset = villages

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        for name, day in (("date_from", start), ("date_to", end)):
            # The log starts this century; the calendar's last day has no next day (a 500).
            if day and not EARLIEST_DAY <= day <= LAST_DAY:
                self.add_error(name, gettext_lazy("Choose a date from 2000 to 2999."))
                start = end = None
        if start and end and start > end:
            self.add_error("date_to", gettext_lazy("The end date is before the start date."))
        return cleaned


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


# An event of no place: the whole site's (core.audit.SITE_WIDE_ACTIONS).
SITE_WIDE = Q(village_id__isnull=True, township_id__isnull=True, county_id__isnull=True)
# ... but for a sign-in refused at an account of no place (a superuser's): it names them.
NAMES_SOMEONE = Q(action="login.failed", object_type="villagers.user")


def audit_events_for_user(request):
    """The events the user may read, and the villages they oversee (None for a village's
    staff). Events of no village go by the place they concern (AuditEvent.county_id and
    township_id, set when written), never by where their actor is today: a person who moves
    takes none along, and their successor keeps them. A township officer reads the
    township's (their own there included: those of a township they left are its officer's
    now); a county admin the county's, its townships' included, and the whole site's that
    name nobody known (a sign-in or an API call refused for a name or key of no one)."""
    user = request.user
    if is_township_officer(user) and user.township_id is not None:
        villages = Village.objects.filter(township_id=user.township_id).order_by("name")
        in_township = Q(village_id__in=villages.values("pk")) | Q(
            village_id__isnull=True, township_id=user.township_id
        )
        return AuditEvent.objects.filter(in_township), villages
    if is_county_admin(user):
        villages = Village.objects.filter(township__county_id=user.county_id).order_by("name")
        in_county = (
            Q(village_id__in=villages.values("pk"))
            | Q(village_id__isnull=True, county_id=user.county_id)
            | (Q(SITE_WIDE, action__in=SITE_WIDE_ACTIONS) & ~NAMES_SOMEONE)
        )
        return AuditEvent.objects.filter(in_county), villages
    return AuditEvent.objects.filter(village_id=request.village.pk), None


@access_required(roles=(Role.MANAGER, Role.SUPERVISOR), county=True, township=True)
def audit_log(request):
    """The filtered audit log (newest first); the county admin and the township officer need
    no chosen village here."""
    events, villages = audit_events_for_user(request)
    form = AuditFilterForm(request.GET or None, villages=villages)
    if form.is_valid():
        data = form.cleaned_data
        if data["action"]:
            action = data["action"]  # an action, or an area: all of its actions
            events = events.filter(Q(action=action) | Q(action__startswith=f"{action}."))
        if data["user"]:
            events = events.filter(actor__username=data["user"].strip())
        if data["date_from"]:
            events = events.filter(at__gte=_day_start(data["date_from"]))
        if data["date_to"]:
            events = events.filter(at__lt=_day_start(data["date_to"] + datetime.timedelta(days=1)))
        if data.get("village"):
            events = events.filter(village_id=data["village"].pk)
    events = events.select_related("actor__household")
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    shown = {event.village_id for event in page}
    names = dict(Village.objects.filter(pk__in=shown).values_list("pk", "name"))
    refs = Refs.of(list(page), request.user)
    rows = []
    for event in page:
        show = refs.shower(request, event.village_id)
        places = (event.village_id, event.township_id, event.county_id)
        whole_site = all(place is None for place in places)
        rows.append(
            {
                "event": event,
                "village": _("the whole site") if whole_site else names.get(event.village_id, ""),
                "label": action_label(event.action),
                "object": show(event.object_type, event.object_id) if event.object_type else "",
                "sentence": detail_sentence(event.action, event.detail or {}, show),
            }
        )
    return render(request, "reports/audit_log.html", {"form": form, "page": page, "rows": rows})


# --- the rows an event refers to, by name and with a link ----------------------------------


@dataclass(frozen=True)
class Ref:
    name: str
    url: str = ""


def _household(household) -> str:
    return f"{household.head_name} ({household.number})"


def _users(ids):
    for user in User.objects.filter(pk__in=ids).select_related("household"):
        if user.is_staff or user.household is None:
            yield user.pk, Ref(user.display_name or user.username)
        else:
            yield (
                user.pk,
                Ref(
                    _("the card login of %(household)s")
                    % {"household": _household(user.household)},
                    _household_url(user.household_id),
                ),
            )


def _households(ids):
    for household in Household.objects.filter(pk__in=ids):
        yield household.pk, Ref(_household(household), _household_url(household.pk))


def _household_url(pk) -> str:
    return reverse("reports:household", args=[pk])


def _of_household(model, describe):
    """Rows that live on a household's page: members, cards, inspections, participation."""

    def load(ids):
        for row in model.objects.filter(pk__in=ids).select_related("household"):
            yield row.pk, Ref(describe(row), _household_url(row.household_id))

    return load


def _proposals(ids):
    for proposal in Proposal.objects.filter(pk__in=ids).select_related("household", "rule"):
        yield (
            proposal.pk,
            Ref(
                _("proposal %(rule)s %(points)+d for %(household)s")
                % {
                    "rule": proposal.rule.code,
                    "points": proposal.points,
                    "household": _household(proposal.household),
                },
                reverse("points:proposal_detail", args=[proposal.pk]),
            ),
        )


def _batches(ids):
    for batch in Batch.objects.filter(pk__in=ids):
        yield (
            batch.pk,
            Ref(
                f"{batch.title} ({batch.date:%Y-%m-%d})",
                reverse("points:batch_detail", args=[batch.pk]),
            ),
        )


def _entries(ids):
    for entry in Entry.objects.filter(pk__in=ids).select_related("account__household"):
        household = entry.account.household
        yield (
            entry.pk,
            Ref(
                _("%(kind)s %(points)+d on the ledger of %(household)s")
                % {
                    "kind": entry.get_kind_display(),
                    "points": entry.points,
                    "household": _household(household),
                },
                reverse("points:household_ledger", args=[household.pk]),
            ),
        )


def _rules(ids):
    for rule in Rule.objects.filter(pk__in=ids):
        yield (
            rule.pk,
            Ref(f"{rule.code} {rule.description}", reverse("points:rule_edit", args=[rule.pk])),
        )


def _objections(ids):
    for objection in Objection.objects.filter(pk__in=ids).select_related("proposal__household"):
        yield (
            objection.pk,
            Ref(
                _("objection about %(household)s")
                % {"household": _household(objection.proposal.household)},
                reverse("points:publicity"),
            ),
        )


def _declarations(ids):
    for declaration in Declaration.objects.filter(pk__in=ids).select_related("household"):
        yield (
            declaration.pk,
            Ref(
                _("declaration of %(household)s of %(date)s")
                % {
                    "household": _household(declaration.household),
                    "date": f"{declaration.occurred_on:%Y-%m-%d}",
                },
                reverse("points:declaration_review", args=[declaration.pk]),
            ),
        )


def _items(ids):
    for item in Item.objects.filter(pk__in=ids):
        yield item.pk, Ref(item.name, reverse("store:item_detail", args=[item.pk]))


def _movements(ids):
    for movement in StockMovement.objects.filter(pk__in=ids).select_related("item"):
        yield (
            movement.pk,
            Ref(
                f"{movement.get_kind_display()}: {movement.item.name} {movement.quantity:+d}",
                reverse("store:item_detail", args=[movement.item_id]),
            ),
        )


def _donations(ids):
    traced = reverse("reports:donations_traced")
    for donation in Donation.objects.filter(pk__in=ids).select_related("donor"):
        yield (
            donation.pk,
            Ref(
                f"{donation.donor.name} {donation.received_on:%Y-%m-%d} ¥{donation.value_yuan}",
                f"{traced}#donation-{donation.pk}",
            ),
        )


def _donors(ids):
    for donor in Donor.objects.filter(pk__in=ids):
        yield donor.pk, Ref(donor.name)


def _redemptions(ids):
    for redemption in Redemption.objects.filter(pk__in=ids).select_related("household"):
        yield (
            redemption.pk,
            Ref(
                _("receipt no. %(number)s of %(household)s")
                % {"number": redemption.number, "household": _household(redemption.household)},
                reverse("store:receipt", args=[redemption.pk]),
            ),
        )


def _wishes(ids):
    for wish in Wish.objects.filter(pk__in=ids):
        yield wish.pk, Ref(wish.title, reverse("wishwall:detail", args=[wish.pk]))


def _named(model) -> Callable:
    """The rows of `model` by their own names (a village group, a township, a county)."""

    def rows(ids):
        for row in model._default_manager.filter(pk__in=ids):
            yield row.pk, Ref(str(row))

    return rows


def _roles(ids):
    """The roles by their names in the reader's language (the database keeps English ones)."""
    for group in Group.objects.filter(pk__in=ids):
        yield group.pk, Ref(role_name(group.name))


def _villages(ids):
    for village in Village.objects.filter(pk__in=ids):
        yield village.pk, Ref(village.name)


def _referrals(ids):
    for referral in Referral.objects.filter(pk__in=ids):
        yield (
            referral.pk,
            Ref(
                _("sent up: %(what)s") % {"what": referral.get_kind_display()},
                reverse("reports:village_referrals"),
            ),
        )


def _exports(ids):
    for job in ExportJob.objects.filter(pk__in=ids):
        yield job.pk, Ref(job.get_kind_display())


def _notices(ids):
    for notice in PublishedNotice.objects.filter(pk__in=ids).select_related("village"):
        yield (
            notice.pk,
            Ref(
                _("notice of %(month)s") % {"month": f"{notice.month:%Y-%m}"},
                notice_public_path(notice.village, notice.month),
            ),
        )


# Object type (app_label.model, as core.audit writes it) -> what it is called, and a loader
# of its rows by id: one query per type on a page, whatever the number of events.
OBJECT_TYPES: dict[str, tuple[str, Callable]] = {
    "villagers.user": (gettext_lazy("user"), _users),
    "villagers.household": (gettext_lazy("household"), _households),
    "villagers.member": (
        gettext_lazy("member"),
        _of_household(Member, lambda m: f"{m.name} · {_household(m.household)}"),
    ),
    "villagers.card": (
        gettext_lazy("card"),
        _of_household(Card, lambda c: f"{c.number} · {_household(c.household)}"),
    ),
    "villagers.inspection": (
        gettext_lazy("inspection"),
        _of_household(Inspection, lambda i: f"{i.date:%Y-%m-%d} · {_household(i.household)}"),
    ),
    "villagers.participation": (
        gettext_lazy("participation"),
        _of_household(Participation, lambda p: f"{p.activity} · {_household(p.household)}"),
    ),
    "villagers.referral": (gettext_lazy("item sent up"), _referrals),
    "villagers.village": (gettext_lazy("village"), _villages),
    "villagers.villagegroup": (gettext_lazy("village group"), _named(VillageGroup)),
    "villagers.township": (gettext_lazy("township"), _named(Township)),
    "villagers.county": (gettext_lazy("county"), _named(County)),
    "auth.group": (gettext_lazy("role"), _roles),
    # Shown by kind and number: a sign-in record names who tried, for the superuser only.
    "axes.accessattempt": (gettext_lazy("sign-in record"), lambda ids: ()),
    "axes.accesslog": (gettext_lazy("sign-in record"), lambda ids: ()),
    "axes.accessfailurelog": (gettext_lazy("sign-in record"), lambda ids: ()),
    "points.proposal": (gettext_lazy("proposal"), _proposals),
    "points.batch": (gettext_lazy("batch"), _batches),
    "points.entry": (gettext_lazy("ledger entry"), _entries),
    "points.rule": (gettext_lazy("points rule"), _rules),
    "points.objection": (gettext_lazy("objection"), _objections),
    "points.declaration": (gettext_lazy("declaration"), _declarations),
    "store.item": (gettext_lazy("item"), _items),
    "store.stockmovement": (gettext_lazy("stock movement"), _movements),
    "store.donation": (gettext_lazy("donation"), _donations),
    "store.donor": (gettext_lazy("donor"), _donors),
    "store.redemption": (gettext_lazy("redemption"), _redemptions),
    "wishwall.wish": (gettext_lazy("wish"), _wishes),
    "reports.exportjob": (gettext_lazy("export"), _exports),
    "reports.publishednotice": (gettext_lazy("published notice"), _notices),
}


def _kind(object_type: str) -> str:
    """What a row of `object_type` is, in words: its label here, else its model's name (a
    reservation, a stock correction), else "record"."""
    if object_type in OBJECT_TYPES:
        return OBJECT_TYPES[object_type][0]
    try:
        return apps.get_model(object_type)._meta.verbose_name
    except (LookupError, ValueError):
        return _("record")


def _wishes_readable(reader, refs) -> set[int]:
    wishes = Wish.objects.filter(pk__in=refs)
    return set(wishes_readable(reader, wishes).values_list("pk", flat=True))


# Object type -> which of its rows the reader may read, where their role is not the whole
# answer (the township officer reads only the wishes on a village's wall); the others are
# shown by kind and number, neither named nor linked.
READABLE = {"wishwall.wish": _wishes_readable}

# Detail keys that name a row: (detail key -> object type).
DETAIL_REFS = {
    "entry": "points.entry",
    "reverses": "points.entry",
    "reversal": "points.entry",
    "proposal": "points.proposal",
    "item": "store.item",
    "paid_by": "store.donation",
    "donor_id": "store.donor",
    "household": "villagers.household",
    "household_before": "villagers.household",
    "batch": "points.batch",
    "asked_by": "villagers.user",
}


class Refs:
    """The names and pages of every row a page of events refers to, loaded once per type."""

    def __init__(self, found: dict[str, dict[int, Ref]]):
        self.found = found

    @classmethod
    def of(cls, events, reader) -> "Refs":
        wanted = defaultdict(set)
        for event in events:
            if event.object_type in OBJECT_TYPES and row_id_or_none(event.object_id):
                wanted[event.object_type].add(int(event.object_id))
            for key, object_type in DETAIL_REFS.items():
                value = (event.detail or {}).get(key) if isinstance(event.detail, dict) else None
                if row_id_or_none(value):
                    wanted[object_type].add(int(value))
        found = {
            object_type: dict(OBJECT_TYPES[object_type][1](sorted(ids)))
            for object_type, ids in wanted.items()
        }
        for object_type, readable in READABLE.items():
            refs = found.get(object_type, {})
            if refs:
                shown = readable(reader, refs)
                for pk in set(refs) - shown:
                    del refs[pk]  # by its kind and number only: its name is not theirs
        return cls(found)

    def shower(self, request, village_id: int | None) -> Callable[[str, object], SafeString]:
        """`show` for an event of village `village_id`, read by the request's user."""

        def show(object_type: str, object_id) -> SafeString:
            """A link to the row's page with its name, where the reader may open it (a county
            admin or township officer through looking into the event's village); else, and
            for a row gone or unknown, plain words."""
            pk = row_id_or_none(object_id)
            ref = self.found.get(object_type, {}).get(pk) if pk else None
            if ref is None:
                return format_html(
                    _("{kind} no. {id}"), kind=_kind(object_type), id=object_id or "—"
                )
            url = link_for(request, ref.url, village_id) if ref.url else ""
            if url:
                return format_html('<a href="{}">{}</a>', url, ref.name)
            return format_html("{}", ref.name)

        return show
