"""Production settings in a child process; searching a rendered page (or .xlsx download) for
the cast's personal data; and what a page's headers must say (caching, cookie flags)."""

import functools
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
    return json.loads(_production_settings_json(names))


@functools.cache
def _production_settings_json(names: tuple[str, ...]) -> str:
    """Read once a test process: the settings module does not change while the suite runs,
    and each child process costs a second of Django's start."""
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n, None) for n in {list(names)!r}}}))"
    )
    result = run_python(["-c", code], production_env())
    assert result.returncode == 0, result.stderr
    return result.stdout


COOKIE_SETTINGS = [
    f"{cookie}_COOKIE_{flag}"
    for cookie in ("SESSION", "CSRF", "LANGUAGE")
    for flag in ("SECURE", "HTTPONLY", "SAMESITE")
]
# Served to anyone, signed in or not, and cacheable: nothing personal in them.
PUBLIC = {"manifest"}


def page_headers_wrong(response, key: str, role: str, where: str) -> list[str]:
    """For a page answered 200: wrong caching (a signed-in user's page must be private and
    no-store, a public file public) and cookies set without their flags."""
    if role == "anon" and key not in PUBLIC:
        return []
    problems = unflagged_cookies(response, where)
    directives = cache_directives(response)
    if key in PUBLIC:
        if "public" not in directives or "no-store" in directives:
            problems.append(f"{where}: {response.get('Cache-Control')} (public file)")
    elif not {"private", "no-store"} <= directives:
        problems.append(f"{where}: {response.get('Cache-Control')}")
    return problems


def cache_directives(response) -> set[str]:
    header = response.get("Cache-Control", "")
    return {part.split("=")[0].strip().lower() for part in header.split(",") if part.strip()}


def unflagged_cookies(response, where: str) -> list[str]:
    """Cookies the response sets (a value, not a deletion) lacking Secure, HttpOnly or Lax."""
    problems = []
    for name, morsel in response.cookies.items():
        if not morsel.value:
            continue
        flags = {
            "Secure": bool(morsel["secure"]),
            "HttpOnly": bool(morsel["httponly"]),
            "SameSite=Lax": str(morsel["samesite"]).lower() == "lax",
        }
        missing = [flag for flag, present in flags.items() if not present]
        if missing:
            problems.append(f"{where} sets {name} without {', '.join(missing)}")
    return problems
