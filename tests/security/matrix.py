"""Discovering every URL pattern and turning the URL table into concrete requests."""

import inspect
import operator
from dataclasses import dataclass

from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.security.conftest import ROLES
from tests.security.url_table import ADMIN_MODELS, UNNAMED, URLS, AdminModel, Row, expect

ADMIN_OPS = ("changelist", "add", "change", "delete", "history")
NON_STAFF = ("anon", "villager_a", "villager_b")


@dataclass(frozen=True)
class Pattern:
    name: str | None  # namespaced, e.g. "points:proposal_detail"
    route: str  # the full route, e.g. "points/proposals/<int:pk>/"


def discover(patterns=None, prefix: str = "", namespace: str | None = None) -> list[Pattern]:
    """Every URL pattern of the project, walking includes (the admin's too) recursively."""
    found = []
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = entry.namespace
            joined = f"{namespace}:{inner}" if namespace and inner else (inner or namespace)
            found.extend(discover(entry.url_patterns, route, joined))
        elif isinstance(entry, URLPattern):
            name = entry.name and (f"{namespace}:{entry.name}" if namespace else entry.name)
            found.append(Pattern(name=name, route=route))
    return found


def _resolve(cast, path: str):
    """'household_a.account' or 'item.movements.first' -> the object on the cast."""
    value = cast
    for part in path.split("."):
        value = value[part] if isinstance(value, dict) else getattr(value, part)
        if inspect.ismethod(value):
            value = value()
    return value


def _admin_model_of(pattern: Pattern) -> tuple[str, str, str] | None:
    """(model label, op, "named"/"legacy") for a per-model admin URL, else None."""
    for model in admin.site._registry:
        opts = model._meta
        base = f"admin:{opts.app_label}_{opts.model_name}_"
        label = opts.label_lower
        if pattern.name and pattern.name.startswith(base):
            return label, pattern.name.removeprefix(base), "named"
        if pattern.name is None and pattern.route.startswith(
            f"admin/{opts.app_label}/{opts.model_name}/"
        ):
            return label, "legacy", "legacy"
    if pattern.name == "admin:auth_user_password_change":
        return "villagers.user", "password", "named"
    return None


def _admin_expect(rule: AdminModel, op: str) -> dict[str, str]:
    """Django's admin decisions, from the rule's permissions and scoping."""
    has = {name: set(getattr(rule, name).split()) for name in ("view", "add", "change", "delete")}
    sees = set(rule.sees.split())
    out = {}
    for role in ROLES:
        if role in NON_STAFF:
            out[role] = "A"
            continue
        look = role in has["view"] or role in has["change"]
        if op == "changelist":
            out[role] = "200" if look else "403"
        elif op == "add":
            out[role] = "200" if role in has["add"] else "403"
        elif op in ("change", "delete", "password"):
            needed = {"change": look, "delete": role in has["delete"]}.get(
                op, role in has["change"]
            )
            out[role] = "403" if not needed else ("200" if role in sees else "R")
            if op == "password" and needed and role not in sees:
                out[role] = "404"
        elif op == "history":
            out[role] = "R" if role not in sees else ("200" if look else "403")
        elif op == "legacy":
            out[role] = "R"
    return out


@dataclass(frozen=True)
class Request:
    key: str  # the table key: the URL name, or the route of an unnamed pattern
    url: str
    get: dict[str, str]
    post: dict[str, str] | None
    data: dict
    action: bool


def requests_for(cast, patterns: list[Pattern]) -> tuple[list[Request], list[str]]:
    """Concrete requests for every pattern, and the patterns the table has no row for."""
    built, missing = [], []
    for pattern in patterns:
        admin_model = _admin_model_of(pattern)
        if admin_model is not None:
            label, op, kind = admin_model
            rule = ADMIN_MODELS.get(label)
            if rule is None or (op not in ADMIN_OPS and op not in ("legacy", "password")):
                missing.append(pattern.name or pattern.route)
                continue
            obj_pk = _resolve(cast, rule.obj).pk
            app_label, model_name = label.split(".")
            if kind == "legacy":
                url = f"/admin/{app_label}/{model_name}/{obj_pk}/"
            elif op in ("changelist", "add"):
                url = reverse(pattern.name)
            else:
                key = "id" if op == "password" else "object_id"
                url = reverse(pattern.name, kwargs={key: obj_pk})
            expected = _admin_expect(rule, op)
            built.append(Request(pattern.name or pattern.route, url, expected, None, {}, False))
            continue
        if pattern.name is None:
            if pattern.route not in UNNAMED:
                missing.append(pattern.route)
                continue
            make_url, tokens = UNNAMED[pattern.route]
            built.append(Request(pattern.route, make_url(cast), expect(tokens), None, {}, False))
            continue
        row: Row | None = URLS.get(pattern.name)
        if row is None:
            missing.append(pattern.name)
            continue
        url = reverse(pattern.name, kwargs=row.kwargs(cast)) + row.query
        built.append(
            Request(
                pattern.name,
                url,
                expect(row.get),
                expect(row.post) if row.post else None,
                row.data(cast),
                row.action,
            )
        )
    return sorted(built, key=operator.attrgetter("key")), missing


def outcome(response) -> str:
    """The response as a table token."""
    if response.status_code in (301, 302):
        location = response.headers["Location"]
        if location.startswith((reverse("login"), reverse("card_login"))):
            return "L"
        if location.startswith(reverse("admin:login")):
            return "A"
        if location.startswith(reverse("villagers:village_pick")):
            return "P"
        return "R"
    return str(response.status_code)
