"""Settings, read from the environment (12-factor).

Production: set DEBUG=false (the default), SECRET_KEY, ALLOWED_HOSTS and DATABASE_URL.
Development: `make run` sets DEBUG=true; with no DATABASE_URL an embedded PostgreSQL starts.
"""

import datetime
import logging
import os
import re
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


# A value the app cannot read stops it at startup, naming the variable, rather than failing
# later in a request or a worker (or, for a switch, silently meaning "off").
TRUE, FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    if value.strip().lower() not in TRUE | FALSE:
        raise ImproperlyConfigured(f"{name}={value!r}: use true or false (1/0, yes/no, on/off).")
    return value.strip().lower() in TRUE


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    """A whole number of at least `minimum` (a limit of 0 would refuse everyone)."""
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r}: a whole number is needed.") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name}={value!r}: at least {minimum}.")
    return number


def env_cron(name: str, default: str) -> str:
    """A cron line (five fields, or six with seconds), checked as the worker's scheduler
    reads it: a bad one would stop every background task while the worker restarts."""
    from croniter import croniter

    value = os.environ.get(name, default).strip()
    if not croniter.is_valid(value):
        raise ImproperlyConfigured(f"{name}={value!r}: not a cron line (e.g. '*/5 * * * *').")
    return value


def env_hours(name: str, default: str) -> tuple[int, int]:
    """Two hours of the day, "21-8" (from, until); equal hours mean none."""
    value = os.environ.get(name, default)
    parts = value.split("-")
    try:
        hours = tuple(int(part.strip()) for part in parts)
    except ValueError:
        hours = ()
    if len(hours) != 2 or not all(0 <= hour <= 23 for hour in hours):
        raise ImproperlyConfigured(f"{name}={value!r}: two hours from 0 to 23, e.g. '21-8'.")
    return hours


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
TESTING = env_bool("AIDAO_TESTING", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if DEBUG or TESTING:
        # Only for a developer's machine and the test suite; production must set its own.
        SECRET_KEY = "dev-only-insecure-key-never-used-in-production-7f3c9b1e2d"  # noqa: S105
    else:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
# The keys SECRET_KEY had before it was changed (comma-separated): what was signed under one
# (a session, a thanks link, a form's one-time key) still reads. Drop them when that lapsed.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1" if DEBUG or TESTING else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
CSRF_FAILURE_VIEW = "core.views.csrf_failure"

INSTALLED_APPS = [
    "aidao.apps.AidaoAdminConfig",  # django.contrib.admin on the project's site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "axes",
    "csp",
    # The task queue's tables and its `procrastinate` command; tasks live in each app's
    # tasks.py, declared through core.queue.
    "procrastinate.contrib.django",
    "core",
    "aidao",
    "villagers",
    "notifications",
    "points",
    "store",
    "wishwall",
    "reports",
    "demo",  # only for its commands (load_demo, generate_county): no models
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Headers on every response, error pages and static files included.
    "csp.middleware.CSPMiddleware",
    "core.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.middleware.PrivatePagesMiddleware",
    # Before anything reads GET or POST (CSRF reads POST later, in its process_view).
    "core.middleware.RefuseForeignCharsetMiddleware",
    "core.middleware.RefuseNulBytesMiddleware",
    "core.middleware.CleanTypedTextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "villagers.middleware.VillageMiddleware",
    # Its page needs the user and the village for the menu, as every page's.
    "core.middleware.MethodNotAllowedPageMiddleware",
    # Last, as django-axes asks: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "aidao.urls"
WSGI_APPLICATION = "aidao.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "villagers.context_processors.village",
                "notifications.context_processors.bell",
                "aidao.context_processors.display_preferences",
            ],
        },
    },
]

if os.environ.get("DATABASE_URL"):
    _database_url = os.environ["DATABASE_URL"]
else:
    from aidao.embedded_db import embedded_database_url

    _database_url = embedded_database_url()

