"""Dates are the village's: timezone.localdate(), never the server's clock.

The server runs on UTC; the villages are eight hours ahead. `datetime.date.today()` dated a
household's inspection recorded before 08:00 in the morning on the day before (found in the
inspection and participation forms), so the app's code asks Django for the local date.
"""

import re

from django.conf import settings

from tests.conftest import PROJECT_PACKAGES

SERVER_CLOCK = re.compile(r"\bdate\.today\(\)|\bdatetime\.now\(\)|\butcnow\(\)")
APP_FOLDERS = (*PROJECT_PACKAGES, "demo")


def test_the_apps_never_read_the_servers_date():
    found = [
        f"{path.relative_to(settings.BASE_DIR)}:{number}: {line.strip()}"
        for folder in APP_FOLDERS
        for path in sorted((settings.BASE_DIR / folder).rglob("*.py"))
        if "migrations" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if SERVER_CLOCK.search(line)
    ]
    assert len(found) == 0, "\n".join(found)
    assert SERVER_CLOCK.search("    day = datetime.date.today()")  # the pattern finds it
