"""One-time form keys: a double-clicked, re-sent or twice-opened POST has exactly one effect.

A form that moves points or goods carries a hidden key made when the page was drawn
(`OneTimeKeyMixin`, or `{% one_time_key %}` for a bare form); its view runs the effect
through `run_once`, which stores the key with the effect in one transaction.
"""

import re
import secrets
from collections.abc import Callable

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from core.files import discard_files_on_error, file_digest
from core.models import IdempotencyKey

FIELD_NAME = "idempotency_key"
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_IGNORED_FIELDS = {"csrfmiddlewaretoken", FIELD_NAME}


def idempotency_key_new() -> str:
    return secrets.token_urlsafe(24)


def _request_body(request) -> str:
    """What a request asks, as the fingerprint reads it: its target, its fields and its
    uploads (by name and content: two photos of one size from a phone that names every
    photo image.jpg are two), without the CSRF token and key."""
    parts = [f"{request.path}\x01"]
    for name in sorted(request.POST):
        if name in _IGNORED_FIELDS:
            continue
        for value in request.POST.getlist(name):
            parts.append(f"{name}\x00{value}\x01")
    for name in sorted(request.FILES):
        for upload in request.FILES.getlist(name):
            parts.append(f"{name}\x00{upload.name}\x00{file_digest(upload)}\x01")
    return "".join(parts)


def request_fingerprint(request, secret=None, body: str | None = None) -> str:
    """A keyed hash (HMAC) of the request's body (`_request_body`), under the site's key (or
    `secret`).

    The path is part of it: the same key sent to reverse another entry is another request.
    Keyed, as core.edit_forms.row_digest: a body may hold a PIN (a card issued, a PIN reset,
    a member's own PIN), which a plain hash of its million possible values would give away.
    """
    return salted_hmac(
        "core.idempotency.request",
        _request_body(request) if body is None else body,
        secret=secret,
        algorithm="sha256",
    ).hexdigest()


def _fingerprint_matches(stored: str, request, fingerprint: str) -> bool:
    """Whether `stored` is this request's `fingerprint`, or its fingerprint under a key the
    site had before (settings.SECRET_KEY_FALLBACKS, as Django's signing accepts): a form
    sent before the key was changed and sent again after it is the same form."""
    if constant_time_compare(stored, fingerprint):
        return True
    body = _request_body(request) if settings.SECRET_KEY_FALLBACKS else ""
    return any(
        constant_time_compare(stored, request_fingerprint(request, secret=old, body=body))
        for old in settings.SECRET_KEY_FALLBACKS
    )


def key_used(request) -> bool:
    """Whether this POST's form key has already had its effect (`run_once` will replay it)."""
    key = request.POST.get(FIELD_NAME, "")
    return bool(KEY_PATTERN.fullmatch(key)) and (
        IdempotencyKey.objects.filter(user=request.user, key=key).exists()
    )


def run_once(request, action: Callable[[], str]) -> tuple[str, bool]:
    """Run `action` (which returns the URL of its result) once per (user, form key).

    Returns (url, replayed). The key row and the action commit together, so a failed action
    leaves the key free for a corrected resubmission. The same key with another body is
    refused; a POST without a key (a page drawn before keys, a script) is refused too.
    Files the action stores are deleted if the transaction fails after it returned.
    """
    key = request.POST.get(FIELD_NAME, "")
    if not KEY_PATTERN.fullmatch(key):
        raise ValidationError(
            _("This form has expired. Please reload the page and try again."), code="no_key"
        )
    fingerprint = request_fingerprint(request)
    with discard_files_on_error(), transaction.atomic():
        # A concurrent twin blocks on the unique index until we commit, then finds our row.
        record, created = IdempotencyKey.objects.get_or_create(
            user=request.user, key=key, defaults={"request_hash": fingerprint}
        )
        if not created:
            if not _fingerprint_matches(record.request_hash, request, fingerprint):
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


def already_sent(request) -> None:
    """Say that the same form was sent before (a double click, a retry): `run_once` replayed
    it, or the row already holds what it sends; it was saved then, not again."""
    messages.info(request, _("This was already sent; nothing was recorded twice."))


def said_once(request, replayed: bool, done) -> None:
    """What a page says after `run_once`: `done` when the effect was taken now, that it was
    already sent when this POST replayed an earlier one."""
    if replayed:
        already_sent(request)
    else:
        messages.success(request, done)


class OneTimeKeyMixin(forms.Form):
    """A hidden one-time key so a double-clicked or re-sent POST has a single effect.

    A form shown again after a refusal keeps the key it was sent with: the refused attempt
    stored nothing, so the corrected form may use it.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[FIELD_NAME] = forms.CharField(
            widget=forms.HiddenInput, initial=idempotency_key_new(), required=False
        )
