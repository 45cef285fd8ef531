"""The demo stays out of production: no production package imports it or holds demo code, it
has no models (an upgrade is `migrate` alone), and its text is Simplified like the UI."""

import ast
import importlib.util
from pathlib import Path

from django.apps import apps

from tests.conftest import PROJECT_PACKAGES

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = PROJECT_PACKAGES


def _load_checker():
    path = ROOT / "scripts" / "check_translations.py"
    spec = importlib.util.spec_from_file_location("check_translations", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


def test_the_demo_text_is_simplified():
    traditional = _load_checker().TRADITIONAL
    modules = sorted((ROOT / "demo").rglob("*.py"))
    assert len(modules) > 10
    found = {
        f"{path.relative_to(ROOT)}:{number}": "".join(sorted(set(line) & traditional))
        for path in modules
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if set(line) & traditional
    }
    assert found == {}
