"""Checking and cleaning uploaded photos (evidence, declarations, wishes, goods) before storing.

The type is decided by Pillow reading the content, not by the file name, and the photo is
re-encoded as a JPEG without metadata: phone photos carry the GPS position of the house.
"""

from io import BytesIO

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

# "MPO" is a JPEG with a second image after it (many Samsung and LG phones, an iPhone's
# portrait mode): Pillow opens its first image, and only that one is stored, as a JPEG.
ALLOWED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP"}
MAX_PIXELS = 40_000_000  # refuses decompression bombs long before Pillow's own limit
# The major brands of a HEIF photo (HEIC), as many phones save them: Pillow cannot read it
# here, and neither can most Android browsers, so it is named for what it is, with a way out.
HEIF_BRANDS = {
    b"heic",
    b"heix",
    b"heim",
    b"heis",
    b"hevc",
    b"hevx",
    b"hevm",
    b"hevs",
    b"mif1",
    b"msf1",
}
MAX_EDGE = 1600  # enough for a phone screen or a printed poster, small enough for 3G
TARGET_BYTES = 400 * 1024  # what the phone aims for when it shrinks a photo before sending


class FilesChosenAgainMixin:
    """A form drawn again after a refusal says, under each file box whose file was sent,
    that it must be chosen again: no browser keeps a chosen file across pages, and the box
    showed "No file chosen" only (found by a probe: a proposal refused for its reason, the
    reason corrected and sent, went without the photo chosen before). Every form with a
    file field takes this first among its bases."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if isinstance(field, forms.FileField) and self.files.get(self.add_prefix(name)):
                note = _("The file chosen before was not kept: choose it again before sending.")
                field.help_text = f"{note} {field.help_text}".strip()


class PhotoInput(forms.ClearableFileInput):
    """A photo field the phone shrinks before sending (static/js/photo-upload.js): longest
    side MAX_EDGE, JPEG, about TARGET_BYTES, with a progress bar and a cancel button, and the
    size limit checked before anything is sent. The album and the camera are both offered
    (no `capture`, which on many Android phones hides the album). Without JavaScript the
    original is sent and `photo_validate` applies the limit. The words the script shows come
    with the field, translated."""

    def __init__(self, attrs=None):
        super().__init__({"accept": "image/*", **(attrs or {})})

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["attrs"].update(
            {
                "data-photo-shrink": str(MAX_EDGE),
                "data-photo-target": str(TARGET_BYTES),
                "data-photo-max-bytes": str(settings.MAX_PHOTO_BYTES),
                "data-text-preparing": _("Making the photo smaller…"),
                "data-text-sending": _("Sending…"),
                "data-text-cancel": _("Cancel"),
                "data-text-cancelled": _("Sending was cancelled. Nothing was saved."),
                "data-text-failed": _("The connection failed. Nothing was saved; try again."),
                "data-text-heic": heic_refusal(),
                "data-text-too-large": _(
                    "The photo is %(size)s; the largest allowed is %(limit)s."
                ).replace("%(limit)s", filesizeformat(settings.MAX_PHOTO_BYTES)),
            }
        )
        return context


def heic_refusal() -> str:
    """What a HEIC photo is answered, by the server and by the phone's script alike."""
    return _(
        "This photo is in the HEIC format some phones save photos in, which cannot be opened "
        "here. Take a screenshot of the photo and send the screenshot, or set the phone's "
        "camera to save JPG photos."
    )


def _is_heif(upload) -> bool:
    """Whether the file is a HEIF photo (a box `ftyp` of a HEIF brand at its start)."""
    upload.seek(0)
    head = upload.read(12)
    upload.seek(0)
    return head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS


def photo_validate(upload) -> None:
    """Refuse a file that is too large or is not a real photo (whatever its name says)."""
    limit = settings.MAX_PHOTO_BYTES
    if upload.size > limit:
        raise ValidationError(
            _("The photo is %(size)s; the largest allowed is %(limit)s.")
            % {"size": filesizeformat(upload.size), "limit": filesizeformat(limit)},
            code="photo_too_large",
        )
    not_a_photo = ValidationError(
        _("This file is not a photo. Choose a JPEG, PNG or WebP picture."), code="not_a_photo"
    )
    upload.seek(0)
    try:
        with Image.open(upload) as image:
            if image.format not in ALLOWED_FORMATS:
                raise not_a_photo
            if image.width * image.height > MAX_PIXELS:
                raise ValidationError(
                    _("The photo has too many pixels; take it again at a lower resolution."),
                    code="photo_too_many_pixels",
                )
            image.verify()
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        if _is_heif(upload):
            raise ValidationError(heic_refusal(), code="photo_heic") from None
        raise not_a_photo from None
    finally:
        upload.seek(0)


def photo_prepare(upload, name: str = "photo") -> ContentFile:
    """A validated, downsized JPEG copy of the upload with no metadata (EXIF, GPS); of a
    file holding several images (MPO), the first."""
    photo_validate(upload)
    try:
        with Image.open(upload) as image:
            image.seek(0)
            image = ImageOps.exif_transpose(image)
            image.thumbnail((MAX_EDGE, MAX_EDGE))
            if image.mode != "RGB":
                image = image.convert("RGB")
            buffer = BytesIO()
            image.save(buffer, format="JPEG", quality=82, optimize=True)
    except (OSError, SyntaxError, ValueError) as error:
        # A truncated file can pass verify() and fail only when decoded.
        raise ValidationError(
            _("This file is not a photo. Choose a JPEG, PNG or WebP picture."),
            code="not_a_photo",
        ) from error
    finally:
        upload.seek(0)
    return ContentFile(buffer.getvalue(), name=f"{name}.jpg")
