"""Pages that combine apps: the start page router and the public notice (公示).

A month's notice is, for the village's people in the app: the running month drawn live;
an ended month once published, read back as published; an ended month not yet published, a
draft its staff review (the supervisor publishes it there). Published notices are public
without login at /village/notice/<village code>/<year>/<month>/, the address printed as a QR
code on the paper notice.
"""

import datetime

import segno
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.access import (
    Role,
    is_villager,
    may_object,
    member_of_village_required,
    staff_required,
    start_page,
)
from core.fragments import cached_part
from core.idempotency import run_once
from core.months import (
    OutsideRecords,
    month_after,
    month_before,
    month_in_path,
    month_of,
    previous_month,
)
from reports import xlsx
from reports.models import NoticeSignature, PublishedNotice
from reports.notice import (
    countersigning_refusal,
    document_sections,
    household_line,
    nothing_recorded,
    notice_countersign,
    notice_public_path,
    notice_publish,
    notice_sections,
    published_notice,
    publishing_refusal,
    section_from_plain,
    section_plain,
    sections_for_page,
    workbook_sections,
)
from reports.selectors import Period, report_state
from villagers.models import Card, Village
from villagers.views import card_login

# A published notice never changes; its public page may sit in a shared cache this long
# (only when nobody is signed in: a signed-in page carries the user's menu).
PUBLIC_NOTICE_MAX_AGE = 600
# How long a rendered notice or report is kept (its key changes with what it shows: the
# timeout only lets the cache forget the parts nobody asks for).
PART_SECONDS = 24 * 60 * 60
# Part of the notice workbook's cache key: raised when its cells change, so a workbook
# cached by the code before (Redis outlives a deploy) is not served again.
NOTICE_WORKBOOK_LAYOUT = 2


def home(request):
    """Send each kind of user to the page they start their day on; the signed-out see the
    card login (villagers are most of them; staff have a link there to their own)."""
    if not request.user.is_authenticated:
        return card_login(request)
    start = start_page(request)
    if start is None:
        return render(request, "villagers/no_role.html", status=403)
    return redirect(start)


def _month(village: Village, year, month) -> datetime.date:
    """The notice's month: this one when the address names none; else one the village's
    records reach (core.months.asked_within says which do)."""
    if year is None:
        return month_of(timezone.localdate())
    return month_in_path(year, month, since=village.started_on, page="reports:notice_month")


def notice_qr_svg(url: str) -> str:
    """The notice's public address as an inline SVG QR code (made here: no outside service)."""
    svg = segno.make_qr(url, error="m").svg_inline(scale=2, border=2, omitsize=True)
    return mark_safe(svg)  # noqa: S308 - segno's own markup of our own URL


def notice_part(request, village, first: datetime.date, notice: PublishedNotice | None) -> dict:
    """The notice's sections rendered, its list of balances (plain, to find a villager's own
    line) and its heading values, from the cache under a key of what they show: a published
    notice's row (frozen: its id and row version), else the digest of every row the month's
    draft shows (reports.selectors.report_state)."""
    flags = f"{first:%Y-%m}:{village.pk}:{may_object(request.user)}"
    if notice is not None:
        fingerprint = f"published:{notice.pk}:{notice.version}:{flags}"

        def draw() -> dict:
            return _part(request, document_sections(notice.document), notice.document)
    else:
        state = report_state(village, Period.month(first.year, first.month))
        fingerprint = f"draft:{state}:{flags}"

        def draw() -> dict:
            sections = notice_sections(village, first.year, first.month)
            return _part(request, sections_for_page(sections), None)

    return cached_part("notice-sections", fingerprint, draw, PART_SECONDS)


def _part(request, sections, document) -> dict:
    context = {"sections": sections, "may_object": may_object(request.user)}
    html = render_to_string("reports/_notice_sections.html", context, request)
    balances = [section_plain(section) for section in sections if section.key == "balances"]
    head = None
    if document is not None:
        head = {key: document[key] for key in ("village", "month", "language")}
    return {"html": html, "balances": balances, "head": head, "empty": nothing_recorded(sections)}


def _qr_svg(url: str) -> str:
    return cached_part("notice-qr", url, lambda: notice_qr_svg(url), PART_SECONDS)


