"""Files stored inside a failed write are deleted, also when the failure comes after the
block that stored them succeeded inside another (a service inside run_once's transaction)."""

from types import SimpleNamespace

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from core.files import discard_files_on_error, file_as_stored, file_stored


class Failed(Exception):
    pass


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def store(name: str) -> SimpleNamespace:
    """A file saved to storage: its storage and name, as a FieldFile has them once saved."""
    return SimpleNamespace(
        storage=default_storage, name=default_storage.save(name, ContentFile(b"photo"))
    )


def test_a_failed_block_deletes_what_it_stored():
    with pytest.raises(Failed), discard_files_on_error():
        photo = store("evidence/a.jpg")
        file_stored(photo)
        raise Failed
    assert not default_storage.exists(photo.name)


def test_a_block_that_succeeds_keeps_its_files():
    with discard_files_on_error():
        photo = store("evidence/b.jpg")
        file_stored(photo)
    assert default_storage.exists(photo.name)


def test_the_outer_block_failing_deletes_what_an_inner_block_stored():
    with pytest.raises(Failed), discard_files_on_error():
        with discard_files_on_error():
            photo = store("evidence/c.jpg")
            file_stored(photo)
        kept = store("evidence/not-ours.jpg")  # stored, but never handed to the block
        raise Failed
    assert not default_storage.exists(photo.name)
    assert default_storage.exists(kept.name)


def test_an_inner_failure_caught_outside_leaves_the_outer_files_alone():
    with discard_files_on_error():
        outer = store("evidence/d.jpg")
        file_stored(outer)
        with pytest.raises(Failed), discard_files_on_error():
            inner = store("evidence/e.jpg")
            file_stored(inner)
            raise Failed
    assert default_storage.exists(outer.name)
    assert not default_storage.exists(inner.name)


def test_a_stored_file_outside_any_block_is_a_mistake():
    with pytest.raises(RuntimeError):
        file_stored(store("evidence/f.jpg"))


class ObjectStoreDown(Exception):
    """An object store's own error (botocore's are not OSErrors)."""


class FailingStorage:
    def open(self, name, mode="rb"):
        raise ObjectStoreDown(name)


@pytest.mark.parametrize(
    "storage", [default_storage, FailingStorage()], ids=["missing", "store failing"]
)
def test_a_stored_file_that_cannot_be_read_is_not_the_upload(storage):
    stored = SimpleNamespace(storage=storage, name="evidence/gone.jpg")
    assert file_as_stored(ContentFile(b"photo", name="image.jpg"), stored) is False


def test_a_stored_file_holding_the_same_bytes_is_the_upload():
    stored = store("evidence/kept.jpg")
    assert file_as_stored(ContentFile(b"photo", name="image.jpg"), stored) is True
    assert file_as_stored(ContentFile(b"other", name="image.jpg"), stored) is False
