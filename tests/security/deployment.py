"""Production settings in a child process, and searching a rendered page (or .xlsx download)
for the cast's personal data."""

import io
import json
import os
import secrets
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.security.conftest import HOUSEHOLD_PHONE
from tests.villagers.conftest import SECRET_ID, SECRET_PHONE

ROOT = Path(__file__).resolve().parents[2]
PERSONAL_DATA = {"ID number": SECRET_ID, "member phone": SECRET_PHONE, "phone": HOUSEHOLD_PHONE}


def _text_of(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if content[:2] == b"PK":  # an .xlsx download: search the sheets' XML
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            content = b"".join(archive.read(name) for name in archive.namelist())
    return content.decode("utf-8", "replace")


def personal_data_shown(response, where: str) -> list[str]:
    """'<where> shows the <what>' for each ID number or phone of the cast in the response."""
    text = _text_of(response)
    return [f"{where} shows the {what}" for what, secret in PERSONAL_DATA.items() if secret in text]


def production_env(**overrides) -> dict:
    """The environment of a production process: DEBUG off, a real secret, one host."""
    # The suite's own switches (the browser tests allow async-unsafe calls) are not production.
    harness = ("AIDAO_TESTING", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {k: v for k, v in os.environ.items() if k not in harness}
    env.update(
        DJANGO_SETTINGS_MODULE="aidao.settings",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="aixin.example.gov.cn",
    )
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def run_python(args, env):
    """Our own interpreter (manage.py or -c) in the checkout, with `env`."""
    return subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )


def production_settings(*names: str) -> dict:
    """The values `names` take in a production process (JSON-able settings only)."""
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n, None) for n in {list(names)!r}}}))"
    )
    result = run_python(["-c", code], production_env())
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)
