"""Roles and village scoping: who the user is and which village's data they may see.

Every view finds its objects through these helpers so access is decided in one place.
"""

from dataclasses import dataclass
from functools import wraps
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import Resolver404, resolve, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.redirects import page_it_was_on


class Role:
    MANAGER = "Manager"
    SUPERVISOR = "Supervisor"
    COUNTY_ADMIN = "County admin"
    # Oversees the villages of one township: compares them, reads their notices and audit
    # logs, and decides what they send up (DESIGN.md ledger rule 8).
    TOWNSHIP_OFFICER = "Township officer"
    # The village party secretary heading the leading group (组长): countersigns the
    # published notice and reads the dashboard.
    PARTY_SECRETARY = "Party secretary"
    ALL = (MANAGER, SUPERVISOR, COUNTY_ADMIN, TOWNSHIP_OFFICER, PARTY_SECRETARY)


# The role groups' names in the reader's language: the groups keep their English names in the
# database (the code finds them by those), and every page naming a role says it with these.
ROLE_NAMES = {
    Role.MANAGER: gettext_lazy("Manager"),
    Role.SUPERVISOR: gettext_lazy("Supervisor"),
    Role.PARTY_SECRETARY: gettext_lazy("Village party secretary"),
    Role.TOWNSHIP_OFFICER: gettext_lazy("Township officer"),
    Role.COUNTY_ADMIN: gettext_lazy("County admin"),
}


def role_name(name: str) -> str:
    """A role group's name in the reader's language; another group's as it is written."""
    return str(ROLE_NAMES.get(name, name))


def user_roles(user) -> frozenset[str]:
    """The user's role group names: read with the session's user (villagers.auth.session_user
    annotates `role_names`), else asked for once and kept on the user for the request."""
    if not user.is_authenticated:
        return frozenset()
    names = getattr(user, "role_names", None)
    if names is None:
        names = list(user.groups.filter(name__in=Role.ALL).values_list("name", flat=True))
        user.role_names = names
    return frozenset(names)


def is_manager(user) -> bool:
    return user.is_staff and Role.MANAGER in user_roles(user)


def is_supervisor(user) -> bool:
    return user.is_staff and Role.SUPERVISOR in user_roles(user)


def is_county_admin(user) -> bool:
    return user.is_staff and Role.COUNTY_ADMIN in user_roles(user)


def is_township_officer(user) -> bool:
    return user.is_staff and Role.TOWNSHIP_OFFICER in user_roles(user)


def is_party_secretary(user) -> bool:
    return user.is_staff and Role.PARTY_SECRETARY in user_roles(user)


def is_overseer(user) -> bool:
    """A county admin of a county, or a township officer of a township: they look into the
    villages they oversee (one at a time, read-only) and decide what those send up."""
    return (is_county_admin(user) and user.county_id is not None) or (
        is_township_officer(user) and user.township_id is not None
    )


def oversees(user, village) -> bool:
    """Whether `user` oversees `village`: its county's admin, or its township's officer."""
    if (
        is_county_admin(user)
        and user.county_id is not None
        and user.county_id == village.township.county_id
    ):
        return True
    return (
        is_township_officer(user)
        and user.township_id is not None
        and user.township_id == village.township_id
    )


def is_villager(user) -> bool:
    """A household's own login (card number + PIN)."""
    return (
        user.is_authenticated
        and not user.is_staff
        and user.household_id is not None
        and user.village_id is not None
    )


def may_object(user) -> bool:
    """Who may object to an entry in its publicity period (异议): a villager of the village,
    its manager or its supervisor. The county, the township and the party secretary read.
    The objection page's decorator, `objector_required`, admits the same people."""
    return is_villager(user) or is_manager(user) or is_supervisor(user)


OVERSEERS = frozenset({Role.COUNTY_ADMIN, Role.TOWNSHIP_OFFICER})


def start_page(request) -> str | None:
    """The name of the page a signed-in user starts their day on, where `/` sends them and
    the title bar links straight (a round trip less); None for a user with no role. Read
    from what the request holds already (the user's roles, the village): no query. A request
    refused before its village was read (a middleware's 400) has none: the overview then."""
    user = request.user
    if is_villager(user):
        return "points:me"
    if is_overseer(user) and getattr(request, "village", None) is None:
        return "reports:county_overview"
    if user.is_staff and user_roles(user):
        return "reports:dashboard"
    if user.is_superuser:
        return "admin:index"
    return None


