from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from villagers.forms import CardLoginForm, StaffLoginForm
from villagers.middleware import COUNTY_VILLAGE_SESSION_KEY
from villagers.models import Village
from villagers.roles import (
    is_county_admin,
    is_manager,
    is_supervisor,
    is_villager,
    villager_required,
)


def home(request):
    """Send each kind of user to the page they start their day on."""
    user = request.user
    if not user.is_authenticated:
        return redirect("login")
    if is_villager(user):
        return redirect("points:me")
    if is_county_admin(user) and request.village is None:
        return redirect("villagers:village_pick")
    if is_manager(user) or is_supervisor(user) or is_county_admin(user):
        return redirect("villagers:household_list")
    if user.is_superuser:
        return redirect("admin:index")
    return render(request, "villagers/no_role.html", status=403)


class StaffLogin(LoginView):
    form_class = StaffLoginForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True


staff_login = StaffLogin.as_view()


def card_login(request):
    """Villagers sign in with the household's card number and PIN."""
    if request.method == "POST":
        form = CardLoginForm(request, data=request.POST)
        if form.is_valid():
            user = form.get_user()
            # Audited (with failures) by aidao's receivers of the auth signals.
            login(request, user, backend="villagers.auth.CardPinBackend")
            return redirect("home")
    else:
        form = CardLoginForm(request)
    return render(request, "registration/card_login.html", {"form": form})


@require_POST
def logout_view(request):
    logout(request)
    messages.info(request, _("You have signed out."))
    return redirect(reverse("login"))


@villager_required
def me(request):
    """The villager's start page (the points app adds the balance and history)."""
    household = request.user.household
    card = household.cards.filter(status="active").first()
    return render(request, "villagers/me.html", {"household": household, "card": card})


@login_required
def village_pick(request):
    """A county admin chooses which village to look into (read-only)."""
    if not is_county_admin(request.user):
        raise PermissionDenied
    villages = Village.objects.filter(township__county_id=request.user.county_id).select_related(
        "township"
    )
    if request.method == "POST":
        village = get_object_or_404(villages, pk=request.POST.get("village"))
        request.session[COUNTY_VILLAGE_SESSION_KEY] = village.pk
        return redirect("home")
    return render(request, "villagers/village_pick.html", {"villages": villages})
