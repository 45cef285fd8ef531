"""Upload checks for item photos (type by extension and content, size by settings)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _


def validate_photo_size(file) -> None:
    """Refuse photos larger than MAX_PHOTO_BYTES: they are slow to load on a village 3G phone."""
    limit = settings.MAX_PHOTO_BYTES
    if file and file.size > limit:
        raise ValidationError(
            _("The photo is too large (%(size)s); the limit is %(limit)s.")
            % {"size": filesizeformat(file.size), "limit": filesizeformat(limit)},
            code="photo_too_large",
        )
