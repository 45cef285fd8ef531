from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.views import LoginView
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from core.access import is_villager, overseer_required, villager_required
from core.db import row_id_or_none
from core.redirects import local_next
from villagers.auth import locked_until
from villagers.cardnumbers import card_number_normalize
from villagers.devices import device_remember
from villagers.forms import (
    CARD_NUMBER_MAX_LENGTH,
    CardLoginForm,
    StaffLoginForm,
    VillagePickForm,
)
from villagers.middleware import COUNTY_VILLAGE_SESSION_KEY
from villagers.oversight import villages_overseen
from villagers.throttle import card_login_turn


class StaffLogin(LoginView):
    form_class = StaffLoginForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True


staff_login = StaffLogin.as_view()


def _card_login_page(request, form, *, next_url="", wait=0, status=200):
    context = {"form": form, "next": next_url, "wait": wait}
    return render(request, "registration/card_login.html", context, status=status)


@never_cache
def card_login(request):
    """Villagers sign in with the household's card number and PIN (also the site's front door).

    `?card=<number>` (the URL in the card's QR code) fills in the number: any number is put
    back as typed, whether or not a card has it, so the page tells nothing about cards.
    Kept by no cache, as the staff login (Django's): a refused try shows the number typed,
    which the Back button of a shared phone brought back from the cache.
    """
    if request.method != "POST":
        next_url = local_next(request, request.GET.get("next", ""))
        number = card_number_normalize(request.GET.get("card", ""))[:CARD_NUMBER_MAX_LENGTH]
        form = CardLoginForm(request, initial={"card_number": number} if number else None)
        return _card_login_page(request, form, next_url=next_url)
    next_url = local_next(request, request.POST.get("next", ""))
    with card_login_turn(request) as wait:
        if wait:  # many failed card logins from this address: one try every few seconds
            form = CardLoginForm(request, initial={"card_number": request.POST.get("card_number")})
            response = _card_login_page(request, form, next_url=next_url, wait=wait, status=429)
            response["Retry-After"] = str(wait)
            return response
        form = CardLoginForm(request, data=request.POST)
        if form.is_valid():
            user = form.get_user()
            # Audited (with failures) by aidao's receivers of the auth signals.
            login(request, user, backend="villagers.auth.CardPinBackend")
            # Straight to the balance page (or the shared link): one round trip less on 3G.
            response = redirect(next_url or "points:me")
            # Wrong PINs typed elsewhere do not lock this phone out (villagers.devices).
            device_remember(response, card_number_normalize(form.cleaned_data["card_number"]))
            return response
    return _card_login_page(request, form, next_url=next_url)


def locked_out(request, original_response=None, credentials=None):
    """django-axes' lockout page (AXES_LOCKOUT_CALLABLE): until when, and a button back to
    the sign-in page that was tried; before, only the header's title led anywhere. Each try
    while locked starts the cool-off again for its own phone (axes counts it), and the lock
    lifts when the tries still counted fall below the limit (`locked_until`). Drawn alike for
    a card or name of nobody: it tells nothing of who exists."""
    if credentials is None and isinstance(original_response, dict):
        credentials = original_response  # axes' async middleware passes (request, credentials)
    card = bool((credentials or {}).get("card_number"))
    context = {
        "card": card,
        # A count that lapsed since axes counted it: the lock is gone (says the next minute).
        "until": timezone.localtime(locked_until(request, credentials, locked=True)),
        # The sign-in page tried (card, staff or back office) with its ?next=, drawn afresh.
        "back": request.get_full_path(),
    }
    return render(
        request,
        "registration/locked_out.html",
        context,
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )


@require_POST
def logout_view(request):
    """Sign out; a villager lands on the card login (the front door), staff on theirs."""
    villager = is_villager(request.user)
    logout(request)
    messages.info(request, _("You have signed out."))
    return redirect(reverse("home" if villager else "login"))


@villager_required
def me(request):
    """The villager's start page (the points app adds the balance and history)."""
    household = request.user.household
    card = household.cards.filter(status="active").first()
    return render(request, "villagers/me.html", {"household": household, "card": card})


@overseer_required
def village_pick(request):
    """A county admin or a township officer chooses which village to look into (read-only).

    `next` (a page they were going to) comes back after the choice; `village` narrows the
    choice to the village that page is about (a link from the audit log, say), with a way
    back to the whole list.
    """
    # By township, as the county's villages are run: ordered by code, a county's 47
    # villages read as seven townships shuffled together.
    villages = (
        villages_overseen(request.user)
        .select_related("township")
        .order_by("township__name", "township_id", "name", "code")
    )
    if request.method == "POST":
        form = VillagePickForm(request.POST, villages=villages)
        if not form.is_valid():  # the buttons send only villages they oversee
            raise Http404("No village of theirs.")
        request.session[COUNTY_VILLAGE_SESSION_KEY] = form.cleaned_data["village"].pk
        # The county overview sends its rows straight into the village's dashboard.
        return redirect(local_next(request, request.POST.get("next", "")) or "home")
    next_url = local_next(request, request.GET.get("next", ""))
    wanted = row_id_or_none(request.GET.get("village"))
    narrowed = list(villages.filter(pk=wanted)) if wanted and next_url else []
    context = {"villages": narrowed or villages, "next": next_url, "narrowed": bool(narrowed)}
    return render(request, "villagers/village_pick.html", context)
