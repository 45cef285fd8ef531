"""Files stored by a write that then fails are deleted again: nothing orphaned in storage.

A photo is saved to storage inside the write's transaction, before the commit, and deleted
if the block fails. The other order (save it in `transaction.on_commit`) was not taken: a
storage failure after the commit (a full disk, the object store down) would leave a committed
row naming a photo that does not exist, after the user was told it worked. Saved first, the
database never names a missing file; a failed write deletes what it stored.

Django has no hook on rollback, so the block that stores a file deletes it when an exception
leaves the block (its transaction rolled back). Blocks nest: when a service's block succeeds
inside another (`run_once`'s transaction around the service), its files pass to the outer
block, which deletes them if it fails in turn. A caller that wraps a service in a transaction
of its own should open its own `discard_files_on_error()` around it.

Whether a file sent is the one stored (`file_as_stored`) is read from its bytes: every upload
is stored under a new name, so the same photo sent twice (a double click, a second tab) is
named anew, and two photos are told apart only by what they hold.
"""

import hashlib
import logging
import threading
from contextlib import contextmanager

from django.db.models.fields.files import FieldFile

logger = logging.getLogger(__name__)
_local = threading.local()


@contextmanager
def discard_files_on_error():
    """A block whose stored files (see `file_stored`) are deleted if an exception leaves it."""
    stack = _local.__dict__.setdefault("stack", [])
    stored: list[tuple] = []
    stack.append(stored)
    try:
        yield
    except BaseException:
        for storage, name in stored:
            try:
                storage.delete(name)
            except Exception:  # a failed cleanup must not hide the error that caused it
                logger.exception("could not delete %s after a failed write", name)
        raise
    else:
        if len(stack) > 1:
            stack[-2].extend(stored)
    finally:
        stack.pop()


def file_stored(field_file: FieldFile) -> None:
    """Note that `field_file` was just saved to its storage by the innermost open block."""
    stack = getattr(_local, "stack", None)
    if not stack:
        raise RuntimeError("file_stored() needs an enclosing discard_files_on_error()")
    stack[-1].append((field_file.storage, field_file.name))


def file_digest(file) -> str:
    """The SHA-256 of a file's bytes, from its start; the file is left open at its start (an
    upload is still to be stored)."""
    digest = hashlib.sha256()
    for chunk in file.chunks():
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest()


def file_as_stored(sent, stored: FieldFile) -> bool:
    """Whether a file field's value `sent` is the file `stored` in the row: the same file (by
    name; none or cleared, when none is stored), or a new upload holding the very bytes
    stored (prepared as the stored one was: a photo re-encoded by core.photos.photo_prepare).
    A stored file that cannot be read (missing, or its object store failing with an error of
    its own, as botocore's are, not an OSError) is not that upload: the send is then treated as
    new, never refused for it."""
    sent_name, stored_name = getattr(sent, "name", None) or "", stored.name or ""
    if sent_name == stored_name:
        return True
    if not sent or not stored_name:
        return False
    try:
        with stored.storage.open(stored_name, "rb") as kept:
            return file_digest(kept) == file_digest(sent)
    except Exception:  # whatever the storage raises: the photo is then simply not the same
        logger.warning("could not read %s to compare an upload with it", stored_name, exc_info=True)
        return False
