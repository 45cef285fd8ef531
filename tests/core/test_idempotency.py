"""One-time form keys (core.idempotency): what the key's row keeps of the form it came with."""

import hashlib
import importlib

from django.urls import reverse

from core.models import IdempotencyKey
from tests.conftest import form_key
from tests.factories import MemberFactory
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
