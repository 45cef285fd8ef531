"""Production settings pass Django's deployment checklist, and personal data (ID numbers,
phones) never shows on a page for a role that does not need it."""

import io
import json
import logging
import os
import secrets
import subprocess
import sys
import zipfile
from pathlib import Path

from django.urls import reverse

from tests.security.conftest import HOUSEHOLD_PHONE, ROLES
from tests.security.matrix import discover, requests_for
from tests.villagers.conftest import SECRET_ID, SECRET_PHONE

ROOT = Path(__file__).resolve().parents[2]
SHOW_SETTINGS = """
import json
import django
django.setup()
from django.conf import settings as s
print(json.dumps({name: getattr(s, name, None) for name in [
    "DEBUG", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY",
    "SECURE_CONTENT_TYPE_NOSNIFF", "X_FRAME_OPTIONS", "ALLOWED_HOSTS"]}))
"""


def _production_env(**overrides) -> dict:
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


def _run(args, env):
    return subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )


def test_check_deploy_passes_with_production_settings():
    env = _production_env()
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    shown = json.loads(_run(["-c", SHOW_SETTINGS], env).stdout)
    assert shown["DEBUG"] is False
    assert shown["SECURE_HSTS_SECONDS"] >= 365 * 24 * 3600
    assert shown["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert shown["SECURE_SSL_REDIRECT"] is True
    assert shown["SESSION_COOKIE_SECURE"] is True and shown["CSRF_COOKIE_SECURE"] is True
    assert shown["SESSION_COOKIE_HTTPONLY"] is True
    assert shown["SECURE_CONTENT_TYPE_NOSNIFF"] is True and shown["X_FRAME_OPTIONS"] == "DENY"
    assert shown["ALLOWED_HOSTS"] == ["aixin.example.gov.cn"]


def test_check_deploy_fails_on_a_weak_secret_and_refuses_no_secret():
    """The check above can fail: a short secret is a warning, no secret at all stops start-up."""
    weak = _run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        _production_env(SECRET_KEY="short"),
    )
    assert weak.returncode != 0 and "security.W009" in weak.stdout + weak.stderr
    missing = _run(["manage.py", "check"], _production_env(SECRET_KEY=None))
    assert missing.returncode != 0 and "SECRET_KEY must be set" in missing.stderr


def _text_of(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if content[:2] == b"PK":  # an .xlsx download: search the sheets' XML
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return "".join(
                archive.read(name).decode("utf-8", "replace") for name in archive.namelist()
            )
    return content.decode("utf-8", "replace")


def test_no_page_shows_an_id_number_or_phone(cast, caplog):
    """Every GET page of the matrix, for every role allowed to see it, with a member whose ID
    number and phone are known: neither appears anywhere, nor the household's phone."""
    caplog.set_level(logging.ERROR, logger="django.request")
    secrets_ = {"ID number": SECRET_ID, "member phone": SECRET_PHONE, "phone": HOUSEHOLD_PHONE}
    requests, missing = requests_for(cast, discover())
    assert not missing
    clients = {role: cast.client(role) for role in ROLES}
    leaks, pages = [], 0
    for request in requests:
        for role in ROLES:
            if request.get[role] != "200":
                continue
            response = clients[role].get(request.url)
            pages += 1
            text = _text_of(response)
            leaks += [
                f"{request.url} ({request.key}) as {role} shows the {what}"
                for what, secret in secrets_.items()
                if secret in text
            ]
    assert pages > 400
    assert not leaks, "\n".join(leaks)


def test_only_the_managers_audited_view_shows_the_full_id(cast):
    url = reverse("villagers:member_view_id", args=[cast.member_a.pk])
    for role in ROLES:
        text = cast.client(role).post(url).content.decode()
        if role == "manager_x":
            assert SECRET_ID in text and SECRET_PHONE in text
        else:
            assert SECRET_ID not in text and SECRET_PHONE not in text, role
