"""`manage.py dbshell` opens psql on the project's database, the embedded one included."""

import pytest
from django.core.management import call_command
from django.db import connection


@pytest.mark.django_db
def test_dbshell_reaches_the_database_it_is_configured_for(tmp_path):
    out = tmp_path / "out.txt"
    # psql's -o writes the result to a file: it runs as a child process, outside call_command.
    call_command("dbshell", "--", "-tA", "-o", str(out), "-c", "SELECT current_database()")
    assert out.read_text().strip() == connection.settings_dict["NAME"]
