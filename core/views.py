"""Operations endpoints: /metrics (Prometheus), /healthz (process up), /readyz (can serve)."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from core.health import client_ip_allowed, readiness_report
from core.metrics import metrics_render


def _metrics_access(request: HttpRequest) -> int | None:
    """None when allowed, else the status to refuse with (401 bad/missing token, 403 not
    configured or not from an allowed network)."""
    token = settings.METRICS_TOKEN
    if token:
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token):
            return None
    networks = settings.METRICS_ALLOWED_NETWORKS
    if networks and client_ip_allowed(request.META.get("REMOTE_ADDR"), networks):
        return None
    return 401 if token else 403


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    refused = _metrics_access(request)
    if refused == 401:
        response = JsonResponse({"detail": "Bearer token required."}, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if refused is not None:
        return JsonResponse({"detail": "Metrics are not available from here."}, status=403)
    body, content_type = metrics_render()
    return HttpResponse(body, content_type=content_type)


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """The process answers. Touches nothing else (no database), so a slow database never gets
    a healthy web process restarted."""
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request: HttpRequest) -> HttpResponse:
    ok, checks = readiness_report()
    return JsonResponse(
        {"status": "ok" if ok else "unavailable", "checks": [c.as_dict() for c in checks]},
        status=200 if ok else 503,
    )
