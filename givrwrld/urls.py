from django.conf import settings
from django.contrib import admin
from django.contrib.staticfiles.urls import staticfiles_urlpatterns
from django.urls import include, path

from billing.views import stripe_webhook
from givrwrld.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    # A plain view, not Ninja: the signature is checked over the raw body. Exact URL, no
    # trailing slash, because Stripe treats the redirect APPEND_SLASH would send as a failure.
    path("api/stripe/webhook", stripe_webhook, name="stripe-webhook"),
    path("api/", api.urls),
    # Sign-up, e-mail verification, log in/out, password reset (django-allauth), and profile.
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("", include("storefront.urls")),
]

if settings.DEBUG:
    # The demo serves admin CSS itself; production puts static files behind the web server.
    urlpatterns += staticfiles_urlpatterns()
