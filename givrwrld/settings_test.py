"""Settings for the test suite: the real settings, fed a fixed, harmless environment.

`DATABASE_URL` is left alone so CI can run the same suite on SQLite and on MariaDB.
"""

import os

os.environ["GIVRWRLD_SKIP_DOTENV"] = "1"
_TEST_ENV = {
    "SECRET_KEY": "test-secret-key-not-for-production",
    # 32 zero-free bytes, base64: a test key only.
    "AES_KEY": "dGVzdC1hZXMta2V5LTMyLWJ5dGVzLWxvbmctISEhISE=",
    "STRIPE_SECRET_KEY": "sk_test_sandbox",
    "STRIPE_WEBHOOK_SECRET": "whsec_test_secret_for_the_suite",
    "INTERNAL_API_TOKEN": "test-internal-token",
    "API_URL": "http://testserver",
    "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
    "SANDBOX_ALLOWED": "1",
    "PROVISION_BACKOFF_BASE_SECONDS": "0",
    "PROVISION_BACKOFF_MAX_SECONDS": "0",
    # The suite speaks plain HTTP to the test client and to loopback servers (DEBUG is off, so
    # production's HTTPS-only defaults would apply; tests/security checks those defaults).
    "SECURE_SSL_REDIRECT": "0",
    "SESSION_COOKIE_SECURE": "0",
    "CSRF_COOKIE_SECURE": "0",
    # Background panel calls unpaced in practice (2.5 ms apart): tests of the pace set it back.
    "PANEL_BACKGROUND_SHARE": "100",
}
for _name, _value in _TEST_ENV.items():
    os.environ.setdefault(_name, _value)

from givrwrld.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not memory: the fault suite runs real worker processes against the test database.
    VAR_DIR.mkdir(exist_ok=True)  # noqa: F405
    # GIVRWRLD_TEST_SQLITE names another file, so two suites can run side by side in one tree.
    _test_db = os.environ.get("GIVRWRLD_TEST_SQLITE", "test-givrwrld.sqlite3")
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / _test_db)}  # noqa: F405