# Each process keeps its connection for CONN_MAX_AGE seconds (0: one per request, as behind
# a transaction-pooling pgbouncer), checked before reuse: a connection the database dropped
# (a restart) is replaced, not used (pages then get the 503 "restarting" page until it is up).
try:
    _database = dj_database_url.parse(
        _database_url, conn_max_age=env_int("CONN_MAX_AGE", 0 if TESTING else 60)
    )
except ValueError as error:  # an unknown scheme, a port that is no number...
    raise ImproperlyConfigured(
        f"DATABASE_URL: not a database address ({error}); e.g. postgres://user:pass@host/db"
    ) from None
if not _database.get("ENGINE", "").endswith("postgresql"):
    raise ImproperlyConfigured("DATABASE_URL: a PostgreSQL address (postgres://...) is needed.")
# A socket directory given in the address's query (the embedded server's ?host=/path) is
# the database's HOST, where every client reads it (`manage.py dbshell` passes it to psql).
if not _database.get("HOST") and "host" in _database.get("OPTIONS", {}):
    _database["HOST"] = _database["OPTIONS"].pop("host")
DATABASES = {"default": _database}
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# The hot statements of core.sql / <app>/sql.py are prepared once per connection (Django
# prepares nothing else). Array parameters make PostgreSQL's generic plan look dearer than
# a custom one, so by default it planned them anew on every call: ask for the generic plan.
_db_options = DATABASES["default"].setdefault("OPTIONS", {})
_db_options["options"] = f"{_db_options.get('options', '')} -c plan_cache_mode=force_generic_plan"

# The task queue (core/queue.py, run by `manage.py worker`): when the periodic crediting of
# entries whose publicity period ended runs (cron; a sixth field is seconds).
CREDIT_DUE_CRON = env_cron("CREDIT_DUE_CRON", "* * * * *")
# ... and when approved yearly settlements whose year has ended are posted (daily; once each;
# cron times are UTC: 16:15 is 00:15 in China).
SETTLEMENT_CRON = env_cron("SETTLEMENT_CRON", "15 16 * * *")
# ... and when activities still open after their day close and propose their attendance
# (the worker reads cron times in UTC: 16:30 is 00:30 in China).
ACTIVITY_CLOSE_CRON = env_cron("ACTIVITY_CLOSE_CRON", "30 16 * * *")
# ... and when reservations past their date are closed and their holds released: every
# minute, as the counter neither shows one past its date nor may spend what it still holds.
RESERVATION_EXPIRY_CRON = env_cron("RESERVATION_EXPIRY_CRON", "* * * * *")
# ... and when the jobs of a worker killed mid-job are queued again (core/queue.py): a
# killed worker's jobs are found 30 s after its last heartbeat, then on this tick.
STALLED_JOBS_CRON = env_cron("STALLED_JOBS_CRON", "* * * * *")

# Text messages (notifications/sms.py): "log" writes them to the log (development, and any
# deployment without a provider); "aliyun" sends them through Aliyun SMS (dysmsapi SendSms).
SMS_BACKEND = os.environ.get("SMS_BACKEND", "log")
if SMS_BACKEND not in ("log", "aliyun"):
    raise ImproperlyConfigured(f"SMS_BACKEND={SMS_BACKEND!r}: use 'log' or 'aliyun'.")
SMS_ALIYUN = {
    "endpoint": os.environ.get("SMS_ALIYUN_ENDPOINT", "https://dysmsapi.aliyuncs.com/"),
    "access_key_id": os.environ.get("SMS_ALIYUN_ACCESS_KEY_ID", ""),
    "access_key_secret": os.environ.get("SMS_ALIYUN_ACCESS_KEY_SECRET", ""),
    "sign_name": os.environ.get("SMS_ALIYUN_SIGN_NAME", ""),
    "template_code": os.environ.get("SMS_ALIYUN_TEMPLATE_CODE", ""),
}
if SMS_BACKEND == "aliyun" and not all(SMS_ALIYUN.values()):
    _missing = ", ".join(f"SMS_ALIYUN_{key.upper()}" for key, v in SMS_ALIYUN.items() if not v)
    raise ImproperlyConfigured(f"SMS_BACKEND=aliyun needs {_missing}.")