def _published_context(request, notice: PublishedNotice) -> dict:
    url = request.build_absolute_uri(notice_public_path(notice.village, notice.month))
    part = notice_part(request, notice.village, notice.month, notice)
    return {
        "published": notice,
        "document": part["head"],
        "part": part,
        "sections_html": part["html"],
        "supervisor_signature": notice.signed.get(NoticeSignature.Role.SUPERVISOR),
        "secretary_signature": notice.signed.get(NoticeSignature.Role.SECRETARY),
        # The party secretary's button to countersign; the public page has none.
        "may_countersign": request.user.is_authenticated
        and countersigning_refusal(notice, request.user) is None,
        "public_url": url,
        "qr_svg": _qr_svg(url),
    }


def _own_line(request, village, part: dict):
    """A signed-in villager's own line of the list of balances, to show and read aloud (one
    query: the household's cards with its group)."""
    user = request.user
    if not is_villager(user):
        return None
    sections = [section_from_plain(section) for section in part["balances"]]
    cards = list(
        Card.objects.filter(household_id=user.household_id, household__village=village)
        .values_list("number", "household__group__name")
        .order_by()
    )
    if not cards:
        return None
    return household_line(
        sections, card_numbers=[number for number, _group in cards], group=cards[0][1]
    )


def _published_months(village) -> set[datetime.date]:
    # Unordered: the model's order (by village) would join the village table for nothing.
    months = PublishedNotice.objects.filter(village=village).order_by()
    return set(months.values_list("month", flat=True))


def _neighbours(village, first: datetime.date, current: datetime.date, villager_months=None):
    """The months the previous/next links lead to: for staff any the village's records reach
    (from its first month); for a villager (given the months published), only published
    months and the running one, which they may open."""
    if villager_months is None:
        return month_before(first, village.started_on), month_after(first)
    months = villager_months | {current}
    earlier = [month for month in months if month < first]
    later = [month for month in months if month > first]
    return (max(earlier) if earlier else None), (min(later) if later else None)


@member_of_village_required
def notice(request, year=None, month=None):
    """A month's notice: the running month live, an ended one as published, or its draft."""
    village = request.village
    first = _month(village, year, month)
    current = month_of(timezone.localdate())
    villager_months = _published_months(village) if is_villager(request.user) else None
    if villager_months is None or first in villager_months:
        notice = published_notice(village, first)
    else:
        notice = None
    if notice is None and first < current and villager_months is not None:
        return render(request, "reports/notice_unpublished.html", {"month": first}, status=403)
    previous, following = _neighbours(village, first, current, villager_months)
    context = {
        "village": village,
        "month": first,
        "previous": previous,
        "following": following,
        "is_draft": notice is None and first < current,
        "is_running": first == current,
    }
    if notice is not None:
        context |= _published_context(request, notice)
    else:
        context["part"] = notice_part(request, village, first, None)
        context["sections_html"] = context["part"]["html"]
        context["publish_refusal"] = publishing_refusal(village, first, request.user)
        if context["is_draft"] and not context["publish_refusal"]:
            context["unpublished_before"] = _month_skipped(village, first)
            # Nothing to publish but the balances: the form asks to say so (notice_publish).
            context["nothing_recorded"] = context["part"]["empty"]
    context["own_line"] = _own_line(request, village, context["part"])
    return render(request, "reports/notice.html", context)


def _month_skipped(village: Village, first: datetime.date) -> datetime.date | None:
    """The month before `first` when it is not published though an earlier one is: the
    supervisor is about to leave a gap in the notices."""
    before = previous_month(first)
    published = PublishedNotice.objects.filter(village=village, month__lte=before)
    months = set(published.order_by("-month").values_list("month", flat=True)[:1])
    if months and before not in months:
        return before
    return None


