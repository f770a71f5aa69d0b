"""`manage.py doctor`: is this installation ready to sell? Each check names what to fix.

Reads only, plus one read call to the panel and one to Stripe (the webhook endpoints). core
holds the report, its order and its own checks (secrets, alerts, the worker); the checks of
the catalogue, the panel, provisioning and billing live in those apps (<app>/doctor.py), which
register them here in their AppConfig.ready(): core imports none of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings

from core.registry import Registry


@dataclass
class Check:
    name: str
    problems: list[str] = field(default_factory=list)
    # Figures shown under the check's line (e.g. the stock per plan and region).
    details: list[str] = field(default_factory=list)
    # Worth fixing, but the shop still sells: printed as WARN, the exit status stays 0.
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_secrets() -> Check:
    from core.crypto import decrypt
    from core.models import Secret

    check = Check("AES_KEY decrypts every stored secret")
    for row in Secret.objects.order_by("name"):
        try:
            decrypt(bytes(row.ciphertext), associated_data=row.name)
        except Exception as exc:
            check.problems.append(f"{exc} ({row.name}: set it again with `manage.py secrets set`)")
    return check


# --- warnings (docs/console.md, "doctor's warnings") -----------------------------------------


def check_alert_urls() -> Check:
    check = Check("Alerts are delivered somewhere (ALERT_URLS)")
    if not settings.ALERT_URLS:
        check.warnings.append(
            "ALERT_URLS is empty: alerts are only stored (admin → Core → Alerts), nobody is "
            "told. Set one or more apprise URLs, e.g. mailto://..., or json:// to a webhook"
        )
    return check


def check_worker() -> Check:
    from core.duties import duties_overdue
    from core.heartbeats import heartbeat_age

    check = Check("The worker beats and its duties run")
    limit = settings.HEARTBEAT_STALE_SECONDS
    age = heartbeat_age(name="worker")
    if age is None:
        check.warnings.append("no worker heartbeat yet: start `manage.py worker`")
    elif age.total_seconds() > limit:
        check.warnings.append(
            f"the worker's last heartbeat was {age.total_seconds():.0f}s ago (limit {limit:g}s): "
            "is `manage.py worker` running and reaching the database?"
        )
    for late in duties_overdue():
        check.warnings.append(
            f"duty '{late.name}' last started {late.describe_age()} (limit {late.limit:g}s)"
        )
    return check


DoctorCheck = Callable[[], Check | list[Check]]

# Every check, in the order doctor prints them. core's own are registered below; the others by
# the app whose state they read, in its AppConfig.ready() (catalog/doctor.py, panel/doctor.py,
# provisioning/doctor.py, billing/doctor.py): core may not import them (docs/architecture.md).
CHECKS: Registry[DoctorCheck] = Registry(
    order=(
        "plans",
        "regions",
        "nodes",
        "stock",
        "port_sets",
        "panel",
        "panel_client_key",
        "stripe",
        "stripe_webhook",
        "secrets",
        "alert_urls",
        "worker",
        "stock_threshold",
    )
)
CHECKS.register("secrets", check_secrets)
CHECKS.register("alert_urls", check_alert_urls)
CHECKS.register("worker", check_worker)


def doctor_run() -> list[Check]:
    """Every registered check, in a fixed order."""
    results: list[Check] = []
    for check in CHECKS:
        result = check()
        results.extend(result if isinstance(result, list) else [result])
    return results
