"""Transparency pages: the red/black board, where donations went, the donor's thanks page,
and the points liability against what is on the shelves."""

import datetime

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.access import Role, member_of_village_required, staff_required, village_object_or_404
from core.idempotency import run_once, said_once
from core.months import month_after, month_before, month_in_path, month_of, previous_month
from core.pagination import Paginator
from core.picker import form_as_typed, pick_context, pick_pressed, picks_read
from notifications.selectors import announcements_current
from reports.dashboard import STAFF as READERS
from reports.selectors_transparency import (
    board_month,
    donation_thanks,
    donations_traced,
    liability_cover,
)
from store.forms import DonationCorrectForm
from store.models import Donation
from store.services import (
    DONATION_CORRECTABLE,
    donation_correct,
    donation_correction_refusal,
    donation_thanks_link_revoke,
)
from villagers.forms import form_add_service_error

THANKS_SALT = "reports.donation-thanks"


class ThanksLinkGone(Exception):
    """A genuine thanks link that no longer works: too old, or replaced by a new one."""

    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


def thanks_token(donation: Donation) -> str:
    """An unguessable, unforgeable token naming one donation (signed with SECRET_KEY).

    It carries the time it was made (signing.dumps is a TimestampSigner), so it works for
    THANKS_LINK_MAX_AGE_DAYS, and the donation's link version, so a manager can revoke it.
    """
    payload = {"donation": donation.pk, "v": donation.thanks_link_version}
    return signing.dumps(payload, salt=THANKS_SALT, compress=True)


def thanks_url(request, donation: Donation) -> str:
    path = reverse("reports:donation_thanks", args=[thanks_token(donation)])
    return request.build_absolute_uri(path)


def _donation_from_token(token: str) -> Donation:
    """The donation a link names; Http404 for a forged or mangled one, ThanksLinkGone for
    a genuine one that expired or was revoked."""
    max_age = datetime.timedelta(days=settings.THANKS_LINK_MAX_AGE_DAYS)
    try:
        payload = signing.loads(token, salt=THANKS_SALT, max_age=max_age)
    except signing.SignatureExpired as error:
        raise ThanksLinkGone("expired") from error
    except signing.BadSignature as error:
        raise Http404 from error
    if not isinstance(payload, dict):
        raise Http404
    donation = (
        Donation.objects.select_related("donor", "village")
        .filter(pk=payload.get("donation"))
        .first()
    )
    if donation is None:
        raise Http404
    # Links made before versions existed carry none: they count as the first version.
    if payload.get("v", 1) != donation.thanks_link_version:
        raise ThanksLinkGone("revoked")
    return donation


def _month(village, year, month) -> datetime.date:
    """The month asked for, one the village's records reach (core.months.asked_within); by
    default the last completed one (the board is monthly), or the first of a village that
    began this month."""
    if year is None:
        return max(previous_month(timezone.localdate()), month_of(village.started_on))
    return month_in_path(year, month, since=village.started_on, page="reports:board_month")


def _board_context(request, year, month) -> dict:
    village = request.village
    first = _month(village, year, month)
    return {
        "village": village,
        "month": first,
        "board": board_month(village, first.year, first.month),
        "previous": month_before(first, village.started_on),
        "following": month_after(first),
    }


@member_of_village_required
def board(request, year=None, month=None):
    """紅黑榜 on the phone: the month's top earners and deductions by rule."""
    return render(request, "reports/transparency/board.html", _board_context(request, year, month))


@member_of_village_required
def board_display(request, year, month):
    """The same board in large type for a TV in the store or a printed poster, under the
    village's latest announcement."""
    context = _board_context(request, year, month)
    context["announcement"] = announcements_current(request.village.pk).first()
    return render(request, "reports/transparency/board_display.html", context)


@staff_required(*READERS)
def cover(request):
    """Can the store honour the points? Outstanding points beside the stock by fund source."""
    return render(
        request,
        "reports/transparency/cover.html",
        {"village": request.village, "cover": liability_cover(request.village)},
    )


