"""Words that join other words, translated (zh: "大米、面粉", en: "rice, flour"); typed text
cleaned of the invisible characters a paste brings; and the language records are worded in."""

import re
import unicodedata
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext, pgettext


def reason_clean(reason, field, *, missing=None) -> str:
    """A reason typed by a person, to be stored in `field` (a model's CharField): without the
    white space around it, refused with `missing` when empty (if given), and refused, never
    cut short, when longer than the field holds (a reason cut at 300 characters said less
    than its writer wrote, and nobody was told)."""
    text = (reason or "").strip()
    if not text and missing is not None:
        raise ValidationError(missing)
    if len(text) > field.max_length:
        raise ValidationError(
            gettext("A reason is at most %(max)d characters.") % {"max": field.max_length},
            code="too_long",
        )
    return text


def list_join(items: Iterable) -> str:
    """`items` as one list in the reader's language: joined with 、 in Chinese, ", " in
    English."""
    return pgettext("between the items of a list", ", ").join(str(item) for item in items)


def clauses_join(clauses: Iterable) -> str:
    """Clauses of one sentence: joined with ； in Chinese, "; " in English."""
    return pgettext("between the clauses of a sentence", "; ").join(str(c) for c in clauses)


# Characters nobody types on purpose, which change how text reads or break the files it goes
# into: the C0 and C1 controls (tab, line feed and carriage return kept; NUL is refused
# earlier, core.middleware.RefuseNulBytesMiddleware), the bidirectional embeddings, overrides
# and isolates (U+202A-202E, U+2066-2069: an override turns the rest of a wish's title
# around on the public wall), the zero-width space (two names that look the same would
# differ) and the byte-order mark. The vertical tab and form feed a paste from a word
# processor brings for a line break become a line feed. Joiners stay: emoji need them.
_LINE_BREAKS = {0x0B: "\n", 0x0C: "\n"}
_INVISIBLE = [
    *range(0x01, 0x09),
    *range(0x0E, 0x20),
    *range(0x7F, 0xA0),
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
    0x200B,
    0xFEFF,
]
_TYPED_TEXT = {**dict.fromkeys(_INVISIBLE), **_LINE_BREAKS}
_NEEDS_CLEANING = re.compile("[" + "".join(re.escape(chr(c)) for c in _TYPED_TEXT) + "]")

# What shows nothing on its own: white space, controls, format characters (the joiners, the
# word joiner, the soft hyphen, tags), combining marks without a letter to sit on (the
# variation selectors, the grapheme joiner) and the letters and symbols drawn blank (the
# Hangul fillers, the blank Braille pattern). A value made of these alone reads as empty on
# every page, a wish's title on the public wall too, so it is sent on as empty and a
# required field refuses it. Unassigned code points count as shown: a newer emoji than
# this Python's Unicode tables is one.
_UNSHOWN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp", "Mn", "Mc", "Me"})
_BLANK_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def _shows(char: str) -> bool:
    return char not in _BLANK_GLYPHS and unicodedata.category(char) not in _UNSHOWN_CATEGORIES


def _shows_nothing(value: str) -> bool:
    return value != "" and not any(_shows(char) for char in value)


def typed_text_needs_cleaning(value: str) -> bool:
    return _NEEDS_CLEANING.search(value) is not None or _shows_nothing(value)


def typed_text_clean(value: str, *, secret: bool = False) -> str:
    """`value` without the invisible characters above, its word-processor line breaks as
    line feeds; empty if nothing of it shows. Joiners within shown text stay. A `secret`
    (a password) is never emptied: nobody reads it, and one of spaces alone was a valid
    password before this rule."""
    if not secret and _shows_nothing(value):
        return ""
    return value.translate(_TYPED_TEXT)


def records_language():
    """Words kept in a record that others read later (a ledger entry's memo, a proposal's
    reason, a rule's description, why a household got no proposal) are worded in the
    deployment's language, not in the language of the writer's screen: a manager reading
    English must not leave English on a villager's history or the public notice.

        with records_language():
            memo = _("Store redemption")
    """
    return translation.override(settings.LANGUAGE_CODE)


# White space between two Chinese characters of a name: the padding a paper form or a
# spreadsheet gives a two-character name to line it up with three (冯　明, 王 强).
NAME_PADDING = re.compile(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])")


def person_name_text(value) -> str:
    """A person's name as it is registered and searched: without padding between its Chinese
    characters (a roster's 冯　明 is 冯明, whom a search for 冯明 finds), any other run of white
    space one space (Maria  Lopez), none around it."""
    return re.sub(r"\s+", " ", NAME_PADDING.sub("", str(value or ""))).strip()
