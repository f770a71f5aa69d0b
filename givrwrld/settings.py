"""Settings, read from the environment (and from `.env`, which `make run` writes once).

Every variable is listed in `.env.example`. Production runs with DEBUG off, MySQL/MariaDB,
real Stripe keys and a real panel; the embedded default is SQLite and the two sandboxes.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

from core.env import env_bool, env_float, env_int, env_list, env_str
from core.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

# `.env` never overrides a variable that is already set; the test settings skip it entirely so a
# developer's demo configuration never leaks into a test run.
if not env_bool("GIVRWRLD_SKIP_DOTENV", False):
    load_dotenv(BASE_DIR / ".env", override=False)

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY") or ("insecure-dev-only-key" if DEBUG else "")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # The operator console's theme (django-unfold): before django.contrib.admin, whose
    # templates it overrides; it swaps in its own admin site (docs/console.md).
    "unfold",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "core",
    "accounts",
    "catalog",
    "billing",
    "provisioning",
    "panel",
    "storefront",
    "console",
    "allauth",
    "allauth.account",
    # Django Ninja's templates and static Swagger UI: the API docs are served from our own
    # origin (the CSP allows no CDN scripts).
    "ninja",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "givrwrld.urls"
WSGI_APPLICATION = "givrwrld.wsgi.application"

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
                "givrwrld.pages.site",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'givrwrld.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web and worker are separate processes on one file: wait for the lock instead of failing,
    # take the write lock at BEGIN (no upgrade deadlocks), and let readers run beside a writer.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    DATABASES["default"]["OPTIONS"] = {
        "charset": "utf8mb4",
        "isolation_level": "read committed",
    }
    DATABASES["default"]["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "home"

# Customer accounts (django-allauth): e-mail is the login, there is no username, and an address
# must be verified before its owner can sign in (the link is e-mailed; the demo prints mail to
# the console). Staff sign in to the admin with Django's own backend.
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = env_str("ACCOUNT_EMAIL_VERIFICATION", "mandatory")
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_REDIRECT_URL = "home"
# The shop's name in every page title, header and mail (allauth's mails included: its adapter
# would otherwise call the site by the request's host, "Hello from 127.0.0.1:3001!").
SITE_NAME = env_str("SITE_NAME", "GIVRwrld").strip() or "GIVRwrld"
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if not DEBUG else "http"
# The game panel's e-mail rule on top of allauth's own checks (accounts/panel_email.py).
ACCOUNT_FORMS = {
    "signup": "accounts.forms.PanelSignupForm",
    "add_email": "accounts.forms.PanelAddEmailForm",
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# Pico CSS is fetched by `make static` into storefront/static/vendor/ (not committed).

# Background work: the Django Tasks API with the database backend (`manage.py db_worker`).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# --- Product configuration -------------------------------------------------------------------
API_URL = env_str("API_URL", "http://127.0.0.1:3001").rstrip("/")
AES_KEY = env_str("AES_KEY")
INTERNAL_API_TOKEN = env_str("INTERNAL_API_TOKEN")
ALERT_URLS = env_list("ALERT_URLS", [])

STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")
# Only for the offline demo and tests: where the Stripe sandbox listens. Empty = real Stripe.
STRIPE_API_BASE = env_str("STRIPE_API_BASE").rstrip("/")
# A sandbox URL is refused while DEBUG is off unless the operator asks for it explicitly.
SANDBOX_ALLOWED = env_bool("SANDBOX_ALLOWED", False)
STRIPE_TIMEOUT_SECONDS = env_float("STRIPE_TIMEOUT_SECONDS", 20.0)
# Checkout features done by Stripe (docs/operators.md, "Stripe Checkout features").
STRIPE_ALLOW_PROMOTION_CODES = env_bool("STRIPE_ALLOW_PROMOTION_CODES", False)
STRIPE_AUTOMATIC_TAX = env_bool("STRIPE_AUTOMATIC_TAX", False)
STRIPE_RECEIPT_EMAILS = env_bool("STRIPE_RECEIPT_EMAILS", True)
# How long a checkout holds its capacity; the Checkout Session expires at the same moment
# (Stripe allows expires_at 30 min-24 h after the session is created; docs/storefront.md,
# "Holds"). Short, so an abandoned checkout gives its room back soon.
CHECKOUT_EXPIRES_SECONDS = env_int("CHECKOUT_EXPIRES_SECONDS", 1800)
if not 1800 <= CHECKOUT_EXPIRES_SECONDS <= 86400:
    raise ImproperlyConfigured("CHECKOUT_EXPIRES_SECONDS must be between 1800 and 86400")
# Unpaid checkouts (holds) one customer may have open at once; the next one is refused with a
# link to complete the pending payment.
CHECKOUT_MAX_UNPAID = env_int("CHECKOUT_MAX_UNPAID", 2)
if CHECKOUT_MAX_UNPAID < 1:
    raise ImproperlyConfigured("CHECKOUT_MAX_UNPAID must be 1 or more")
# How many waiting customers one capacity event mails per plan and region
# (docs/ports-and-placement.md, "Waitlist").
WAITLIST_NOTIFY_COUNT = env_int("WAITLIST_NOTIFY_COUNT", 5)
if WAITLIST_NOTIFY_COUNT < 1:
    raise ImproperlyConfigured("WAITLIST_NOTIFY_COUNT must be 1 or more")

# Panel servers and users carry external ids derived from our ids; the prefix keeps two
# installations that share one panel from claiming each other's servers.
PANEL_EXTERNAL_ID_PREFIX = env_str("PANEL_EXTERNAL_ID_PREFIX", "givrwrld")
PANEL_TIMEOUT_SECONDS = env_float("PANEL_TIMEOUT_SECONDS", 15.0)
PANEL_CREATE_TIMEOUT_SECONDS = env_float("PANEL_CREATE_TIMEOUT_SECONDS", 60.0)
# Stay under the panel's rate limit (240/min by default, one fixed 60 s window per admin
# user): the client waits for the window to reset when X-RateLimit-Remaining runs out.
PANEL_SELF_THROTTLE = env_bool("PANEL_SELF_THROTTLE", True)
PANEL_RATE_LIMIT_PER_MINUTE = env_int("PANEL_RATE_LIMIT_PER_MINUTE", 240)
# Background panel calls (the panel sync duty: catalogue, install watch, vanished check) spend
# at most this share of PANEL_RATE_LIMIT_PER_MINUTE, one call every 60 / (limit x share) s
# across all workers (core/panel_budget.py, docs/operators.md "Background panel traffic").
PANEL_BACKGROUND_SHARE = env_float("PANEL_BACKGROUND_SHARE", 0.05)
if PANEL_BACKGROUND_SHARE <= 0:
    raise ImproperlyConfigured("PANEL_BACKGROUND_SHARE must be above 0 (0.05 = 5 %)")

# Client area (docs/storefront.md): live state read with the client key, kept this long in
# the shared cache (the panel itself caches resources 20 s), fetched with this many threads
# at most; power actions per customer and minute.
LIVE_STATE_CACHE_SECONDS = env_int("LIVE_STATE_CACHE_SECONDS", 10)
LIVE_STATE_WORKERS = env_int("LIVE_STATE_WORKERS", 4)
LIVE_STATE_TIMEOUT_SECONDS = env_int("LIVE_STATE_TIMEOUT_SECONDS", 3)
POWER_ACTIONS_PER_MINUTE = env_int("POWER_ACTIONS_PER_MINUTE", 10)

# Provisioning retries (retryable panel errors only: connection, timeout, 5xx, 429).
PROVISION_MAX_ATTEMPTS = env_int("PROVISION_MAX_ATTEMPTS", 6)
PROVISION_BACKOFF_BASE_SECONDS = env_float("PROVISION_BACKOFF_BASE_SECONDS", 5.0)
PROVISION_BACKOFF_MAX_SECONDS = env_float("PROVISION_BACKOFF_MAX_SECONDS", 300.0)
# A worker that holds an order in 'provisioning' longer than this is presumed dead.
PROVISION_LEASE_SECONDS = env_int("PROVISION_LEASE_SECONDS", 300)
# Retrying stops (order 'error', alert) once an order has waited this long since payment.
PROVISION_MAX_AGE_SECONDS = env_int("PROVISION_MAX_AGE_SECONDS", 86400)

# Billing lifecycle (docs/billing-lifecycle.md).
# Days a subscription may stay unpaid (past_due/unpaid) before the server is suspended.
SUSPEND_GRACE_DAYS = env_float("SUSPEND_GRACE_DAYS", 3)
# Days a suspended server of an ended subscription is kept before it is deleted in the panel.
RETENTION_DAYS = env_float("RETENTION_DAYS", 14)
# Warn the customer this many days before the deletion.
TERMINATION_WARNING_DAYS = env_float("TERMINATION_WARNING_DAYS", 3)
# What a full refund does: terminate (delete the server), suspend, or nothing.
REFUND_ACTION = env_str("REFUND_ACTION", "terminate")
# What a lost dispute does: terminate or suspend (an open dispute always suspends).
DISPUTE_LOST_ACTION = env_str("DISPUTE_LOST_ACTION", "terminate")

# Periodic duties, each run by one worker per interval under a lease (core/duties.py,
# docs/RELIABILITY.md). A dead holder's duty is taken over within max(interval, lease) + poll.
HEARTBEAT_INTERVAL_SECONDS = env_float(
    "HEARTBEAT_INTERVAL_SECONDS", env_float("WORKER_TICK_SECONDS", 15.0)
)
RECONCILE_INTERVAL_SECONDS = env_float("RECONCILE_INTERVAL_SECONDS", 60.0)
BILLING_SCAN_INTERVAL_SECONDS = env_float("BILLING_SCAN_INTERVAL_SECONDS", 60.0)
PANEL_SYNC_INTERVAL_SECONDS = env_float("PANEL_SYNC_INTERVAL_SECONDS", 600.0)
# A duty's lease; its holder renews it every third of this while the duty runs.
DUTY_LEASE_SECONDS = env_float("DUTY_LEASE_SECONDS", 60.0)
# How often each worker's scheduler looks for a due duty (a read; it writes only to take one).
DUTY_POLL_SECONDS = env_float("DUTY_POLL_SECONDS", 2.0)
# A 'paid' order with no progress this long is queued again.
RECONCILE_PAID_AFTER_SECONDS = env_int("RECONCILE_PAID_AFTER_SECONDS", 60)
# A 'pending' order older than this is checked against Stripe (a webhook may have been missed).
RECONCILE_PENDING_AFTER_SECONDS = env_int("RECONCILE_PENDING_AFTER_SECONDS", 120)
# A server still 'installing' this long after creation raises an alert.
INSTALL_TIMEOUT_SECONDS = env_int("INSTALL_TIMEOUT_SECONDS", 1800)

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
# json (one object per line, with order_id / stripe_event_id / panel_server_id) or plain.
LOG_FORMAT = env_str("LOG_FORMAT", "plain" if DEBUG else "json").strip().lower()
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain, got {LOG_FORMAT!r}")
LOGGING = logging_config(log_format=LOG_FORMAT, level=LOG_LEVEL)

# --- Operations: /metrics, /healthz, /readyz (docs/observability.md) -------------------------
# /metrics answers a request with `Authorization: Bearer $METRICS_TOKEN`, or one from an
# address in METRICS_ALLOWED_NETWORKS (CIDRs); with neither set it answers 403.
METRICS_TOKEN = env_str("METRICS_TOKEN")
METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS", [])
READY_WORKER_MAX_AGE_SECONDS = env_int("READY_WORKER_MAX_AGE_SECONDS", 120)
READY_PANEL_CACHE_SECONDS = env_float("READY_PANEL_CACHE_SECONDS", 30.0)
READY_PANEL_TIMEOUT_SECONDS = env_float("READY_PANEL_TIMEOUT_SECONDS", 5.0)
READY_TASK_MAX_AGE_SECONDS = env_int("READY_TASK_MAX_AGE_SECONDS", 300)
READY_PAID_MAX_AGE_MINUTES = env_int("READY_PAID_MAX_AGE_MINUTES", 15)
# An order in 'provisioning' whose lease ran out longer ago than this (the reconciler should
# have resumed it) fails /readyz; so does a duty not started for twice its interval.
READY_PROVISIONING_GRACE_SECONDS = env_float("READY_PROVISIONING_GRACE_SECONDS", 120.0)
# Benchmarks only (bench/webhook_ingest.py): a twin of the webhook that only verifies the
# signature, to measure the floor the real webhook is compared with.
BENCH_FLOOR_VIEW = env_bool("BENCH_FLOOR_VIEW", False)

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "billing@localhost")
# SMTP for sign-up verification and password-reset mail (EMAIL_BACKEND=...smtp.EmailBackend).
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)

# === Security: proxy, TLS, cookies, CSP, the shared cache and login limits ==================
# (issue 14; docs/deploy.md explains each setting and the proxy set-up.)

# How many reverse proxies we run in front of gunicorn (each appends the address it saw to
# X-Forwarded-For). The client's address is the entry that many places from the right; with 0
# (no proxy) the header is ignored and the TCP peer (REMOTE_ADDR) is the client. Anything to
# the left of our proxies' entries was written by the client and is never trusted.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 0 or more")
# allauth resolves the client address for its limits itself (allauth.core.internal.httpkit
# get_client_ip: X-Forwarded-For, the TRUSTED_PROXY_COUNT-th entry from the right).
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT
MIDDLEWARE.insert(1, "givrwrld.security.TrustedProxyMiddleware")

# TLS is terminated by the proxy, which tells us the original scheme in this header
# ("X-Forwarded-Proto", value "https"). Default: that header when a proxy is configured.
_proxy_ssl_header = env_str(
    "SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto" if TRUSTED_PROXY_COUNT else ""
).strip()
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https") if _proxy_ssl_header else None
)
# With DEBUG off: HTTPS only (redirect, secure cookies, HSTS) unless turned off explicitly.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# The health probes are answered on plain HTTP (a load balancer checks gunicorn directly).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content Security Policy (django-csp 4) for the customer pages: scripts, styles and fonts
# from our own origin only (no inline code: storefront/static holds it), images also as data:
# URIs (Pico's form icons). Forms may post to us and be redirected on to Stripe Checkout
# or its Customer Portal (browsers apply form-action to the redirect). The admin keeps
# Django's own pages unpoliced.
INSTALLED_APPS.append("csp")
# (givrwrld.security's subclass adds the Stripe sandbox's origin when STRIPE_API_BASE is set.)
MIDDLEWARE.append("givrwrld.security.ContentSecurityPolicyMiddleware")
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/admin/"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        # billing.stripe.com: the Customer Portal our "Invoices and payment method" form
        # is redirected to (Stripe API, billing_portal.sessions: url).
        "form-action": ["'self'", "https://checkout.stripe.com", "https://billing.stripe.com"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    },
}

# One cache for every process: the login limits below count in it, so N gunicorn workers on M
# machines share one budget. Default: a table in the main database (`migrate` creates it; no
# new server for the embedded default). Production: CACHE_URL=redis://host:6379/0.
CACHE_URL = env_str("CACHE_URL").strip()
CACHES: dict[str, dict[str, object]]
if CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "givrwrld",
        }
    }
elif CACHE_URL in ("", "db", "database"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "givrwrld_cache",
            # Counters live minutes; cull the oldest third past this many rows.
            "OPTIONS": {"MAX_ENTRIES": 100000, "CULL_FREQUENCY": 3},
        }
    }
else:
    raise ImproperlyConfigured(f"CACHE_URL must be empty, db or redis://..., got {CACHE_URL!r}")

# Login limits (django-allauth's, in the cache above), per client address and per account:
# failed customer logins, failed operator logins (the admin's form goes through the same
# limits: givrwrld/security.py) and the other account actions. Rates are allauth's syntax,
# "<count>/<period>/<ip|key|user>", comma separated.
ACCOUNT_RATE_LIMITS = {
    "login_failed": env_str("RATE_LIMIT_LOGIN_FAILED", "10/5m/ip,5/5m/key"),
    "login": env_str("RATE_LIMIT_LOGIN", "30/m/ip"),
    "signup": env_str("RATE_LIMIT_SIGNUP", "20/m/ip"),
    "reset_password": env_str("RATE_LIMIT_RESET_PASSWORD", "20/m/ip,5/m/key"),
    # Checkout creation (ours, counted by allauth's limiter in the same cache): per signed-in
    # customer and per client address.
    "checkout": env_str("RATE_LIMIT_CHECKOUT", "10/m/user,30/m/ip"),
}
# Verification mails (sign-up, unverified log-in, *Send the link again*): one per address per
# 3 minutes (allauth's default) and a ceiling per client address.
ACCOUNT_RATE_LIMITS["confirm_email"] = env_str("RATE_LIMIT_CONFIRM_EMAIL", "1/3m/key,20/h/ip")

# Branded 404/403/500 pages for the customer pages, with DEBUG on too (the demo); the admin,
# the API and static files keep Django's own answers. Innermost, so the CSP header and the
# other middleware apply to the branded page (givrwrld/pages.py).
MIDDLEWARE.append("givrwrld.pages.BrandedErrorPagesMiddleware")
CSRF_FAILURE_VIEW = "givrwrld.pages.csrf_failure"

# A quiet log: no per-tick lines when the tick did nothing (givrwrld/logquiet.py), no line per
# Stripe API call (the SDK logs each request at INFO; failures are logged by billing).
LOG_ROUTINE = env_bool("LOG_ROUTINE", False)
LOGGING["loggers"]["stripe"] = {"level": "WARNING"}
if not LOG_ROUTINE:
    LOGGING["filters"]["routine"] = {"()": "givrwrld.logquiet.RoutineFilter"}
    LOGGING["handlers"]["console"]["filters"].append("routine")


# === The operator console (docs/console.md) =================================================
UNFOLD = {
    "SITE_TITLE": "GIVRwrld console",
    "SITE_HEADER": "GIVRwrld",
    "SITE_SYMBOL": "dns",
    "DASHBOARD_CALLBACK": "console.views.dashboard_callback",
    "SHOW_HISTORY": True,
    "SIDEBAR": {"show_search": True, "show_all_applications": True},
}
# doctor warns when a region can place fewer servers of an active plan than this.
STOCK_WARN_BELOW = env_int("STOCK_WARN_BELOW", 2)
# doctor warns when the worker's heartbeat is older than this (seconds).
HEARTBEAT_STALE_SECONDS = env_float("HEARTBEAT_STALE_SECONDS", 120.0)