# What `Access.decide` answers.
OPEN, LOGIN, PICK, DENIED = "open", "login", "pick", "denied"


@dataclass(frozen=True)
class Access:
    """Who may open a view (see `access_required`), decided without running it."""

    roles: tuple[str, ...] = ()
    villager: bool = False
    county: bool = False
    township: bool = False

    def admits_anywhere(self, user) -> bool:
        """Whether `user` opens the view with no village picked: their own household's
        pages, or a county-wide or township-wide page."""
        return (
            (self.villager and is_villager(user))
            or (self.county and is_county_admin(user) and user.county_id is not None)
            or (self.township and is_township_officer(user) and user.township_id is not None)
        )

    def admits_overseer(self, role: str) -> bool:
        """Whether the county admin (`role` COUNTY_ADMIN) or a township officer
        (TOWNSHIP_OFFICER), looking into a village they oversee, opens the view: what the
        read-only API's token standing for them may read (reports.api)."""
        return (
            role in self.roles
            or (self.county and role == Role.COUNTY_ADMIN)
            or (self.township and role == Role.TOWNSHIP_OFFICER)
        )

    def decide(self, user, village) -> str:
        """OPEN, LOGIN (anonymous), PICK (an overseer who must first pick a village) or
        DENIED, for `user` working in `village` (None: none picked)."""
        if not user.is_authenticated:
            return LOGIN
        if self.admits_anywhere(user):
            return OPEN
        held = user_roles(user) & set(self.roles)
        if user.is_staff and held:
            if village is not None:
                return OPEN
            if held & OVERSEERS and is_overseer(user):
                return PICK
        return DENIED


def village_pick_url(next_url: str = "", village_id: int | None = None) -> str:
    """The village pick, coming back to `next_url` once a village (`village_id`, if given,
    the only one offered) is picked."""
    query = {"village": village_id or "", "next": next_url}
    query = {key: value for key, value in query.items() if value}
    url = reverse("villagers:village_pick")
    return f"{url}?{urlencode(query)}" if query else url


def access_required(
    *,
    roles: tuple[str, ...] = (),
    villager: bool = False,
    county: bool = False,
    township: bool = False,
):
    """The one access decorator: who may open a view, decided before it runs.

    - `roles`: staff holding one of them, working in a village (request.village, set by
      villagers.middleware); a county admin or township officer listed here must first pick
      a village, and comes back here once they have.
    - `villager`: a household's own login (its village is its own).
    - `county`: a county admin of a county, on a county-wide page (no village to pick).
    - `township`: a township officer of a township, on a page over its villages (the same).

    Anonymous users go to the login page (the card login where villagers may enter, the
    staff login elsewhere); anyone else not allowed gets 403. The rule is kept on the view
    (`view.access`) so pages link only where their reader may go (`link_for`).
    """
    access = Access(roles=tuple(roles), villager=villager, county=county, township=township)
    login_url = settings.CARD_LOGIN_URL if villager else None

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            decision = access.decide(request.user, request.village)
            if decision == OPEN:
                return view(request, *args, **kwargs)
            if decision == LOGIN:
                return _to_login(request, login_url)
            if decision == PICK:
                back = request.get_full_path() if request.method == "GET" else ""
                return redirect(village_pick_url(back))
            raise PermissionDenied

        wrapper.access = access
        return wrapper

    return decorator


# The tag of a message saying that what a form sent was not saved (templates/_messages.html
# marks it for static/js/send-once.js, which then keeps what was typed for the form's page).
SENT_LOST = "sent-lost"