def notice_public(request, code, year, month):
    """A published notice for anyone, without signing in: the address on the paper notice.

    Months not published (drafts, the running month) are not found here.
    """
    village = get_object_or_404(Village, code=code)
    # A month outside the village's records is, here, a month with no published notice: the
    # plain "not found", as for a draft (the other pages' answer names the village's first
    # month and links to the staff's pages, which a stranger with the paper cannot open).
    try:
        first = month_in_path(year, month, since=village.started_on, page="reports:notice_month")
    except OutsideRecords:
        raise Http404 from None
    notice = published_notice(village, first)
    if notice is None:
        raise Http404
    context = _published_context(request, notice)
    context["own_line"] = _own_line(request, village, context["part"])
    response = render(
        request,
        "reports/notice_public.html",
        {"village": village} | context,
    )
    if not request.user.is_authenticated:
        patch_cache_control(response, public=True, max_age=PUBLIC_NOTICE_MAX_AGE)
        patch_vary_headers(response, ("Cookie", "Accept-Language"))
    return response


@require_POST
@staff_required(Role.SUPERVISOR)
def notice_publish_view(request, year, month):
    """The supervisor publishes an ended month: frozen, signed, public at its address."""
    first = _month(request.village, year, month)
    page = reverse("reports:notice_month", args=[first.year, first.month])
    if request.POST.get("confirm") != "yes":
        messages.error(
            request,
            _("Tick the box to confirm you have checked the figures: nothing was published."),
        )
        return redirect(page)

    def once():
        notice_publish(
            village=request.village,
            year=first.year,
            month=first.month,
            actor=request.user,
            empty_confirmed=request.POST.get("empty") == "yes",
            request=request,
        )
        return page

    try:
        _url, replayed = run_once(request, once)
    except ValidationError as error:
        for line in error.messages:
            messages.error(request, line)
    else:
        if replayed:
            messages.info(request, _("This notice was already published."))
        else:
            messages.success(
                request,
                _(
                    "The notice of %(month)s is published: its figures are frozen and signed "
                    "with your name. Corrections from now on appear on the current month's "
                    "notice."
                )
                % {"month": f"{first:%Y-%m}"},
            )
    return redirect(page)


@require_POST
@staff_required(Role.PARTY_SECRETARY)
def notice_countersign_view(request, year, month):
    """The village party secretary (组长) countersigns a published month's notice."""
    first = _month(request.village, year, month)
    page = reverse("reports:notice_month", args=[first.year, first.month])
    notice = published_notice(request.village, first)
    if notice is None:
        messages.error(request, _("Only a published notice can be countersigned."))
        return redirect(page)

    def once():
        notice_countersign(notice=notice, actor=request.user, request=request)
        return page

    try:
        _url, replayed = run_once(request, once)
    except ValidationError as error:
        for line in error.messages:
            messages.error(request, line)
    else:
        if replayed:
            messages.info(request, _("This notice was already countersigned."))
        else:
            messages.success(
                request,
                _("You countersigned the notice of %(month)s: your name and the time are on it.")
                % {"month": f"{first:%Y-%m}"},
            )
    return redirect(page)


@member_of_village_required
def notice_xlsx(request, year, month):
    """The notice as a workbook: as published, or (for staff) the draft or running month;
    kept in the cache under the same key as the page's sections."""
    village = request.village
    first = _month(village, year, month)
    notice = published_notice(village, first)
    if notice is not None:
        fingerprint = f"published:{notice.pk}:{notice.version}"

        def sections():
            return document_sections(notice.document)
    elif first < month_of(timezone.localdate()) and is_villager(request.user):
        return render(request, "reports/notice_unpublished.html", {"month": first}, status=403)
    else:
        fingerprint = f"draft:{report_state(village, Period.month(first.year, first.month))}"

        def sections():
            return notice_sections(village, first.year, first.month)

    def draw() -> bytes:
        workbook = xlsx.workbook_new()
        xlsx.sections_add(workbook, workbook_sections(sections()), f"{village.name} {first:%Y-%m}")
        if not workbook.sheetnames:
            workbook.create_sheet(title=_("Notice")[:31])
        return xlsx.workbook_bytes(workbook)

    content = cached_part(
        f"notice-xlsx-{NOTICE_WORKBOOK_LAYOUT}",
        f"{fingerprint}:{village.pk}:{first:%Y-%m}",
        draw,
        PART_SECONDS,
    )
    names = xlsx.village_file_names(village, _("Public notice"), "notice", f"{first:%Y-%m}")
    return xlsx.xlsx_response(content, *names)
