"""One-time form keys (core.idempotency): what the key's row keeps of the form it came with."""

import hashlib
import importlib

from django.conf import settings
from django.contrib.messages import get_messages
from django.test import override_settings
from django.urls import reverse

from core.models import AuditEvent, IdempotencyKey
from tests.conftest import form_key
from tests.factories import MemberFactory
from tests.villagers.conftest import english  # noqa: F401 (fixture)
from villagers.models import Member


def _plain_fingerprint(path: str, pin: str) -> str:
    """A plain hash of a PIN form's body, as the key's row kept it before."""
    digest = hashlib.sha256()
    digest.update(f"{path}\x01".encode())
    for name in ("pin", "pin_again"):
        digest.update(f"{name}\x00{pin}\x01".encode())
    return digest.hexdigest()


def test_a_pin_sent_with_a_one_time_key_cannot_be_read_back_from_its_fingerprint(
    client_manager_x, card_a
):
    """Found while giving the PIN reset its key: the key's row kept a plain SHA-256 of the
    form's body, and a form that sets a PIN (a card issued, a member's own PIN) holds it in
    clear, so trying the ten thousand 4-digit PINs read it back from the database, which
    keeps the PIN itself only as a slow password hash. The fingerprint is keyed now."""
    son = MemberFactory(
        household=card_a.household,
        relation=Member.Relation.CHILD,
        birth_year=1995,
        id_number="",
        phone="",
    )
    url = reverse("villagers:member_pin", args=[son.pk])
    body = {"pin": "5813", "pin_again": "5813", "idempotency_key": form_key()}
    assert client_manager_x.post(url, body).status_code == 200
    stored = IdempotencyKey.objects.get(key=body["idempotency_key"]).request_hash
    found = [
        pin for pin in map("{:04d}".format, range(10_000)) if _plain_fingerprint(url, pin) == stored
    ]
    assert found == []


def test_the_fingerprints_kept_before_are_keyed_by_the_upgrade(manager_x):
    """Found by a second read: keying new fingerprints left the rows written before with
    their plain hash, a PIN in each of the PIN forms' rows. Migration core 0007 keys them."""
    from django.apps import apps

    migration = importlib.import_module("core.migrations.0007_fingerprints_keyed")
    url = "/villagers/members/1/pin/"
    old = IdempotencyKey.objects.create(
        user=manager_x, key=form_key(), request_hash=_plain_fingerprint(url, "5813")
    )
    migration.fingerprints_keyed(apps, None)
    old.refresh_from_db()
    assert len(old.request_hash) == 64
    assert [
        p
        for p in map("{:04d}".format, range(10_000))
        if _plain_fingerprint(url, p) == (old.request_hash)
    ] == []


def test_a_form_sent_again_after_the_sites_key_was_changed_is_the_same_form(
    client_manager_x,
    card_a,
    english,  # noqa: F811 (fixture)
):
    """Noted by the team: a key row's fingerprint is keyed by SECRET_KEY only, so a form sent
    before the key was changed (the old one kept in SECRET_KEY_FALLBACKS, as Django's docs
    say) and sent again after it read "already sent with different content". A fingerprint
    under a former key is accepted now, as Django's signing accepts it; another body still
    is not."""
    url = reverse("villagers:card_recall", kwargs={"pk": card_a.household_id})
    sent = {"reason": "搬走了", "idempotency_key": form_key()}
    assert client_manager_x.post(url, sent).status_code == 302

    rotated = override_settings(
        SECRET_KEY="a-new-key-after-the-old-one-was-changed-4a91d0c3e7b2",
        SECRET_KEY_FALLBACKS=[settings.SECRET_KEY],
    )
    with rotated:
        again = client_manager_x.post(url, sent)
        other = client_manager_x.post(url, {**sent, "reason": "去世了"})
    said = [str(message) for message in get_messages(again.wsgi_request)]
    assert again.status_code == 302
    assert said[-1] == "This was already sent; nothing was recorded twice."
    assert AuditEvent.objects.filter(action="card.recall").count() == 1
    assert other.status_code == 200 and "already sent with different content" in other.text