@staff_required(*READERS)
def donations_traced_list(request):
    """Every donation with where it went, and the link to send its donor."""
    donations = Donation.objects.filter(village=request.village).select_related("donor")
    page = Paginator(donations.order_by("-received_on", "-pk"), 25).get_page(
        request.GET.get("page")
    )
    rows = donations_traced(request.village, page.object_list)
    for row in rows:
        row["thanks_url"] = thanks_url(request, row["donation"])
    context = {"page": page, "rows": rows, "max_age_days": settings.THANKS_LINK_MAX_AGE_DAYS}
    return render(request, "reports/transparency/donations.html", context)


@require_POST
@staff_required(Role.MANAGER)
def donation_thanks_revoke(request, pk):
    """The manager revokes a donation's thanks links (one went astray); the page shows a new one.

    One-time key, drawn with the page: a double click revokes once (one audit event); the
    page opened again and the button pressed again is another revocation."""
    donations = Donation.objects.filter(village=request.village)
    donation = village_object_or_404(donations, request.village, pk=pk)
    there = f"{reverse('reports:donations_traced')}#donation-{donation.pk}"

    def action():
        donation_thanks_link_revoke(donation=donation, actor=request.user, request=request)
        return there

    try:
        _url, replayed = run_once(request, action)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        said_once(
            request,
            replayed,
            _("The old thanks links of this donation no longer work. Send the donor the new one."),
        )
    return redirect(there)


def donation_thanks_page(request, token):
    """The donor's thanks page: no login, reached only by its signed link; no personal data.

    A link that expired or was revoked gets a page saying so (410 Gone), a forged one 404.
    """
    try:
        donation = _donation_from_token(token)
    except ThanksLinkGone as gone:
        response = render(
            request, "reports/transparency/thanks_gone.html", {"why": gone.why}, status=410
        )
    else:
        response = render(request, "reports/transparency/thanks.html", donation_thanks(donation))
    # The link is the key: keep it out of referrers and search engines.
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@staff_required(Role.MANAGER)
def donation_correct_view(request, pk):
    """Correct a donation recorded wrongly, saying why (store.services.donation_correct).

    Not one a published notice shows, nor into a published month: the notice keeps what it
    showed, and the donation would then disagree with it (or be on no notice at all). The
    service refuses both; the page says the first before anything is typed.
    """
    donations = Donation.objects.filter(village=request.village).select_related("donor")
    donation = village_object_or_404(donations, request.village, pk=pk)
    form = DonationCorrectForm(request.POST or None, donation=donation)
    if pick_pressed(request, form):  # a search for the donor: nothing sent
        form = DonationCorrectForm(initial=form_as_typed(form), donation=donation)
    picks_read(request, form)
    refusal = donation_correction_refusal(donation)
    if request.method == "POST" and refusal is None and form.is_valid():
        values = form.cleaned_data
        links_revoked = []

        def action():
            corrected = donation_correct(
                donation=donation,
                actor=request.user,
                reason=values["reason"],
                drawn=values["drawn"] or None,
                request=request,
                **{name: values[name] for name in DONATION_CORRECTABLE},
            )
            if corrected.thanks_link_version != donation.thanks_link_version:
                links_revoked.append(corrected)
                # Where the new link is, as after revoking the links (donation_thanks_revoke).
                return f"{reverse('reports:donations_traced')}#donation-{donation.pk}"
            return reverse("store:donation_list")

        try:
            url, replayed = run_once(request, action)
        except ValidationError as error:
            # Changed since the form was drawn: drawn again as the donation is now.
            if getattr(error, "code", None) == "stale":
                messages.error(request, error.messages[0])
                return redirect(request.path)
            form_add_service_error(form, error)
        else:
            if not replayed:
                messages.success(request, _("The donation is corrected."))
                if links_revoked:
                    messages.info(
                        request,
                        _(
                            "Its thanks links made so far no longer work, as they were for "
                            "another donor. Send the donor the new one."
                        ),
                    )
            return redirect(url)
    context = {"form": form, "donation": donation, "refusal": refusal}
    context.update(pick_context(request, form))
    return render(request, "store/donation_correct.html", context)
