"""Write static/vendor/bootstrap.purged.min.css: Bootstrap with only the rules our pages use.

A build step run by hand (`make purge-css`) after templates change; its output is committed,
so no Node is needed where the app runs. It runs the npm package purgecss (through npx, Node
at build time only) over every template, the Python code that names CSS classes (widgets,
crispy forms' Bootstrap 5 pack) and the scripts that add classes. Classes made at run time
(`alert-{{ message.tags }}`) are kept by the safelist below.
"""

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import crispy_bootstrap5
import django

BASE_DIR = Path(__file__).resolve().parents[1]
SOURCE = BASE_DIR / "static/vendor/bootstrap.min.css"
TARGET = BASE_DIR / "static/vendor/bootstrap.purged.min.css"
PURGECSS = "purgecss@8.0.0"
CHARSET = '@charset "UTF-8";'
CONTENT = [
    "templates/**/*.html",
    "*/templatetags/*.py",
    "*/forms.py",
    "*/*_views.py",
    "*/views.py",
    "*/views/*.py",
    "core/*.py",
    "reports/*.py",
    "static/js/*.js",
    # Django's own form widgets (<textarea>, <select>, <optgroup>: elements no template names).
    str(Path(django.__file__).parent / "forms/templates/django/forms/**/*.html"),
    # The |crispy filter's templates (no FormHelper layouts are used: no accordions, tabs,
    # modals or switches).
    *[
        str(Path(crispy_bootstrap5.__file__).parent / "templates/bootstrap5" / name)
        for name in (
            "uni_form.html",
            "whole_uni_form.html",
            "display_form.html",
            "errors.html",
            "field.html",
            "layout/attrs.html",
            "layout/baseinput.html",
            "layout/field_errors.html",
            "layout/field_errors_block.html",
            "layout/field_file.html",
            "layout/help_text.html",
            "layout/help_text_and_errors.html",
            "layout/radio_checkbox_select.html",
            "layout/checkboxselectmultiple_inline.html",
            "layout/radioselect_inline.html",
            "layout/multifield.html",
        )
    ],
]
# Made from data at run time: Django's message levels; the states a script toggles; the
# elements that come inside text (translations, wish texts) rather than from a template.
SAFELIST = {
    "standard": [
        *("show", "active", "disabled", "collapsed"),
        *("b", "strong", "small", "mark", "sub", "sup", "abbr", "hr", "pre", "code", "kbd"),
        *("samp", "textarea", "select", "optgroup", "option", "output", "progress"),
    ],
    "greedy": [r"^alert-(success|info|warning|danger|secondary)$", r"^text-bg-"],
}


def config_text() -> str:
    """purgecss's configuration as a CommonJS module (JSON, with the greedy patterns turned
    into regular expressions)."""
    config = {
        "content": [glob if glob.startswith("/") else str(BASE_DIR / glob) for glob in CONTENT],
        "css": [str(SOURCE)],
        "safelist": {"standard": SAFELIST["standard"], "greedy": "GREEDY"},
        "fontFace": False,
        "keyframes": False,
        "variables": False,
    }
    greedy = "[" + ", ".join(f"/{pattern}/" for pattern in SAFELIST["greedy"]) + "]"
    return "module.exports = " + json.dumps(config, indent=1).replace('"GREEDY"', greedy) + ";\n"


def main() -> int:
    npx = shutil.which("npx")
    if npx is None:
        print("purge_css: needs Node's npx (apt-get install npm)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "purgecss.config.cjs"
        path.write_text(config_text())
        out = Path(folder) / "out"
        subprocess.run(  # noqa: S603 (a fixed program, no shell)
            [npx, "--yes", PURGECSS, "--config", str(path), "--output", str(out)],
            cwd=BASE_DIR,
            check=True,
        )
        (written,) = out.glob("*.css")
        css = written.read_text()
    # After the @charset rule, which must come first, and Bootstrap's licence comment.
    head = css.split("*/", 1)[0] + "*/" if css.removeprefix(CHARSET).startswith("/*!") else ""
    note = f"/* Purged by scripts/purge_css.py ({PURGECSS}) from bootstrap.min.css: edit that. */"
    TARGET.write_text(head + note + css[len(head) :])
    before, after = SOURCE.stat().st_size, TARGET.stat().st_size
    print(f"{TARGET.relative_to(BASE_DIR)}: {before} -> {after} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