# No text message between these hours (local time): held until the morning. "21-8".
SMS_QUIET_HOURS = env_hours("SMS_QUIET_HOURS", "21-8")
SMS_MAX_ATTEMPTS = env_int("SMS_MAX_ATTEMPTS", 5, minimum=1)
# Seconds before the first retry of a failed message; each retry waits this many times more.
SMS_RETRY_WAIT = env_int("SMS_RETRY_WAIT", 4, minimum=1)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "villagers.User"

AUTHENTICATION_BACKENDS = [
    # The lockout backend (axes' AxesStandaloneBackend) must come first: it refuses locked-out
    # credentials before any check. All three load a session's user in one query.
    "villagers.auth.LockoutBackend",
    "villagers.auth.CardPinBackend",
    "villagers.auth.StaffBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    # Hashing with PBKDF2 at full strength would dominate the suite's run time.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Pages a villager may open send the signed-out to the card login instead (core.access).
CARD_LOGIN_URL = "card_login"
# The address printed in the cards' QR codes (https://<host>, no path): a phone's camera
# opens the card login there with the number filled in. Empty: the address of the request
# that draws the card.
CARD_LOGIN_BASE_URL = os.environ.get("CARD_LOGIN_BASE_URL", "").rstrip("/")

# django-axes: failed logins are kept in the database, so a lockout survives restarts.
# Keyed on the username / card number alone, so a forged X-Forwarded-For cannot reset it.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_USERNAME_CALLABLE = "villagers.auth.axes_username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "villagers.views.locked_out"  # until when, and a way back
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]
AXES_VERBOSE = False
# Never written into axes' attempt rows in clear: the card login's PIN, the PIN change's
# fields, the staff login's and the admin's (axes always masks "password").
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "pin", "old_pin", "pin_again"]
# Lockouts are keyed on the username alone (see above); ip_address is left out on purpose
# because villagers on 3G share carrier NAT addresses and would lock each other out.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
# Each failure is also logged with its address (trimmed to the last 1000 per name; prune
# old ones with `manage.py axes_reset_failure_logs --age 30`). An address with this many
# failed card logins in the window may try one every few seconds, never locked out
# (villagers.throttle); the village's dashboard warns of them.
AXES_ENABLE_ACCESS_FAILURE_LOG = True
CARD_LOGIN_ADDRESS_LIMIT = env_int("CARD_LOGIN_ADDRESS_LIMIT", 20, minimum=1)
CARD_LOGIN_ADDRESS_WINDOW = datetime.timedelta(minutes=15)
CARD_LOGIN_ADDRESS_DELAY = 5  # seconds between card logins from such an address
CARD_LOGIN_WARNING_FAILURES = 10  # in the last hour, on one village's cards, from one address
# Staff sign-ins from one address, counted apart from cards in the same window: a county
# office shares an address, so it is slowed, never locked out.
STAFF_LOGIN_ADDRESS_LIMIT = env_int("STAFF_LOGIN_ADDRESS_LIMIT", 10, minimum=1)
STAFF_LOGIN_ADDRESS_DELAY = 10  # seconds between staff sign-ins from such an address

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# English short dates as the pages write theirs (aidao/formats/en/formats.py).
FORMAT_MODULE_PATH = ["aidao.formats"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))


# Uploaded photos go through Django's storage API only (never a file path), so several app
# servers can share S3-compatible object storage: set S3_BUCKET (and S3_ENDPOINT_URL,
# S3_REGION; the access keys in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) and install
# django-storages[s3]. Photos stay private: views stream them to those allowed to see them.
def _installed(module: str, variable: str, package: str) -> None:
    """A setting that needs an optional package: refused at startup without it, not in the
    first page that uses it."""
    from importlib.util import find_spec

    if find_spec(module) is None:
        raise ImproperlyConfigured(f"{variable} needs the package {package}: pip install it.")


