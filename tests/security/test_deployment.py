"""Production settings pass Django's deployment checklist, and personal data (ID numbers,
phones) never shows on a page for a role that does not need it: the permission matrix
renders every page for every role and searches it (personal_data_shown); here the search
itself and the one page allowed to show an ID number are tested."""

import importlib.util
import json

from django.urls import reverse
from django.utils import timezone

from tests.security.conftest import ROLES
from tests.security.deployment import personal_data_shown, production_env, run_python
from tests.villagers.conftest import SECRET_ID, SECRET_PHONE

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


def test_check_deploy_passes_with_production_settings():
    env = production_env()
    result = run_python(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    shown = json.loads(run_python(["-c", SHOW_SETTINGS], env).stdout)
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
    weak = run_python(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        production_env(SECRET_KEY="short"),
    )
    assert weak.returncode != 0 and "security.W009" in weak.stdout + weak.stderr
    missing = run_python(["manage.py", "check"], production_env(SECRET_KEY=None))
    assert missing.returncode != 0 and "SECRET_KEY must be set" in missing.stderr


def test_the_page_search_finds_what_it_looks_for(cast):
    """The permission matrix searches every page it renders with this; prove it can see."""
    shown = cast.client("manager_x").post(
        reverse("villagers:member_view_id", args=[cast.member_a.pk])
    )
    assert personal_data_shown(shown, "full-ID view") == [
        "full-ID view shows the ID number",
        "full-ID view shows the member phone",
    ]
    today = timezone.localdate()
    xlsx = cast.client("villager_a").get(
        reverse("reports:notice_xlsx", args=[today.year, today.month])
    )
    assert xlsx.content[:2] == b"PK" and personal_data_shown(xlsx, "notice") == []


def test_only_the_managers_audited_view_shows_the_full_id(cast):
    url = reverse("villagers:member_view_id", args=[cast.member_a.pk])
    for role in ROLES:
        text = cast.client(role).post(url).content.decode()
        if role == "manager_x":
            assert SECRET_ID in text and SECRET_PHONE in text
        else:
            assert SECRET_ID not in text and SECRET_PHONE not in text, role


# Each value an operator might set wrong, and what the refusal must name. Found by a probe:
# a login limit of 0 made every sign-in a 500; a bad cron line stopped all background work
# while the worker restarted for ever; a misspelt switch silently meant "off".
BAD_VALUES = {
    "DEBUG": "maybe",
    "SECURE_SSL_REDIRECT": "ture",
    "CONN_MAX_AGE": "abc",
    "STAFF_LOGIN_ADDRESS_LIMIT": "0",
    "CARD_LOGIN_ADDRESS_LIMIT": "-1",
    "AXES_FAILURE_LIMIT": "0",
    "SMS_RETRY_WAIT": "x",
    "THANKS_LINK_MAX_AGE_DAYS": "1y",
    "SECURE_HSTS_SECONDS": "1y",
    "CREDIT_DUE_CRON": "every minute",
    "RESERVATION_EXPIRY_CRON": "*/5 * *",
    "SMS_QUIET_HOURS": "21",
    "SMS_BACKEND": "nonsense",
    "DATABASE_URL": "notaurl",
    "API_RATE_LIMIT": "120/minute",
    "LOG_LEVEL": "LOUD",
}
# A package the suite does not install: a setting that needs it is refused at startup.
NEEDS_A_PACKAGE = {"REDIS_URL": "redis://localhost:6379/0", "S3_BUCKET": "photos"}
SETTINGS_READ = """
import importlib, json, os, sys
from django.core.exceptions import ImproperlyConfigured
said = {}
for name, value in json.loads(sys.argv[1]).items():
    before = os.environ.get(name)
    os.environ[name] = value
    sys.modules.pop("aidao.settings", None)
    try:
        importlib.import_module("aidao.settings")
        said[name] = None
    except ImproperlyConfigured as error:
        said[name] = str(error)
    finally:
        os.environ.pop(name) if before is None else os.environ.__setitem__(name, before)
print(json.dumps(said))
"""


def test_a_setting_the_app_cannot_read_stops_it_at_startup_naming_it():
    env = production_env(DATABASE_URL="postgres://aidao:secret@localhost/aidao")
    cases = BAD_VALUES
    result = run_python(["-c", SETTINGS_READ, json.dumps(cases)], env)
    assert result.returncode == 0, result.stderr
    said = json.loads(result.stdout)
    for name in cases:
        assert said[name] and said[name].startswith(name), (name, said[name])
    needs = run_python(["-c", SETTINGS_READ, json.dumps(NEEDS_A_PACKAGE)], env)
    for name, said_of in json.loads(needs.stdout).items():
        module = "redis" if name == "REDIS_URL" else "storages"
        if importlib.util.find_spec(module) is None:
            assert said_of and "needs the package" in said_of, (name, said_of)
    aliyun = run_python(["-c", SETTINGS_READ, json.dumps({"SMS_BACKEND": "aliyun"})], env)
    assert "SMS_ALIYUN_ACCESS_KEY_ID" in json.loads(aliyun.stdout)["SMS_BACKEND"]
    good = {
        "DEBUG": "off",
        "SMS_QUIET_HOURS": "0-0",
        "CREDIT_DUE_CRON": "* * * * * */2",
        "API_RATE_LIMIT": "100/5m",
        "LOG_LEVEL": "warn",
    }
    fine = run_python(["-c", SETTINGS_READ, json.dumps(good)], env)
    assert json.loads(fine.stdout) == dict.fromkeys(good), fine.stdout
