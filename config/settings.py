"""snportal settings: one module, driven by environment variables.

Every variable is listed in README.md's configuration table. Readers in ``snportal.lib.env``
fail loudly on bad values. ``DATABASE_URL`` unset means the embedded PostgreSQL under ``var/``.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config import embedded_db
from snportal.lib.env import env_bool, env_int, env_list, env_path, env_str
from snportal.lib.keys import installation_key, require_strong

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = env_path("SNPORTAL_VAR_DIR", BASE_DIR / "var")

# Development by default (like healthchecks); production sets DEBUG=0.
DEBUG = env_bool("DEBUG", True)
# No key lives in the code: unset, each installation generates its own under VAR_DIR
# (snportal.lib.keys), shared by every process using that var directory. An explicitly
# configured key must be strong when DEBUG is off.
SECRET_KEY = env_str("SECRET_KEY") or installation_key(VAR_DIR, "secret_key")
if not DEBUG and env_str("SECRET_KEY"):
    require_strong("SECRET_KEY", SECRET_KEY, min_length=50)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_NAME = env_str("SITE_NAME", "snportal")

INSTALLED_APPS = [
    # The Django admin with every registration read-only (changes go through the portal).
    "snportal.admin_site.ReadOnlyAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_q",
    "snportal",
    "images",
    "nodes",
    "consoles",
    "hierarchy",
    "config",
]
# The lab (simulated BMCs, qemu nodes: lab/, ``runlab``) is a development tool, installed
# only when it is on: SNPORTAL_LAB=1 (``make run`` sets it unless told 0), and under pytest
# (pytest sets PYTEST_VERSION; its subprocesses inherit it). lab.defaults, applied at the
# end of this module, adds the app and the lab's guest-side portal address.
LAB = env_bool("SNPORTAL_LAB", "PYTEST_VERSION" in os.environ)

MIDDLEWARE = [
    "snportal.request_limits.RequestSizeLimitMiddleware",  # before anything reads a body
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "snportal.middleware.HostileInputMiddleware",
    "snportal.middleware.DeniedAuditMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "snportal.middleware.RequestContextMiddleware",
    "snportal.middleware.LoginRequiredEverywhereMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "snportal.context_processors.portal",
            ]
        },
    }
]

# --- Database: PostgreSQL only -------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    if not DATABASE_URL.startswith(("postgres://", "postgresql://")):
        raise ImproperlyConfigured(
            f"DATABASE_URL must be a postgresql:// URL; snportal runs on PostgreSQL only "
            f"(got scheme {DATABASE_URL.split(':', 1)[0]!r})."
        )
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "CONN_MAX_AGE": 60,
            **embedded_db.start(VAR_DIR),
        }
    }
DATABASES["default"].setdefault("TEST", {})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth ------------------------------------------------------------------------------------
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Failed logins per username or per client address inside the window before login is refused.
LOGIN_FAILURE_LIMIT = env_int("SNPORTAL_LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_FAILURE_WINDOW = env_int("SNPORTAL_LOGIN_FAILURE_WINDOW", 900, minimum=1)
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 12 * 3600, minimum=60)

# --- Secrets at rest (BMC passwords) ---------------------------------------------------------
# Any passphrase; a Fernet key is derived from it. Old keys still decrypt (rotation): list them
# in SNPORTAL_SECRETS_KEYS_OLD, then run `manage.py rotatesecrets` (docs/security.md, also for
# rows encrypted under the development key of earlier versions).
SECRETS_KEY = env_str("SNPORTAL_SECRETS_KEY") or installation_key(VAR_DIR, "secrets_key")
if not DEBUG and env_str("SNPORTAL_SECRETS_KEY"):
    require_strong("SNPORTAL_SECRETS_KEY", SECRETS_KEY, min_length=24)
SECRETS_KEYS = [SECRETS_KEY, *env_list("SNPORTAL_SECRETS_KEYS_OLD", [])]

# --- Paths that other apps read --------------------------------------------------------------
IMAGES_DIR = env_path("SNPORTAL_IMAGES_DIR", VAR_DIR / "images")
# Packed versions kept per image (the current one is never pruned).
IMAGE_VERSIONS_KEEP = env_int("SNPORTAL_IMAGE_VERSIONS_KEEP", 3, minimum=1)
CONSOLES_DIR = env_path("SNPORTAL_CONSOLES_DIR", VAR_DIR / "consoles")

# --- Console server (manage.py runconsoles) --------------------------------------------------
CONSOLES_BIND = env_str("SNPORTAL_CONSOLES_BIND", "127.0.0.1")
CONSOLES_PORT = env_int("SNPORTAL_CONSOLES_PORT", 8001, minimum=1)
# What browsers connect to (e.g. wss://portal.example.org behind a TLS proxy); empty means
# ws://<the host the page came from>:CONSOLES_PORT.
CONSOLES_URL = env_str("SNPORTAL_CONSOLES_URL", "")
# Browser origins allowed to open consoles; empty means the portal's own address
# (SNPORTAL_WEB_ADDR, as http://, plus localhost for it) and CSRF_TRUSTED_ORIGINS.
_web_addr = env_str("SNPORTAL_WEB_ADDR", "127.0.0.1:8000")
_web_port = _web_addr.rpartition(":")[2]
# The portal's address as users open it; wcons prints wall links under it.
PORTAL_URL = env_str("SNPORTAL_PORTAL_URL", f"http://{_web_addr}").rstrip("/")
CONSOLES_ORIGINS = env_list(
    "SNPORTAL_CONSOLES_ORIGINS",
    [f"http://{h}:{_web_port}" for h in ("127.0.0.1", "localhost", "[::1]")] + CSRF_TRUSTED_ORIGINS,
)
# Seconds a console ticket (minted by the web process for one user and console) stays valid.
CONSOLE_TICKET_SECONDS = env_int("SNPORTAL_CONSOLE_TICKET_SECONDS", 30, minimum=1)
CONSOLE_LOG_MAX_BYTES = env_int("SNPORTAL_CONSOLE_LOG_MAX_BYTES", 8 * 1024 * 1024, minimum=65536)
CONSOLE_LOG_KEEP = env_int("SNPORTAL_CONSOLE_LOG_KEEP", 4, minimum=1)
# Noderange whose consoles connect only while someone watches (the rest capture always).
CONSOLES_ONDEMAND = env_str("SNPORTAL_CONSOLES_ONDEMAND", "")

# --- Bounds on what one request may make the portal do (docs/security.md) ---------------------
# Names one noderange may generate or examine in total (range and group members, the nodes
# each regex or selector tests); past it the noderange is refused before any list is built.
NODERANGE_MAX = env_int("SNPORTAL_NODERANGE_MAX", 100_000, minimum=1000)
# Nodes CSV import: the largest file or pasted text, and the most rows.
CSV_MAX_BYTES = env_int("SNPORTAL_CSV_MAX_BYTES", 8 * 1024 * 1024, minimum=1024)
CSV_MAX_ROWS = env_int("SNPORTAL_CSV_MAX_ROWS", 100_000, minimum=1)
# The largest request body anyone may send (forms, JSON, uploads), refused with 413 unread:
# room for the CSV import's confirm step, which carries the CSV encrypted (a third larger).
REQUEST_MAX_BYTES = CSV_MAX_BYTES * 3 // 2 + 256 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_MAX_BYTES

# --- Boot service (node-facing; docs/boot-protocol.md) ----------------------------------------
# The portal as nodes reach it (xCAT's xcatmaster); by default the address the web process
# serves on (SNPORTAL_WEB_ADDR). With the lab on, the lab's guest-side address
# (lab.defaults). A node's own xcatmaster attribute overrides it.
BOOT_URL = env_str("SNPORTAL_BOOT_URL", f"http://{_web_addr}")
# Seconds a node may stay in a boot state before it is marked failed with the last stage.
BOOT_TIMEOUTS = {
    "powering-on": env_int("SNPORTAL_TIMEOUT_POWERING_ON", 180, minimum=10),
    "netbooting": env_int("SNPORTAL_TIMEOUT_NETBOOTING", 300, minimum=10),
    "booting": env_int("SNPORTAL_TIMEOUT_BOOTING", 600, minimum=10),
}
# Boot tokens (docs/security.md): scripts with a token per boot attempt, seconds a booted
# node's last report retries are still accepted, and per-minute request limits of the
# unauthenticated boot service (per node, per client address, new unknown MACs).
BOOT_TOKEN_ISSUES = env_int("SNPORTAL_BOOT_TOKEN_ISSUES", 3, minimum=1)
BOOT_TOKEN_GRACE = env_int("SNPORTAL_BOOT_TOKEN_GRACE", 60, minimum=0)
BOOT_RATE_PER_NODE = env_int("SNPORTAL_BOOT_RATE_PER_NODE", 30, minimum=1)
BOOT_RATE_PER_ADDRESS = env_int("SNPORTAL_BOOT_RATE_PER_ADDRESS", 300, minimum=1)
BOOT_UNKNOWN_MACS_PER_MINUTE = env_int("SNPORTAL_BOOT_UNKNOWN_MACS_PER_MINUTE", 60, minimum=1)
# makedhcp output: dnsmasq configuration and the TFTP directory with the iPXE chain.
DHCP_DIR = env_path("SNPORTAL_DHCP_DIR", VAR_DIR / "dhcp")
TFTP_DIR = env_path("SNPORTAL_TFTP_DIR", VAR_DIR / "tftp")
# Behind nginx: the internal location that maps to IMAGES_DIR (e.g. /protected-images);
# the portal then answers artifact requests with X-Accel-Redirect and nginx sends the file.
BOOT_ACCEL_REDIRECT = env_str("SNPORTAL_BOOT_ACCEL_REDIRECT", "")

# --- Service nodes: enrolment and the agent (docs/hierarchy.md) -------------------------------
# Where a service node reaches this PostgreSQL ("host" or "host:port"; the port defaults to
# the portal's own). The lab sets its guestfwd address (make run). Empty: the portal's
# own database host, which is right only when that name means the same on the service node.
SN_DATABASE_HOST = env_str("SNPORTAL_SN_DATABASE_HOST", "")
# Agent heartbeat period (seconds); routing treats an older heartbeat than the timeout as dead.
SN_HEARTBEAT_SECONDS = env_int("SNPORTAL_SN_HEARTBEAT_SECONDS", 5, minimum=1)
# Refused enrolment attempts per service node in ENROL_WINDOW seconds before /boot/enrol
# answers 429 (the secret is 256 bits: this bounds noise in the audit trail, not guessing).
SN_ENROL_FAILURE_LIMIT = env_int("SNPORTAL_SN_ENROL_FAILURE_LIMIT", 10, minimum=1)
SN_ENROL_WINDOW = env_int("SNPORTAL_SN_ENROL_WINDOW", 300, minimum=1)

# --- Role: management node (default) or service node (docs/hierarchy.md) ----------------------
# On a service node the same project serves only the node-facing /boot/ URLs, with artifacts
# from a local content-addressed cache filled from the management node (hierarchy.cache).
ROLE = env_str("SNPORTAL_ROLE", "management")
if ROLE not in ("management", "service"):
    raise ImproperlyConfigured(f"SNPORTAL_ROLE must be 'management' or 'service', not {ROLE!r}")
SERVICE_NODE = env_str("SNPORTAL_SERVICE_NODE", "")
MN_URL = env_str("SNPORTAL_MN_URL", "").rstrip("/")
SN_API_TOKEN = env_str("SNPORTAL_SN_API_TOKEN", "")
CACHE_DIR = env_path("SNPORTAL_CACHE_DIR", VAR_DIR / "cache")
CACHE_MAX_BYTES = env_int("SNPORTAL_CACHE_MAX_BYTES", 8 << 30, minimum=1 << 20)
if ROLE == "service":
    if not (SERVICE_NODE and MN_URL):
        raise ImproperlyConfigured(
            "SNPORTAL_ROLE=service needs SNPORTAL_SERVICE_NODE (this node's name) and "
            "SNPORTAL_MN_URL (the management node as this service node reaches it)"
        )
    ROOT_URLCONF = "config.urls_service"
    # Nodes ask for scripts and artifacts by this service node's address.
    _boot_host = urlsplit(BOOT_URL).hostname
    if _boot_host and _boot_host not in ALLOWED_HOSTS:
        ALLOWED_HOSTS = [*ALLOWED_HOSTS, _boot_host]

# --- Static files ----------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = env_path("STATIC_ROOT", BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Jobs (django-q2 on the same PostgreSQL) -------------------------------------------------
Q_CLUSTER = {
    # "name" is the site: django-q2 signs queued tasks with it as salt, so every cluster of
    # the site (the management node and each service node) must share it. "cluster_name"
    # is this process's queue: a service node's agent sets SNPORTAL_CLUSTER_NAME=sn01 and
    # runs only the work routed to it (docs/hierarchy.md).
    "name": "snportal",
    "cluster_name": env_str("SNPORTAL_CLUSTER_NAME", "snportal"),
    "orm": "default",
    "workers": env_int("SNPORTAL_WORKERS", 2, minimum=1),
    "timeout": env_int("SNPORTAL_JOB_TIMEOUT", 3 * 3600, minimum=10),
    "retry": env_int("SNPORTAL_JOB_TIMEOUT", 3 * 3600, minimum=10) + 60,
    "max_attempts": 1,
    "ack_failures": True,
    "catch_up": False,
    "poll": 0.2,
    "sync": env_bool("SNPORTAL_JOBS_SYNC", False),
    "label": "Jobs (django-q2)",
}

# --- Service nodes (docs/hierarchy.md) ----------------------------------------------------------
# How often a service node's agent reports it is alive, and how old its last report may be
# before routing sends its nodes' work to a backup (or fails it at once with the reason).
SN_HEARTBEAT_SECONDS = env_int("SNPORTAL_SN_HEARTBEAT_SECONDS", 5, minimum=1)
SN_HEARTBEAT_TIMEOUT = env_int("SNPORTAL_SN_HEARTBEAT_TIMEOUT", 30, minimum=2)

# --- Security: secure defaults when DEBUG is off ---------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    # Nodes netboot over plain HTTP (iPXE here has no TLS): never redirect the boot service.
    SECURE_REDIRECT_EXEMPT = [r"^boot/"]
    if env_bool("SECURE_PROXY_SSL_HEADER", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "pgserver": {"level": "WARNING"},
    },
}

if LAB:
    from lab import defaults as lab_defaults

    lab_defaults.apply(globals())