if os.environ.get("S3_BUCKET"):
    _installed("storages", "S3_BUCKET", "django-storages[s3]")
    _media_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ["S3_BUCKET"],
            "endpoint_url": os.environ.get("S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("S3_REGION") or None,
            "default_acl": "private",
            "querystring_auth": True,
        },
    }
else:
    _media_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": _media_storage,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# In development and tests whitenoise serves straight from the source folders.
WHITENOISE_USE_FINDERS = DEBUG or TESTING
WHITENOISE_AUTOREFRESH = DEBUG or TESTING
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 5_242_880
# The hygiene round's whole-village sheet sends up to nine fields a household (six checks,
# "not inspected", a note, its id): Django's default of 1,000 refused it past 125 households
# (啊道村 has 154). This carries a sheet of 1,110 (points.views.rounds.sheet_households_max:
# a larger one is not drawn, the round is done group by group); the memory limit above
# still bounds the body.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000
MAX_PHOTO_BYTES = 3 * 1024 * 1024
# An announcement's voice recording (core.audio): about 8 minutes of speech as Opus.
MAX_AUDIO_BYTES = 2 * 1024 * 1024
MAX_AUDIO_SECONDS = 180
# A donor's thanks link (reports.transparency) works this long after it was made.
THANKS_LINK_MAX_AGE_DAYS = env_int("THANKS_LINK_MAX_AGE_DAYS", 365, minimum=1)

# Calls one token of the read-only API may make (reports/api.py), as ninja's rate: "120/m".
API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "120/m")
# As django-ninja reads a rate: calls / an optional number of a unit (s, m, h, d, sec...).
if not re.fullmatch(r"[1-9]\d*/(?:[1-9]\d*)?(?:s|m|h|d|sec|min|hour|day)", API_RATE_LIMIT):
    raise ImproperlyConfigured(f"API_RATE_LIMIT={API_RATE_LIMIT!r}: calls per time, e.g. '120/m'.")

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Database sessions (any app server answers any request) with the user's id in a column.
SESSION_ENGINE = "core.sessions"

# Rendered page bodies are cached under keys made of what they show (a household's latest
# entry, a hash of the shelves...), so a stale body is never served: each app server may keep
# its own in-memory cache. Several servers can share one by setting REDIS_URL (needs `redis`).
if os.environ.get("REDIS_URL"):
    _installed("redis", "REDIS_URL", "redis")
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "OPTIONS": {"MAX_ENTRIES": 5000},
        }
    }
SESSION_COOKIE_AGE = 60 * 60 * 12

# Cookies: none is read by JavaScript (forms, htmx's included, send the CSRF token from the
# page's hidden field), so all are HttpOnly; SameSite=Lax; Secure in production (below).
# The large-type cookie (aidao.views.large_type) takes the language cookie's flags.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = LANGUAGE_COOKIE_SAMESITE = "Lax"

# Content-Security-Policy (django-csp): everything from the app's own origin, no inline
# script or style, no eval. Bootstrap's CSS draws select arrows, check marks and close
# buttons as data: SVG images, hence img-src data:. Card QR codes are inline <svg> markup.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        # An announcement's recording is played back before it is sent (a blob: URL).
        "media-src": [SELF, "blob:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "manifest-src": [SELF],
        "form-action": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Security headers; with DEBUG off they are the production defaults.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG and not TESTING:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # The load balancer probes the health check over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
if not isinstance(logging.getLevelName(LOG_LEVEL), int):  # a name logging knows
    raise ImproperlyConfigured(f"LOG_LEVEL={LOG_LEVEL!r}: DEBUG, INFO, WARNING, ERROR or CRITICAL.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "axes": {"level": "WARNING"},
        # The task queue says which job started and how it ended (procrastinate.worker);
        # not, in every process at start-up and every minute, which tasks it registered.
        "procrastinate.blueprints": {"level": "WARNING"},
        "procrastinate.periodic": {"level": "WARNING"},
    },
}
