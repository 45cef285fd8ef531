"""A migration, once a database may have applied it, is never edited: Django does not run it
again there, so the edit reaches fresh databases only and the two drift apart (a probe found
three columns whose database default a later edit added, missing on upgraded databases).
Change the schema or the data with a new migration instead.

Each migration listed in tests/migrations_frozen.txt must still do what it did when listed:
its code, compared without comments and docstrings. A new migration is listed by running
`python tests/test_migrations_frozen.py` once it is merged."""

import ast
import hashlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIST = Path(__file__).with_name("migrations_frozen.txt")
APPS = ("aidao", "core", "villagers", "points", "store", "wishwall", "reports", "notifications")


def _shape(node) -> str:
    """A syntax tree written out the same way on every Python version: fields left empty
    (the type parameters Python 3.12 added, say) are skipped."""
    if isinstance(node, ast.AST):
        fields = [
            f"{name}={_shape(value)}"
            for name, value in ast.iter_fields(node)
            if value not in (None, [])
        ]
        return f"{type(node).__name__}({', '.join(fields)})"
    if isinstance(node, list):
        return "[" + ", ".join(_shape(item) for item in node) + "]"
    return repr(node)


def _code(path: Path) -> str:
    """What the migration does: its syntax tree without docstrings or comments."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return hashlib.sha256(_shape(tree).encode()).hexdigest()[:16]


def migrations() -> dict[str, str]:
    found = {}
    for app in APPS:
        for path in sorted((ROOT / app / "migrations").glob("0*.py")):
            found[f"{app}/{path.name}"] = _code(path)
    return found


def _listed() -> dict[str, str]:
    lines = [line.split() for line in LIST.read_text().splitlines() if line.strip()]
    return dict(lines)


def test_no_listed_migration_was_edited_or_removed():
    now = migrations()
    changed = [name for name, digest in _listed().items() if now.get(name) != digest]
    assert changed == [], (
        "Migrations edited or removed after being listed (a database that applied them "
        "never sees the change; write a new migration instead): " + ", ".join(changed)
    )


def test_every_migration_is_listed():
    unlisted = sorted(set(migrations()) - set(_listed()))
    assert unlisted == [], (
        "Migrations not yet listed: " + ", ".join(unlisted) + ". Once merged, list them with "
        "`python tests/test_migrations_frozen.py`."
    )


if __name__ == "__main__":
    # Lists the migrations not listed yet; one listed that changed is refused, not listed
    # again: write a new migration instead.
    import sys

    listed, now = _listed(), migrations()
    changed = [name for name, digest in listed.items() if now.get(name) != digest]
    if changed:
        sys.exit("Edited or removed after being listed: " + ", ".join(changed))
    with LIST.open("a") as listing:
        for name in sorted(set(now) - set(listed)):
            listing.write(f"{name} {now[name]}\n")
