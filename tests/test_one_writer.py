"""One writer per effect (DESIGN.md rule 9), read from the source: the rows of the ledger,
the stock and the audit log, and the cached counts beside them, are made in one function
each, whatever the caller (a proposal, a redemption, a batch, a task).

Every production module is parsed (tests.conftest.PROJECT_PACKAGES, not the migrations;
the demo loads its history in bulk, and `audit_ledger` must find it clean). What is looked
for: a model's row made (`Model(...)`, `Model.objects.create/bulk_create/get_or_create/...`),
inserted or updated by core.sql's builders (`sql.insert`, `sql.update_rows` with the
columns named), updated through a queryset (`.update(column=...)`), or saved naming a
column (`.save(update_fields=[...])`). A plain `save()` of an account or an item leaves the
cached columns out (core.models.WriterOwnedColumns); the ledger's, the stock's and the
log's tables refuse UPDATE and DELETE.
"""

import ast
from collections import defaultdict
from pathlib import Path

from tests.conftest import PROJECT_PACKAGES

ROOT = Path(__file__).resolve().parents[1]

# (model, column or None for its rows) -> the functions that write it, as "path:function".
WRITERS = {
    ("Entry", None): {"points/ledger.py:entries_plan"},
    ("Account", None): {"points/ledger.py:account_open"},
    ("Account", "balance"): {"points/ledger.py:entries_plan"},
    ("Account", "held"): {"points/ledger.py:hold_plan"},
    ("StockMovement", None): {"store/services.py:movements_plan"},
    ("Item", "stock"): {"store/services.py:movements_plan"},
    ("Item", "held"): {"store/services.py:_holds_plan"},
    ("Item", "writing_off"): {"store/services.py:_set_aside_plan"},
    ("Redemption", None): {"store/services.py:_redemption_create_locked"},
    ("RedemptionLine", None): {"store/services.py:_redemption_create_locked"},
    # An event's row is made by _events; audit_record saves one, audit_plan inserts many.
    ("AuditEvent", None): {"core/audit.py:_events", "core/audit.py:audit_plan"},
}
WATCHED = {model for model, _column in WRITERS}
OWNED = {column for _model, column in WRITERS if column}  # only their writer names them
ROW_WRITES = {"create", "bulk_create", "get_or_create", "update_or_create", "bulk_update"}


def _root_name(node: ast.AST) -> str | None:
    """`Entry` of `Entry.objects.filter(...).update`: the name a chain of calls starts at."""
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _strings(node: ast.AST | None) -> list[str]:
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        return [e.value for e in node.elts if isinstance(e, ast.Constant)]
    return []


def writes_of(source: str) -> list[tuple[tuple[str, str | None], str, int]]:
    """((model, column), enclosing function, line) of each write of a watched model in
    `source`; a `.save(update_fields=...)` naming an owned column is given as ("save", it)."""
    tree = ast.parse(source)
    # The watched names this module imports from a models module (another `Item` is not one).
    models = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("models")
        for alias in node.names
        if alias.name in WATCHED
    }
    found = []

    def visit(node: ast.AST, function: str) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            function = node.name
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            root = _root_name(func)
            if isinstance(func, ast.Name) and name in models:
                found.append(((name, None), function, node.lineno))
            elif name in ("insert", "update_rows") and node.args:
                model = getattr(node.args[0], "id", None)
                if model in models:
                    if name == "insert":
                        found.append(((model, None), function, node.lineno))
                    columns = _strings(node.args[2]) if len(node.args) > 2 else ["?"]
                    for column in columns if name == "update_rows" else []:
                        found.append(((model, column), function, node.lineno))
            elif root in models and name in ROW_WRITES:
                found.append(((root, None), function, node.lineno))
            elif root in models and name in ("update", "delete"):
                for column in [k.arg for k in node.keywords] or [None]:
                    found.append(((root, column), function, node.lineno))
            elif name == "save":
                fields = next((k.value for k in node.keywords if k.arg == "update_fields"), None)
                for column in set(_strings(fields)) & OWNED:
                    found.append((("save", column), function, node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(tree, "<module>")
    return found


def production_writes() -> dict:
    writers = defaultdict(set)
    for package in PROJECT_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            where = str(path.relative_to(ROOT))
            for key, function, _line in writes_of(path.read_text(encoding="utf-8")):
                writers[key].add(f"{where}:{function}")
    return dict(writers)


def test_each_effect_has_one_writer():
    assert production_writes() == WRITERS


def test_the_reader_sees_each_kind_of_write():
    """A write outside its writer is seen, however it is spelled."""
    source = """
from core.models import AuditEvent
from points.models import Account, Entry
from store.models import Item, RedemptionLine, StockMovement

def elsewhere(account, item, rows):
    Entry.objects.create(points=5)
    StockMovement(quantity=-1).save()
    sql.insert(RedemptionLine, rows)
    sql.update_rows(Account, [account], ["balance", "memo"])
    Item.objects.filter(pk=item.pk).update(stock=F("stock") - 1)
    item.save(update_fields=["held"])
    AuditEvent.objects.filter(pk=1).delete()
"""
    assert {key for key, _function, _line in writes_of(source)} == {
        ("Entry", None),
        ("StockMovement", None),
        ("RedemptionLine", None),
        ("Account", "balance"),
        ("Account", "memo"),
        ("Item", "stock"),
        ("save", "held"),
        ("AuditEvent", None),
    }
    assert writes_of("class Item:\n    pass\n\nItem(name='a line of a page')\n") == []
