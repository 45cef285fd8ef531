"""Figures rounded to two places round a half up, as the account book, the templates'
floatformat and the workbooks' number formats all do (core.numbers)."""

import ast
from decimal import Decimal

from core.numbers import to_cents
from reports.selectors import _ratio
from store.templatetags.store_tags import yuan
from tests.conftest import PROJECT_PACKAGES
from tests.test_layers import ROOT


def test_a_half_rounds_up():
    assert to_cents(Decimal("0.005")) == Decimal("0.01")
    assert to_cents(Decimal("0.025")) == Decimal("0.03")  # Decimal's default: 0.02
    assert to_cents(Decimal("-0.005")) == Decimal("-0.01")
    assert to_cents(3) == Decimal("3.00")


def test_rates_and_yuan_round_a_half_up():
    # 5 of 200 households passed: 2.5%, which the page shows as "3%" like the workbook.
    assert _ratio(5, 200) == Decimal("0.03")
    assert _ratio(1, 200) == Decimal("0.01")
    # 5 points at ¥0.005 a point are ¥0.025: ¥0.03 on the page.
    assert yuan(5, "0.005") == Decimal("0.03")


def test_no_module_rounds_with_decimals_default():
    """A `.quantize(...)` without `rounding=` rounds a half to even: every module of the
    project rounds through core.numbers instead."""
    found = []
    for package in PROJECT_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "quantize"
                    and not any(k.arg == "rounding" for k in node.keywords)
                ):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []
