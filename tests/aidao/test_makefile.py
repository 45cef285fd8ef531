"""The Makefile's choice of the interpreter .venv/ is made from (README, "Quick start"; make
is one of the README's prerequisites)."""

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _venv_made_with(tmp_path, *args: str) -> str:
    """The command `make` would run to make .venv/, in a checkout without one."""
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    # Not as a sub-make of `make test` (whose flags print "Entering directory" lines).
    outer = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")
    env = {name: value for name, value in os.environ.items() if name not in outer}
    planned = subprocess.run(
        ["make", "--no-print-directory", "--dry-run", ".venv/bin/python", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return planned[0]


def _optimised_system_python() -> bool:
    system = Path("/usr/bin/python3")
    if not system.exists():
        return False
    check = "import sys, ensurepip; sys.exit(sys.version_info < (3, 11))"
    return subprocess.run([system, "-c", check], capture_output=True).returncode == 0


def test_the_venv_is_made_from_the_systems_python_where_it_will_do(tmp_path):
    """Debian's and Ubuntu's python3 are built with PGO and LTO (pyenv's default build is
    not, and runs the suite 1.13x slower): it is taken where it is 3.11+ with venv."""
    expected = "/usr/bin/python3" if _optimised_system_python() else "python3"
    assert _venv_made_with(tmp_path) == f"{expected} -m venv .venv"


def test_an_interpreter_named_on_the_command_line_is_used(tmp_path):
    assert _venv_made_with(tmp_path, "PYTHON=python3.12") == "python3.12 -m venv .venv"
