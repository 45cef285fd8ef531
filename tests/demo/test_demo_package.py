"""The demo stays out of production: no production package imports it or holds demo code, and
it has no models (an upgrade is `migrate` alone)."""

import ast
from pathlib import Path

from django.apps import apps

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = ["core", "aidao", "villagers", "points", "store", "wishwall", "reports"]


def imported_modules(path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module


def test_no_production_package_imports_the_demo():
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for package in PRODUCTION
        for path in sorted((ROOT / package).rglob("*.py"))
        for name in imported_modules(path)
        if name == "demo" or name.startswith("demo.")
    ]
    assert offenders == []


def test_no_production_package_holds_demo_code():
    demo_modules = [
        str(path.relative_to(ROOT))
        for package in PRODUCTION
        for pattern in ("demo.py", "load_demo.py", "generate_county.py")
        for path in (ROOT / package).rglob(pattern)
    ]
    assert demo_modules == []


def test_the_demo_app_has_no_models():
    assert list(apps.get_app_config("demo").get_models()) == []
    assert not (ROOT / "demo" / "migrations").exists()
