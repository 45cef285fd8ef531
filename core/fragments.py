"""Rendered page parts kept in the cache under keys made of exactly what they show.

A view first asks the database, in one cheap query, for a fingerprint of the rows a part
shows (core.sql.rows_digest: a digest of every column of those rows) and renders the part only
when that fingerprint is new. A changed fingerprint is a new key, so a stale part is never
served, whichever field of those rows changed, and each app server may keep its own cache.
The key also holds a digest of the code that draws the parts (`code_fingerprint`): a shared
cache (Redis) outlives an upgrade, and served the old layout for a day after it.
"""

import functools
import hashlib
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.middleware.csrf import get_token
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

# Rendered in place of the CSRF token in cached parts with forms, filled in per request.
# Letters and digits only, so HTML escaping leaves it as it is.
CSRF_SLOT = "csrfslot7c1e9a4b"


# What draws a part: the apps' code, the templates and the compiled translations.
CODE_DIRS = (
    "aidao",
    "core",
    "notifications",
    "points",
    "reports",
    "store",
    "villagers",
    "wishwall",
    "templates",
    "locale",
)
CODE_SUFFIXES = frozenset({".py", ".html", ".mo"})


def code_digest(root: Path) -> str:
    """A digest of the code under `root` that draws the cached parts (`CODE_DIRS`)."""
    digest = hashlib.sha256()
    for name in CODE_DIRS:
        for path in sorted((root / name).rglob("*")):
            if path.suffix in CODE_SUFFIXES and "migrations" not in path.parts:
                digest.update(str(path.relative_to(root)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@functools.cache
def code_fingerprint() -> str:
    """This release's `code_digest`, read once a process (a few hundred files, some 30 ms)."""
    return code_digest(Path(settings.BASE_DIR))


def cached_part(name: str, fingerprint: str, render, timeout: int):
    """The cached part `name` for `fingerprint` (and the active language and the code that
    draws it), else `render()`."""
    state = f"{name}:{get_language()}:{code_fingerprint()}:{fingerprint}"
    key = f"part:{name}:" + hashlib.sha256(state.encode()).hexdigest()
    part = cache.get(key)
    if part is None:
        part = render()
        cache.set(key, part, timeout)
    return part


def csrf_fill(html: str, request) -> SafeString:
    """A cached part rendered with CSRF_SLOT, with this request's token in its forms (only
    in the token's hidden field: an item named after the slot stays as it was typed)."""
    slot = f'name="csrfmiddlewaretoken" value="{CSRF_SLOT}"'
    filled = f'name="csrfmiddlewaretoken" value="{get_token(request)}"'
    # Safe: our own rendered template, and a token of letters and digits.
    return mark_safe(html.replace(slot, filled))  # noqa: S308
