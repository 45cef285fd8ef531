"""One-time form keys: a double-clicked or re-sent POST has exactly one effect."""

import hashlib
import re
import secrets
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from points.models import IdempotencyKey

FIELD_NAME = "idempotency_key"
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_IGNORED_FIELDS = {"csrfmiddlewaretoken", FIELD_NAME}


def idempotency_key_new() -> str:
    return secrets.token_urlsafe(24)


def request_fingerprint(request) -> str:
    """A hash of the target and the POST body (fields, uploads), without the CSRF token and key.

    The path is part of it: the same key sent to reverse another entry is another request.
    """
    digest = hashlib.sha256()
    digest.update(f"{request.path}\x01".encode())
    for name in sorted(request.POST):
        if name in _IGNORED_FIELDS:
            continue
        for value in request.POST.getlist(name):
            digest.update(f"{name}\x00{value}\x01".encode())
    for name in sorted(request.FILES):
        for upload in request.FILES.getlist(name):
            digest.update(f"{name}\x00{upload.name}\x00{upload.size}\x01".encode())
    return digest.hexdigest()


def run_once(request, action: Callable[[], str]) -> tuple[str, bool]:
    """Run `action` (which returns the URL of its result) once per (user, form key).

    Returns (url, replayed). The key row and the action commit together, so a failed action
    leaves the key free for a corrected resubmission. The same key with another body is refused.
    """
    key = request.POST.get(FIELD_NAME, "")
    if not KEY_PATTERN.fullmatch(key):
        raise ValidationError(
            _("This form has expired. Please reload the page and try again."), code="no_key"
        )
    fingerprint = request_fingerprint(request)
    with transaction.atomic():
        # A concurrent twin blocks on the unique index until we commit, then finds our row.
        record, created = IdempotencyKey.objects.get_or_create(
            user=request.user, key=key, defaults={"request_hash": fingerprint}
        )
        if not created:
            if record.request_hash != fingerprint:
                raise ValidationError(
                    _(
                        "This form was already sent with different content. "
                        "Please reload the page and try again."
                    ),
                    code="key_reused",
                )
            return record.result_url, True
        url = action()
        record.result_url = url[:300]
        record.save(update_fields=["result_url"])
    return url, False
