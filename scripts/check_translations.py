"""List translation problems in the .po catalogues; exit 1 if there are any.

Run after `makemessages` (see `make messages`): new msgids arrive untranslated and reused ones
may be marked fuzzy, and either would show English inside the Chinese UI. Also refused: a
msgstr whose placeholders (%(name)s, %d, {name}) or HTML tags differ from its msgid's (the
page would crash or lose a value), a Traditional character in a Simplified catalogue or in
the English text's glosses (English pages write 积分管理细则 as the Chinese pages do), and a
compiled .mo that no longer matches its .po (compilemessages was not re-run).

    .venv/bin/python scripts/check_translations.py [path/to/django.po ...]
"""

import re
import sys
from pathlib import Path

import polib

BASE_DIR = Path(__file__).resolve().parents[1]

# %(name)s, %(points)+d, %d, %s ... (printf style, as Django's gettext uses); %% is a literal.
PRINTF = re.compile(r"%(?:\((?P<name>\w+)\))?[#0\- +]*\d*(?:\.\d+)?(?P<conv>[diouxXeEfFgGcrsa%])")
BRACES = re.compile(r"(?<!\{)\{(\w*)\}(?!\})")
TAG = re.compile(r"</?([a-zA-Z][a-zA-Z0-9]*)\b")
# Traditional-only forms of characters common in this project's words (積分, 愛心, 心願牆...).
# A Simplified catalogue with one of these was copied from the source report by mistake.
TRADITIONAL = set(
    "積區牆願淨規範貧務愛員監戶電們這個時會對來說請與為沒點錢關門開號據審單類買賣貨價"
    "銷記錄帳庫盤損贈對揚書導錯誤處碼聯繫條顯內總額縣鄉組裡東發檢廁臥廚擺莊溝"
    "細糧農裝異議報資業則"
)


def placeholders(text: str) -> list[str]:
    """The placeholders of a message: named ones as a sorted list, positional ones in order."""
    named, positional = [], []
    for match in PRINTF.finditer(text):
        if match["conv"] == "%":
            continue
        spec = match.group(0)
        (named if match["name"] else positional).append(spec)
    named += [f"{{{name}}}" for name in BRACES.findall(text)]
    return sorted(named) + positional


def tags(text: str) -> list[str]:
    return sorted(TAG.findall(text))


def _where(po_path: Path, entry: polib.POEntry) -> str:
    try:
        shown = po_path.relative_to(BASE_DIR)
    except ValueError:
        shown = po_path
    return f"{shown}:{entry.linenum}"


def _translations(entry: polib.POEntry) -> list[str]:
    if entry.msgid_plural:
        return [entry.msgstr_plural[index] for index in sorted(entry.msgstr_plural)]
    return [entry.msgstr]


def _simplified(po: polib.POFile, po_path: Path) -> bool:
    language = (po.metadata.get("Language") or po_path.parts[-3]).lower().replace("-", "_")
    return language in {"zh_hans", "zh_cn", "zh_sg"}


def entry_problems(entry: polib.POEntry, *, simplified: bool) -> list[str]:
    """What is wrong with one catalogue entry (empty list when it is fine)."""
    if entry.obsolete:
        return []
    label = repr(entry.msgid)
    glossed = sorted(set(entry.msgid + (entry.msgid_plural or "")) & TRADITIONAL)
    if simplified and glossed:
        # The source report's terms given beside the English (Points rules (积分管理细则)):
        # in the characters the Chinese pages use, one way on every page.
        return [f"Traditional characters {''.join(glossed)} in the English text: {label}"]
    if "fuzzy" in entry.flags:
        return [f"fuzzy (check the translation, then drop the flag): {label}"]
    translations = _translations(entry)
    if not translations or not all(text.strip() for text in translations):
        return [f"untranslated: {label}"]
    problems = []
    # Plural forms may word the count differently, but use the same placeholders as either
    # English form (Chinese has one form, used for every count).
    sources = [entry.msgid] + ([entry.msgid_plural] if entry.msgid_plural else [])
    for text in translations:
        if placeholders(text) not in [placeholders(source) for source in sources]:
            problems.append(
                f"placeholders {placeholders(text)} differ from "
                f"{placeholders(entry.msgid)}: {label}"
            )
        if tags(text) not in [tags(source) for source in sources]:
            problems.append(f"HTML tags {tags(text)} differ from {tags(entry.msgid)}: {label}")
        if simplified:
            traditional = sorted(set(text) & TRADITIONAL)
            if traditional:
                problems.append(f"Traditional characters {''.join(traditional)}: {label}")
    return problems


def _mo_problems(po: polib.POFile, po_path: Path) -> list[str]:
    mo_path = po_path.with_suffix(".mo")
    if not mo_path.exists():
        return [f"{po_path.name}: no compiled {mo_path.name}; run compilemessages"]
    compiled = {
        (entry.msgctxt, entry.msgid): tuple(_translations(entry))
        for entry in polib.mofile(str(mo_path))
        if entry.msgid
    }
    expected = {
        (entry.msgctxt, entry.msgid): tuple(_translations(entry))
        for entry in po.translated_entries()
        if entry.msgid
    }
    if compiled != expected:
        return [f"{mo_path.name} does not match {po_path.name}; run compilemessages"]
    return []


def problems(po_path: Path, *, check_mo: bool = True) -> list[str]:
    """Every problem of one catalogue, each as `file:line: what`."""
    po_path = Path(po_path).resolve()
    po = polib.pofile(str(po_path))
    simplified = _simplified(po, po_path)
    found = [
        f"{_where(po_path, entry)}: {problem}"
        for entry in po
        for problem in entry_problems(entry, simplified=simplified)
    ]
    if check_mo and not found:
        found += _mo_problems(po, po_path)
    return found


def catalogues() -> list[Path]:
    return sorted((BASE_DIR / "locale").glob("*/LC_MESSAGES/*.po"))


def main(argv: list[str]) -> int:
    paths = [Path(arg) for arg in argv] or catalogues()
    if not paths:
        print("no .po catalogues found under locale/", file=sys.stderr)
        return 1
    failed = False
    for path in paths:
        po = polib.pofile(str(path))
        found = problems(path)
        failed = failed or bool(found)
        for line in found:
            print(line)
        print(
            f"{path}: {len(po.translated_entries())} translated, {len(found)} problem(s)",
            file=sys.stderr,
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
