from django.conf import settings
from django.contrib import admin
from django.contrib.staticfiles.urls import staticfiles_urlpatterns
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic.base import RedirectView

from billing.views import stripe_webhook, stripe_webhook_floor, stripe_webhook_floor_durable
from core import views as ops_views
from givrwrld.api import api
from givrwrld.security import AdminLoginForm

# The operator login counts against the same failed-login limits as the customers' (security.py).
admin.site.login_form = AdminLoginForm

urlpatterns = [
    # Browsers ask for /favicon.ico on pages without an icon link (the admin's): no 404 per page.
    path("favicon.ico", RedirectView.as_view(url=static("storefront/favicon.svg"), permanent=True)),
    path("admin/", admin.site.urls),
    # A plain view, not Ninja: the signature is checked over the raw body. Exact URL, no
    # trailing slash, because Stripe treats the redirect APPEND_SLASH would send as a failure.
    path("api/stripe/webhook", stripe_webhook, name="stripe-webhook"),
    path("api/", api.urls),
    # Operations: Prometheus scrape (token or allowed network), liveness, readiness.
    path("metrics", ops_views.metrics, name="metrics"),
    path("healthz", ops_views.healthz, name="healthz"),
    path("readyz", ops_views.readyz, name="readyz"),
    # Sign-up, e-mail verification, log in/out, password reset (django-allauth), and profile.
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("", include("storefront.urls")),
]

# Branded error pages (givrwrld/pages.py; with DEBUG on its middleware brands customer pages).
handler403 = "givrwrld.pages.permission_denied"
handler404 = "givrwrld.pages.page_not_found"
handler500 = "givrwrld.pages.server_error"

if settings.BENCH_FLOOR_VIEW:
    # bench/webhook_ingest.py only: verifies the signature and answers 200 (the floor).
    urlpatterns.append(path("bench/webhook-floor", stripe_webhook_floor))
    # ... and the durable floor: the signature check plus one committed INSERT of the event.
    urlpatterns.append(path("bench/webhook-floor-durable", stripe_webhook_floor_durable))

if settings.DEBUG:
    # The demo serves admin CSS itself; production puts static files behind the web server.
    urlpatterns += staticfiles_urlpatterns()
