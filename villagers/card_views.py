"""Card pages: replace, recall, PIN reset and the printable card (manager); PIN change (villager).

Issuing a card posts the opening points, so its page lives in `points.views.cards`.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlencode

import segno
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.shortcuts import redirect, render
from django.urls import resolve, reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from core.access import Role, staff_required, villager_required
from core.idempotency import run_once, said_once
from villagers.auth import (
    card_locked_until,
    locked_until,
    one_try_at_a_time,
    tries_left,
    tries_left_message,
)
from villagers.forms import (
    CardRecallForm,
    CardReplaceForm,
    MemberPinForm,
    PinChangeForm,
    PinResetForm,
    form_add_service_error,
    form_sent_up,
)
from villagers.models import Card, Member, User
from villagers.second_person import SecondPersonRequired, refusal_or_referral
from villagers.selectors import (
    card_get_for_user,
    household_get_for_user,
    household_pin_is,
    member_get_for_user,
    member_pin_is,
)
from villagers.services import (
    card_recall,
    card_replace,
    household_locked,
    member_pin_refusal,
    member_pin_revoke,
    member_pin_set,
    pin_change,
    pin_reset,
)


def _card_form_page(request, *, household, form, title, submit, intro=""):
    return render(
        request,
        "villagers/card_form.html",
        {
            "household": household,
            "form": form,
            "title": title,
            "submit": submit,
            "intro": intro,
            "active_card": household.cards.filter(status=Card.Status.ACTIVE).first(),
        },
    )


def card_login_url(request, number: str) -> str:
    """The card login with the number filled in: what the card's QR code holds, so a phone's
    camera (or WeChat's scanner) opens the login ready for the PIN. The counter's scanner
    reads the number off its end (villagers.cardnumbers.card_number_normalize)."""
    path = f"{reverse('card_login')}?{urlencode({'card': number})}"
    if settings.CARD_LOGIN_BASE_URL:
        return settings.CARD_LOGIN_BASE_URL + path
    return request.build_absolute_uri(path)


def card_qr_svg(request, number: str, *, scale: int = 6, border: int = 4) -> str:
    """The card's QR code (its login URL) as inline SVG (generated here: no external service)."""
    qr = segno.make_qr(card_login_url(request, number), error="m")
    svg = qr.svg_inline(scale=scale, border=border, omitsize=True)
    return mark_safe(svg)  # noqa: S308 - segno's own markup (it escapes the URL it draws)


class Slip:
    """Why a PIN slip is printed: a card's first issue, a replacement, a PIN reset."""

    ISSUE = "issue"
    REPLACE = "replace"
    PIN = "pin"
    MEMBER = "member"  # a family member's own PIN


def card_slip(
    request, *, card: Card, pin: str, kind: str, old_number: str = "", member: Member | None = None
):
    """The slip for the household: the card above a cut line, the PIN below it.

    The PIN is never stored in clear (nor written to the audit log), so the slip exists only
    as this response to the POST that set it, sent `no-store` (never_cache on the views).
    """
    return render(
        request,
        "villagers/card_slip.html",
        {
            "card": card,
            "household": card.household,
            "kind": kind,
            "old_number": old_number,
            "member": member,
            "pin": pin,
            "qr_svg": card_qr_svg(request, card.number, scale=4),
        },
    )


@never_cache
@staff_required(Role.MANAGER)
def card_replace_view(request, pk):
    """Replace a card; the answer is the slip with the new PIN, shown this once only.

    The PIN is never stored in clear, so the slip cannot be shown again later: it is this
    POST's response (not cached). One-time key: sent twice (a double click: the browser
    shows the second answer), the card is replaced once and the second answer is its slip,
    from the PIN in the re-sent form, while the new card is active and that PIN still opens
    the household's login (as a card issue or a PIN reset sent twice). A form opened before
    the replacement and sent later names a card already replaced, which the service refuses.
    """
    household = household_get_for_user(request, pk)
    hub = reverse("reports:household", args=[household.pk])
    active = household.cards.filter(status=Card.Status.ACTIVE).first()
    form = CardReplaceForm(
        request.POST or None,
        initial={"replacing": active.number if active else ""},
        has_member_pins=household.users.filter(member__isnull=False, is_active=True).exists(),
    )
    guesses = StaffPinGuesses(request, household)
    with guesses.counted(form):
        if request.method == "POST" and form.is_valid() and not guesses.locked(form):
            pin = form.cleaned_data["pin"]
            replacing = form.cleaned_data["replacing"]
            keep_members = form.cleaned_data.get("keep_members", True)
            replaced = []

            def action():
                replaced.append(
                    card_replace(
                        household=household,
                        actor=request.user,
                        pin=pin,
                        reason=form.cleaned_data["reason"],
                        replacing=replacing,
                        keep_members=keep_members,
                        request=request,
                    )
                )
                return reverse("villagers:card_print", args=[replaced[0].pk])

            try:
                url, replayed = run_once(request, action)
            except SecondPersonRequired as error:
                # As a PIN reset of one's own household: the county replaces the card with the
                # PIN the manager chose; the referral keeps only its hash, and no slip is shown.
                asked = {
                    "reason": form.cleaned_data["reason"],
                    "replacing": replacing,
                    "keep_members": keep_members,
                }
                if form_sent_up(request, form, error, asked, pin=pin):
                    return redirect(hub)
            except ValidationError as error:
                form_add_service_error(form, error)
            else:
                if not replayed:
                    card = replaced[0]
                    old_number = active.number if active else ""
                    messages.success(
                        request,
                        _("New card %(number)s issued; the old card no longer works.")
                        % {"number": card.number},
                    )
                else:
                    # The card shown on the form was the one replaced (the page's own is new).
                    old_number = replacing
                    card = card_get_for_user(request, resolve(url).kwargs["pk"])
                    if card.status != Card.Status.ACTIVE or not household_pin_is(household, pin):
                        messages.info(
                            request,
                            _(
                                "This card was already replaced and has been changed again since: "
                                "its slip is no longer shown."
                            ),
                        )
                        return redirect(hub)
                    messages.info(
                        request,
                        _(
                            "This card was already replaced (the form was sent twice): here is its "
                            "slip. Give it to the household in person."
                        ),
                    )
                return card_slip(
                    request,
                    card=card,
                    pin=pin,
                    kind=Slip.REPLACE,
                    old_number=old_number,
                )
    return _card_form_page(
        request,
        household=household,
        form=form,
        title=_("Replace a lost or damaged card"),
        submit=_("Issue the new card"),
        intro=_("The household gets a new card number and a new PIN; the old card stops working."),
    )


@staff_required(Role.MANAGER)
def card_recall_view(request, pk):
    """Recall the card. One-time key: sent twice (a double click), it is recalled once and
    the second answer goes where the first went, saying it was already sent."""
    household = household_get_for_user(request, pk)
    hub = reverse("reports:household", args=[household.pk])
    form = CardRecallForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        reason = form.cleaned_data["reason"]

        def action():
            card_recall(household=household, actor=request.user, reason=reason, request=request)
            return hub

        try:
            url, replayed = run_once(request, action)
        except SecondPersonRequired as error:
            asked = {"reason": reason}
            if form_sent_up(request, form, error, asked):
                return redirect(hub)
        except ValidationError as error:
            form_add_service_error(form, error)
        else:
            said_once(request, replayed, _("The card is recalled; its login no longer works."))
            return redirect(url)
    return _card_form_page(
        request,
        household=household,
        form=form,
        title=_("Recall the card"),
        submit=_("Recall the card"),
        intro=_("The card and the household's login stop working. The points stay on record."),
    )


def _pin_slip_post(
    request, form, *, household, hub, service, still_opens, set_now, set_before, slip
):
    """A PIN the manager sets (a reset, a member's own): the answer to a valid POST, or None
    for the form page again. `service(pin)` sets it under the card's staff count
    (StaffPinGuesses); for the manager's own household the county sets it (sent up, no
    slip). The answer is the slip with the PIN, shown this once; sent twice (one-time key),
    the slip again while `still_opens(pin)`, else the household page saying it changed."""
    guesses = StaffPinGuesses(request, household)
    with guesses.counted(form):
        if request.method != "POST" or not form.is_valid() or guesses.locked(form):
            return None
        pin = form.cleaned_data["pin"]

        def action():
            service(pin)
            return hub

        try:
            _url, replayed = run_once(request, action)
        except SecondPersonRequired as error:
            # The county sets the PIN the manager chose; the referral keeps only its hash.
            return redirect(hub) if form_sent_up(request, form, error, pin=pin) else None
        except ValidationError as error:
            form_add_service_error(form, error)
            return None
        card = household.cards.filter(status=Card.Status.ACTIVE).first()
        if not replayed:
            messages.success(request, set_now)
        elif card is not None and still_opens(pin):
            messages.info(request, set_before)
        else:
            messages.info(
                request,
                _(
                    "This PIN was already set and has been changed again since: its slip "
                    "is no longer shown."
                ),
            )
            return redirect(hub)
        return card_slip(request, card=card, pin=pin, **slip)


@never_cache
@staff_required(Role.MANAGER)
def pin_reset_view(request, pk):
    """Set a new PIN; the answer is the slip with it, shown this once (as at a replacement).

    A reset of the manager's own household goes to the county instead (the second-person
    rule): no PIN is set then, so no slip is shown. One-time key: sent twice (a double
    click: the browser shows the second answer), the PIN is set once and the second answer
    is its slip, from the PIN in the re-sent form, while that PIN still opens the
    household's login (as a card issue sent twice, points.views.cards).
    """
    household = household_get_for_user(request, pk)
    hub = reverse("reports:household", args=[household.pk])
    form = PinResetForm(request.POST or None)
    answer = _pin_slip_post(
        request,
        form,
        household=household,
        hub=hub,
        service=lambda pin: pin_reset(
            household=household, actor=request.user, pin=pin, request=request
        ),
        still_opens=lambda pin: household_pin_is(household, pin),
        set_now=_("The new PIN is set. Give the slip to the household in person."),
        set_before=_(
            "This PIN was already set (the form was sent twice): here is its slip. "
            "Give it to the household in person."
        ),
        slip={"kind": Slip.PIN},
    )
    if answer is not None:
        return answer
    return _card_form_page(
        request,
        household=household,
        form=form,
        title=_("Set a new PIN"),
        submit=_("Set the PIN"),
        intro=_("For a household that forgot its PIN. It is signed out everywhere."),
    )


@never_cache
@staff_required(Role.MANAGER)
def member_pin_view(request, pk):
    """Give an adult member a PIN of their own on the household's card (the head decided),
    or a new one; the answer is the slip with it. One-time key: sent twice (a double click:
    the browser shows the second answer), the PIN is set once and the second answer is its
    slip again while that PIN still opens the member's login (as a PIN reset sent twice).

    For the manager's own household the county sets it instead (the second-person rule):
    the referral keeps only the PIN's hash, and no slip is shown here.
    """
    member = member_get_for_user(request, pk)
    household = member.household
    hub = reverse("reports:household", args=[household.pk])
    form = MemberPinForm(request.POST or None)
    refusal = member_pin_refusal(member)
    answer = None
    if not refusal:
        answer = _pin_slip_post(
            request,
            form,
            household=household,
            hub=hub,
            service=lambda pin: member_pin_set(
                member=member, actor=request.user, pin=pin, request=request
            ),
            still_opens=lambda pin: member_pin_is(member, pin),
            set_now=_("%(name)s has a PIN of their own. Give them the slip in person.")
            % {"name": member.name},
            set_before=_(
                "This PIN was already set (the form was sent twice): here is its slip. "
                "Give it to %(name)s in person."
            )
            % {"name": member.name},
            slip={"kind": Slip.MEMBER, "member": member},
        )
    if answer is not None:
        return answer
    login = User.objects.filter(member=member, is_active=True).first()
    return render(
        request,
        "villagers/member_pin.html",
        {
            "member": member,
            "household": household,
            "form": form,
            "refusal": refusal,
            "has_pin": login is not None,
            "active_card": household.cards.filter(status=Card.Status.ACTIVE).first(),
        },
    )


@require_POST
@staff_required(Role.MANAGER)
def member_pin_revoke_view(request, pk):
    """The member's own PIN stops working (the head asked); they are signed out everywhere."""
    member = member_get_for_user(request, pk)
    hub = reverse("reports:household", args=[member.household_id])

    def action():
        member_pin_revoke(member=member, actor=request.user, request=request)
        return hub

    try:
        _url, replayed = run_once(request, action)
    except SecondPersonRequired as error:
        messages.warning(request, refusal_or_referral(request, error, {"revoke": True}))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if not replayed:
            messages.success(
                request, _("%(name)s's own PIN no longer works.") % {"name": member.name}
            )
    return redirect(hub)


@staff_required(Role.MANAGER, Role.SUPERVISOR, Role.COUNTY_ADMIN)
def card_print(request, pk):
    """The card to print and hand over: number, household and a QR code of the number."""
    card = card_get_for_user(request, pk)
    return render(
        request,
        "villagers/card_print.html",
        {"card": card, "household": card.household, "qr_svg": card_qr_svg(request, card.number)},
    )


# A PIN change refused for these tells the sender something of a PIN on the card.
PIN_GUESSES = {"pin_wrong", "pin_taken"}


class StaffPinGuesses:
    """A PIN the manager sets (a reset, a replacement, a member's own) is refused when another
    login of the card uses it: a refusal that tells whether a guess is the household's PIN,
    which the manager could try through the member's page one PIN after another without the
    household knowing. Each such refusal counts as a wrong PIN on the card's count for its
    staff ("card:<number>/staff", villagers.auth.axes_username, and in the audit log as a
    failed login on the card): five, and the card's PINs cannot be set for 15 minutes. The
    household's own sign-ins are not counted with them, nor do wrong PINs typed by others
    keep the manager from setting a forgotten one; nor do they count as failed card logins
    of the address (villagers.throttle)."""

    def __init__(self, request, household):
        number = (
            household.cards.filter(status=Card.Status.ACTIVE)
            .values_list("number", flat=True)
            .first()
        )
        self.request = request
        self.household = household
        self.credentials = {"card_number": number, "staff_pin": True} if number else None

    @contextmanager
    def counted(self, form) -> Iterator[None]:
        """The form sent in the block, the count checked before (`locked`) and its refusal
        counted after (`count`) as one step, under the household's row lock: two PINs sent at
        the same moment both passed the check before either was counted, and were both told
        whether their PIN was taken. Now the second waits for the first and its count."""
        if self.request.method != "POST" or self.credentials is None:
            yield
            return
        with household_locked(self.household):
            yield
            self.count(form)

    def locked(self, form) -> bool:
        """Whether too many PINs were refused on the card lately (said on the form, with until
        when, as the villager's own pages say it)."""
        if self.credentials and AxesProxyHandler.is_locked(self.request, self.credentials):
            until = locked_until(self.request, self.credentials, locked=True)
            form.add_error(
                None,
                _(
                    "Too many PINs refused on this card (another login of the card uses "
                    "them): its PINs cannot be set until %(until)s."
                )
                % {"until": f"{timezone.localtime(until):%H:%M}"},
            )
            return True
        return False

    def count(self, form) -> None:
        """Count the form's refusal of a PIN another login uses, if that is what it shows."""
        names = [NON_FIELD_ERRORS, *form.fields]
        if self.credentials and any(form.has_error(name, "pin_taken") for name in names):
            user_login_failed.send(__name__, credentials=self.credentials, request=self.request)
            if getattr(self.request, "axes_locked_out", False):
                # Said on the form: axes' own page is the card login's, for the household.
                self.request.axes_locked_out = False
                self.locked(form)


@villager_required
def pin_change_view(request):
    """The household changes its PIN. A wrong current PIN, or a new one another login of the
    card uses, counts as a wrong PIN at the card login (django-axes): five, and the card is
    locked for everyone, here too, as a sign-in with them would be."""
    form = PinChangeForm(request.POST or None)
    number = (
        Card.objects.filter(household_id=request.user.household_id, status=Card.Status.ACTIVE)
        .values_list("number", flat=True)
        .first()
    )
    # Against the whole card, whichever phone (villagers.devices): signing in again gives a
    # phone no fresh tries at the card's other PINs.
    credentials = {"card_number": number or "", "whole_card": True}
    changed = False
    if request.method == "POST":
        try:
            with one_try_at_a_time(request, credentials):  # counted before the next is checked
                changed = _pin_change_counted(request, form, number, credentials)
        except ValidationError as busy:  # another try at the card, still being checked
            form.add_error(None, busy)
    if changed:
        update_session_auth_hash(request, request.user)
        messages.success(request, _("Your PIN is changed."))
        return redirect("villagers:me")
    # Locked: one message says until when and what to do, and no form is drawn to be refused.
    locked_until = card_locked_until(number, request) if number else None
    context = {"form": None if locked_until else form, "locked_until": locked_until}
    return render(request, "villagers/pin_change.html", context)


def _pin_change_counted(request, form, number, credentials) -> bool:
    """The PIN change sent, unless the card is locked; a wrong current PIN or a new one
    another login uses counted against the card. Whether the PIN was changed. The try that
    locks the card leaves the villager on this page (the caller says until when), not on
    django-axes' page for a sign-in: they are signed in."""
    if number and AxesProxyHandler.is_locked(request, credentials):
        return False
    if not form.is_valid():
        return False
    try:
        pin_change(
            user=request.user,
            old_pin=form.cleaned_data["old_pin"],
            new_pin=form.cleaned_data["pin"],
            request=request,
        )
    except ValidationError as error:
        codes = {item.code for item in getattr(error, "error_list", [])}
        form_add_service_error(form, error)
        if number and PIN_GUESSES & codes:
            user_login_failed.send(__name__, credentials=credentials, request=request)
            request.axes_locked_out = False  # said on this page (pin_change_view)
            left = tries_left(request)
            if left is not None:  # the last try or two: said before it locks the card
                form.add_error(None, tries_left_message(left, request, card=True))
        return False
    return True
