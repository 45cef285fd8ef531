"""Hypothesis strategies for hostile input, built from a form's own fields.

One required field of each generated body is "poisoned" with a value that must be refused,
so every request is invalid: the answer must be a 4xx, a form page with an error, or (for a
POST-only action) a redirect back with a message, and the database must not change.
"""

import io
import struct
import zlib

from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import strategies as st
from PIL import Image

from core.forms import PinField

NASTY_STRINGS = [
    "",
    " ",
    "\u202eevil\u202c",  # right-to-left override
    "\u200b\u200c\u200d\ufeff",  # zero-width characters and a BOM
    "𠀀𪚥🧧",  # astral-plane characters
    "e\u0301\u0301\u0301",  # stacked combining marks
    "'; DROP TABLE villagers_household; --",
    "<script>alert(1)</script>",
    "{{ request }}{% debug %}",
    "../../../../etc/passwd",
    "%s%n%x",
    "１２３",  # full-width digits
    "²",
    "١٢٣",  # Arabic-Indic digits
    "-0",
    "NaN",
    "Infinity",
    "1e309",
    "9" * 40,
    "-" + "9" * 40,
    "0x1F",
    "\r\n\t",
    "\x01\x02\x7f",
]
# Numbers int() or Decimal() took as 3, 10 or 1000: no number field may take them.
OTHER_SCRIPT_NUMBERS = ["٣", "९", "৩", "1_0", "1e3", "1E3", "1 0", "٣.٥"]
HUGE_INTEGERS = st.sampled_from([2**31, 2**31 - 1, -(2**31) - 1, 2**63, -(2**63) - 1, 10**30])
hostile_text = st.one_of(
    st.sampled_from(NASTY_STRINGS),
    st.text(max_size=60),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=20),
    st.integers(min_value=500, max_value=20_000).map(lambda n: "長" * n),
)
hostile_number = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    HUGE_INTEGERS.map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    hostile_text,
)
hostile_date = st.one_of(
    st.dates().map(lambda day: day.isoformat()),
    st.sampled_from(["2024-02-30", "0000-00-00", "99999-12-31", "2024-13-01", "1-1-1"]),
    hostile_text,
)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb() -> bytes:
    """A few hundred bytes claiming 50 000 x 50 000 pixels (a decompression bomb's header)."""
    header = struct.pack(">IIBBBBB", 50_000, 50_000, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\x00" * 1000)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", body)
        + _png_chunk(b"IEND", b"")
    )


def _image_bytes(image_format: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (1, 2, 3)).save(buffer, format=image_format)
    return buffer.getvalue()


def bad_files() -> list[tuple[str, bytes, str]]:
    """(name, content, content type) of uploads that must be refused."""
    png = _image_bytes("PNG")
    return [
        ("photo.jpg", b"this is not an image at all", "image/jpeg"),
        ("photo.png", png[: len(png) // 2], "image/png"),  # truncated
        ("bomb.png", png_bomb(), "image/png"),
        ("anim.gif", _image_bytes("GIF"), "image/gif"),
        ("vector.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>', "image/svg"),
        ("empty.jpg", b"", "image/jpeg"),
        ("roster.xlsx", b"PK\x03\x04 not really a zip", "application/vnd.ms-excel"),
        ("photo.php.jpg", b"<?php system($_GET['c']); ?>", "image/jpeg"),
    ]


bad_file = st.sampled_from(bad_files()).map(
    lambda spec: SimpleUploadedFile(spec[0], spec[1], content_type=spec[2])
)


def _choice_values(field) -> list[str]:
    try:
        return [str(value) for value, _label in field.choices if value not in ("", None)][:20]
    except TypeError:
        return []


def value_for(field) -> st.SearchStrategy:
    """A plausible-or-hostile value for a form field (not necessarily invalid)."""
    if isinstance(field, forms.FileField):
        return bad_file
    if isinstance(field, forms.BooleanField):
        return st.sampled_from(["on", "", "false", "0", "yes", "²"])
    if isinstance(field, forms.ModelMultipleChoiceField):
        valid = _choice_values(field)
        one = st.one_of(st.sampled_from(valid), hostile_number) if valid else hostile_number
        return st.lists(one, max_size=4)
    if isinstance(field, forms.ChoiceField | forms.ModelChoiceField):
        valid = _choice_values(field)
        return st.one_of(st.sampled_from(valid), hostile_number) if valid else hostile_number
    if isinstance(field, forms.IntegerField | forms.DecimalField | forms.FloatField):
        return hostile_number
    if isinstance(field, forms.DateField | forms.DateTimeField):
        return hostile_date
    return hostile_text


def poison_for(field) -> st.SearchStrategy | None:
    """A value this required field must refuse, or None if the field can hold no bad value."""
    if isinstance(field, forms.BooleanField):
        return None
    if isinstance(field, forms.FileField):
        return bad_file
    if isinstance(field, forms.ModelMultipleChoiceField):
        return st.lists(st.sampled_from(["99999999999999999999", "-1", "²", "x"]), min_size=1)
    if isinstance(field, forms.ChoiceField | forms.ModelChoiceField):
        return st.sampled_from(["99999999999999999999", "-1", "²", "\u202enope", "0"])
    # A blank (" ", stripped to nothing) is bad only where a value is required: an optional
    # number or date left blank is simply not given.
    blank = [" "] if field.required else []
    if isinstance(field, forms.IntegerField | forms.DecimalField | forms.FloatField):
        return st.sampled_from(
            ["abc", "1e309", "NaN", "Infinity", "²", "1,5", *blank, *OTHER_SCRIPT_NUMBERS]
        )
    if isinstance(field, PinField):
        return st.sampled_from(["١٢٣٤", "१२३४", "12_34", "1e3", "12 34", "１２３", "1234567"])
    if isinstance(field, forms.DateField | forms.DateTimeField):
        return st.sampled_from(["2024-02-30", "0000-00-00", "99999-12-31", "tomorrow", *blank])
    limit = getattr(field, "max_length", None)
    options = [st.sampled_from(["   ", "\t\r\n"])]  # stripped to nothing: "required"
    if limit:
        options.append(st.integers(limit + 1, limit + 40).map(lambda n: "長" * n))
    options.append(st.just("a\x00b"))  # NUL: refused before any form sees it
    return st.one_of(options)
