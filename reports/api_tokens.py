"""Tokens of the read-only API (reports/api.py): made and revoked by the county admin.

A token stands for its county's admin or its township's officer (token_role): it reads the
villages they oversee (villagers.oversight), and there only what their pages show them.
The key is shown once; only its SHA-256 is stored.
"""

import hashlib
import secrets

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.access import Role, is_county_admin
from core.audit import audit_record
from reports.models import ApiToken
from villagers.models import County, Township, User
from villagers.oversight import Oversight


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_create(
    *,
    name: str,
    actor: User,
    county: County | None = None,
    township: Township | None = None,
) -> tuple[ApiToken, str]:
    """A new token for the county or one of its townships, and its key (shown this once)."""
    if not (is_county_admin(actor) and actor.county_id is not None):
        raise PermissionDenied(_("Only a county admin makes API tokens."))
    if (county is None) == (township is None):
        raise ValidationError(_("Give the token a county or a township, not both."))
    if (county.pk if county else township.county_id) != actor.county_id:
        raise PermissionDenied(_("A county admin makes tokens of their own county only."))
    name = (name or "").strip()
    if not name:
        raise ValidationError(_("Give the token a name: who uses it."))
    key = secrets.token_urlsafe(32)
    while key.startswith("-"):  # its start is typed after `api_token revoke`: no option
        key = secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            name=name[:100],
            county=county,
            township=township,
            prefix=key[:8],
            key_hash=_digest(key),
            created_by=actor,
        )
        audit_record(
            action="api_token.create",
            actor=actor,
            obj=token,
            detail={"name": token.name, "scope": token_scope_name(token), "prefix": token.prefix},
        )
    return token, key


def api_token_revoke(*, token: ApiToken, actor: User) -> ApiToken:
    """Stop a token for good: from the next call on, it is refused."""
    if not (is_county_admin(actor) and actor.county_id == token_county_id(token)):
        raise PermissionDenied(_("A county admin revokes tokens of their own county only."))
    with transaction.atomic():
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        audit_record(
            action="api_token.revoke", actor=actor, obj=token, detail={"prefix": token.prefix}
        )
    token.refresh_from_db()
    return token


def api_token_for_key(key: str) -> ApiToken | None:
    """The live token of this key, or None."""
    if not key:
        return None
    return (
        ApiToken.objects.select_related("county", "township")
        .filter(key_hash=_digest(key), revoked_at__isnull=True)
        .first()
    )


def api_token_revoked_for_key(key: str) -> ApiToken | None:
    """The revoked token of this key, or None: a call refused with it is that token's."""
    if not key:
        return None
    return ApiToken.objects.filter(key_hash=_digest(key), revoked_at__isnull=False).first()


def token_oversight(token: ApiToken) -> Oversight:
    if token.township_id is not None:
        return Oversight(township_id=token.township_id)
    return Oversight(county_id=token.county_id)


# The roles a token stands for: the county's admin, or a township's officer.
TOKEN_ROLES = (Role.COUNTY_ADMIN, Role.TOWNSHIP_OFFICER)


def token_role(token: ApiToken) -> str:
    """The role the token stands for: it reads what that role's pages show, no more."""
    return Role.TOWNSHIP_OFFICER if token.township_id is not None else Role.COUNTY_ADMIN


def token_county_id(token: ApiToken) -> int:
    return token.county_id if token.county_id is not None else token.township.county_id


def token_scope_name(token: ApiToken) -> str:
    return token.township.name if token.township_id is not None else token.county.name
