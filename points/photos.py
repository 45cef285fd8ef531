"""Checking uploaded photo evidence: a real image, of an accepted type, not too large."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

ACCEPTED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}


def photo_validate(upload) -> str:
    """Raise a clear ValidationError unless `upload` is a JPEG/PNG/WebP within the size limit.

    Returns the file extension matching the real image type (never trust the uploaded name).
    """
    limit = settings.MAX_PHOTO_BYTES
    if upload.size > limit:
        raise ValidationError(
            _("The photo is too large (%(size)s MB); the limit is %(limit)s MB.")
            % {"size": round(upload.size / 1_048_576, 1), "limit": round(limit / 1_048_576, 1)},
            code="photo_too_large",
        )
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            image_format = image.format
            image.verify()
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,  # a tiny file claiming billions of pixels
    ) as error:
        raise ValidationError(
            _("This file is not a photo we can read. Please send a JPEG, PNG or WebP picture."),
            code="photo_not_image",
        ) from error
    finally:
        upload.seek(0)
    if image_format not in ACCEPTED_FORMATS:
        raise ValidationError(
            _("Photos must be JPEG, PNG or WebP (this one is %(format)s).")
            % {"format": image_format},
            code="photo_bad_type",
        )
    return ACCEPTED_FORMATS[image_format]
