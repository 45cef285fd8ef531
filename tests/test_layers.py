"""The layers, read from the source: who may import whom (DESIGN.md, "Layering").

    aidao (settings, urls, site views and commands)        the top: imports anything
    demo (demo data, county generator)                      imported by no package
    reports (pages that combine apps)
    wishwall    store
    points
    notifications (the outbox: messages to households, their SMS)
    villagers
    core (db helpers, audit writer, photos, one-time keys,  the bottom: imports no app
          months, pagination, access, fragments)

Every module of each package is parsed (migrations included: they are code that runs).
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = [
    "core",
    "villagers",
    "notifications",
    "points",
    "store",
    "wishwall",
    "reports",
    "demo",
    "aidao",
]

# What each package may import of the project's own packages (itself always).
ALLOWED = {
    "core": set(),
    "villagers": {"core"},
    "notifications": {"core", "villagers"},
    "points": {"core", "villagers", "notifications"},
    "store": {"core", "villagers", "notifications", "points"},
    "wishwall": {"core", "villagers", "notifications", "store"},
    "reports": {"core", "villagers", "notifications", "points", "store", "wishwall"},
    "demo": {"core", "villagers", "notifications", "points", "store", "wishwall", "reports"},
    "aidao": {"core", "villagers", "notifications", "points", "store", "wishwall", "reports"},
}


def imported_packages(path: Path) -> set[str]:
    """The project packages a module imports (top-level names), at any depth of the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & (set(PACKAGES) | {"bench", "tests"})


def modules_of(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_package_imports_only_the_layers_below_it(package):
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported - ALLOWED[package] - {package})
        for path in modules_of(package)
        if (imported := imported_packages(path)) - ALLOWED[package] - {package}
    }
    assert wrong == {}


def test_the_ledger_knows_nothing_of_goods_and_wishes():
    for path in modules_of("points"):
        assert not imported_packages(path) & {"store", "wishwall"}, path


def test_nothing_imports_the_demo_but_its_own_commands_and_the_benchmark():
    importers = {
        str(path.relative_to(ROOT))
        for package in PACKAGES
        if package != "demo"
        for path in modules_of(package)
        if "demo" in imported_packages(path)
    }
    assert importers == set()


def test_the_benchmark_is_no_installed_app():
    from django.conf import settings

    assert "bench" not in settings.INSTALLED_APPS
    for package in PACKAGES:
        for path in modules_of(package):
            assert "bench" not in imported_packages(path), path


def test_the_check_catches_a_wrong_import(tmp_path):
    """The parser sees imports inside functions too (a lazy import is still a dependency)."""
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from store.models import Item\n    import points.ledger\n")
    assert imported_packages(module) == {"store", "points"}


def test_the_rules_read_from_the_source_read_every_installed_package():
    """Each test that reads the production source reads every app installed from this
    checkout but the demo: a package of its own list is one a new app would escape (the
    hand SQL and demo rules once read all but `notifications`)."""
    from django.apps import apps

    from tests import test_sql_from_models
    from tests.conftest import PROJECT_PACKAGES
    from tests.demo import test_demo_package

    installed = {
        package
        for config in apps.get_app_configs()
        if Path(config.path).resolve().is_relative_to(ROOT / (package := config.name.split(".")[0]))
    }
    assert set(PACKAGES) == installed
    assert set(PROJECT_PACKAGES) == installed - {"demo"}
    for rule in (test_sql_from_models, test_demo_package):
        assert set(rule.PRODUCTION) == set(PROJECT_PACKAGES), rule.__name__
