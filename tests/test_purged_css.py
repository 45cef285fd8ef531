"""The purged Bootstrap (scripts/purge_css.py, committed) keeps every class our pages use: a
template or script that starts using a new Bootstrap class fails here until `make purge-css`
is run again. The browser sweep comparing pages drawn with both files is
tests/browser/test_accessibility.py (tests/browser/purged.py)."""

import re
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[1]
VENDOR = BASE_DIR / "static/vendor"
# Names in class="…" attributes (template tags inside them included) and in scripts' classNames.
CLASS_ATTRIBUTE = re.compile(r"""class(?:Name)?\s*=\s*["']([^"']*)["']""")


def classes_in_css(css: str) -> set[str]:
    return set(re.findall(r"\.(-?[_a-zA-Z][\w-]*)", re.sub(r"url\([^)]*\)", "", css)))


def classes_used() -> dict[str, set[str]]:
    used = {}
    files = [*BASE_DIR.glob("templates/**/*.html"), *BASE_DIR.glob("static/js/*.js")]
    for path in files:
        for attribute in CLASS_ATTRIBUTE.findall(path.read_text()):
            for name in re.findall(r"[\w-]+", re.sub(r"\{[{%].*?[}%]\}", " ", attribute)):
                used.setdefault(name, set()).add(str(path.relative_to(BASE_DIR)))
    return used


def test_the_purged_bootstrap_keeps_every_class_the_templates_and_scripts_use():
    whole = classes_in_css((VENDOR / "bootstrap.min.css").read_text())
    purged = classes_in_css((VENDOR / "bootstrap.purged.min.css").read_text())
    used = classes_used()
    assert {"btn", "card", "form-control", "badge", "list-group-item"} <= used.keys()
    missing = {name: sorted(paths) for name, paths in used.items() if name in whole - purged}
    assert not missing, f"run `make purge-css` and commit the file: {missing}"


def test_every_page_loads_the_purged_bootstrap():
    whole = [
        str(path.relative_to(BASE_DIR))
        for path in BASE_DIR.glob("templates/**/*.html")
        if "vendor/bootstrap.min.css" in path.read_text()
    ]
    assert not whole


def _png(colour, size=(40, 30), patch=None) -> bytes:
    import io

    from PIL import Image

    picture = Image.new("RGB", size, colour)
    if patch:
        picture.paste(patch, (5, 5, 15, 15))
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    return buffer.getvalue()


def test_the_browser_comparison_tells_pictures_apart_by_more_than_anti_aliasing():
    from tests.browser.purged import _differ

    white = _png("white")
    assert not _differ(white, _png("white"))
    assert not _differ(white, _png("white", patch=(250, 250, 250)))  # an edge a level apart
    assert _differ(white, _png("white", patch=(13, 110, 253)))  # a button lost its colour
    assert _differ(white, _png("white", size=(40, 31)))  # the page grew