def _to_login(request, login_url: str | None):
    """The login, then back to the page the person was on.

    A request of htmx (the household picker's search, the counter's boosted links) is
    answered with HX-Redirect, so that the whole page goes to the login and comes back to
    the page it was on: followed as a redirect, the login page was swapped into the part
    htmx asked for, which found nothing of it there and vanished without a word (a session
    expired mid-form). A form sent after the session ended comes back to the form's page
    (its Referer), not to the form's action: the login returned there by GET, which a
    button's address answers with "method not allowed". The login says that nothing was
    saved, and marks its message (SENT_LOST) so that static/js/send-once.js puts what was
    typed back in the form once the person has signed in again: a wish written on a page
    left open overnight landed on the login without a word, and came back empty."""
    if request.headers.get("HX-Request") == "true":
        back = page_it_was_on(request, request.headers.get("HX-Current-URL", "")) or request.path
        response = HttpResponse(status=204)
        response["HX-Redirect"] = redirect_to_login(back, login_url).url
        return response
    if request.method in ("GET", "HEAD"):
        return redirect_to_login(request.get_full_path(), login_url)
    back = page_it_was_on(request, request.headers.get("Referer", "")) or "/"
    # No cause named: a page left open overnight, a card recalled or a PIN changed elsewhere
    # all end the sign-in, and the server cannot tell which it was.
    messages.warning(
        request,
        _(
            "You were no longer signed in, so what you sent was not saved. Sign in, and send "
            "it again."
        ),
        extra_tags=SENT_LOST,
    )
    return redirect_to_login(back, login_url)


def access_of(url: str) -> Access | None:
    """The access rule of the view at `url` (a path of this site); None when it has none
    (a public page, or one that checks for itself)."""
    try:
        match = resolve(urlsplit(url).path)
    except Resolver404:
        return None
    return getattr(match.func, "access", None)


def link_for(request, url: str, village_id: int | None = None) -> str:
    """Where a link to `url`, a page about something of village `village_id`, points for
    the request's reader: the page itself; the village pick first, for a county admin or
    township officer not yet looking into that village; or "" when they may not open it
    (show the words, not a link)."""
    access = access_of(url)
    if access is None:
        return url
    user = request.user
    if access.admits_anywhere(user):
        return url
    decision = access.decide(user, request.village)
    if not is_overseer(user):
        return url if decision == OPEN else ""
    if decision not in (OPEN, PICK) or village_id is None:
        return ""  # a village's page about nothing of a village they can pick: no link
    if request.village is not None and request.village.pk == village_id:
        return url
    return village_pick_url(url, village_id)


class OtherVillageObject(Http404):
    """An address naming an object of another village than the one the reader works in (an
    activity's QR code scanned in the next village, a receipt's number or a household's page
    passed on): a 404 whose page says so, naming nothing of the object (aidao.views.
    page_not_found). `kind` is the object's model (its label, "villagers.household"), `what`
    its name; `village_id` its village, which a county admin or township officer overseeing
    it is offered to pick."""

    def __init__(self, model, village_id: int):
        super().__init__(model._meta.verbose_name)
        self.kind = model._meta.label_lower
        self.what = model._meta.verbose_name
        self.village_id = village_id


def village_object_or_404(queryset, village, *, village_field: str = "village", **lookup):
    """`get_object_or_404(queryset, **lookup)`, the queryset scoped by the view's helper to
    the request's village (and reader); when what was asked for is another village's
    (`village_field` the path to its village), OtherVillageObject. Asked only on a miss:
    a page found costs no query more. Another household's object of the same village
    stays a bare 404, as if it did not exist, as does an object of no village (a county's
    export)."""
    try:
        return get_object_or_404(queryset, **lookup)
    except Http404:
        model = getattr(queryset, "model", queryset)  # a queryset, a manager or a model
        elsewhere = (
            model._default_manager.filter(**lookup, **{f"{village_field}__isnull": False})
            .exclude(**{village_field: village})
            .values_list(village_field, flat=True)
            .first()
        )
        if elsewhere is None:
            raise
        raise OtherVillageObject(model, elsewhere) from None


def signed_in_required(view):
    """Anyone signed in, for a view that decides the rest itself (an export: its requester
    only). The signed-out go to the login as `access_required` sends them: Django's
    login_required said nothing of a form sent after the sign-in had ended."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return _to_login(request, None)
        return view(request, *args, **kwargs)

    return wrapper


def staff_required(*roles: str):
    """Staff holding one of `roles` in a village; the county admin only reads, once in one."""
    return access_required(roles=roles)


# A household's villager login only.
villager_required = access_required(villager=True)

# Anyone who belongs to the request's village: its villagers and staff (the public pages).
member_of_village_required = access_required(roles=Role.ALL, villager=True)

# Those who may object to an entry in its publicity period: the same people as `may_object`.
objector_required = access_required(roles=(Role.MANAGER, Role.SUPERVISOR), villager=True)

# A county administrator with a county; no village needs to be picked.
county_admin_required = access_required(county=True)

# A county admin or a township officer, over the villages they oversee (no village picked).
overseer_required = access_required(county=True, township=True)
