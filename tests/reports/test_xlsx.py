"""The workbook helpers (reports.xlsx): every sheet name is one Excel opens."""

import io

from openpyxl import load_workbook

from reports import xlsx


def _sheet_names(*titles) -> list[str]:
    workbook = xlsx.workbook_new()
    for title in titles:
        xlsx.sheet_add(workbook, title=title, heading="", columns=[], rows=[])
    return load_workbook(io.BytesIO(xlsx.workbook_bytes(workbook))).sheetnames


def test_a_sheet_name_neither_starts_nor_ends_with_an_apostrophe():
    """Found: openpyxl wrote "'Quoted'" as it came, and Excel refuses such a sheet name (the
    whole file is "repaired"); a 31-character cut could leave one at the end too."""
    cut_after_apostrophe = "Balances of the big households' points"  # ' is the 31st
    names = _sheet_names("'Quoted'", cut_after_apostrophe, "''")
    assert names == ["Quoted", "Balances of the big households", "Sheet"]
    assert not any(name.startswith("'") or name.endswith("'") for name in names)


def test_sheet_names_differing_only_in_case_are_told_apart():
    """Excel takes "Donors" and "DONORS" for one name."""
    assert _sheet_names("Donors", "DONORS", "donors") == ["Donors", "DONORS (2)", "donors (3)"]
