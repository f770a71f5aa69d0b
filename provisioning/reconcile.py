"""The reconciler: finds work that fell through the cracks and puts it back on track.

Run by the worker's duties (provisioning/duties.py: every RECONCILE_INTERVAL_SECONDS, the
panel checks with the panel sync) and by `manage.py reconcile`. Each check is safe to repeat:
queuing an order twice is harmless (the claim lets one worker in), and each alert is sent once
per order.

- stuck provisioning: 'provisioning' with an expired lease, or between tries with no progress
  for a lease period -> queued again (the resumed try looks the server up by external_id first);
- paid, not queued: 'paid' with no progress for RECONCILE_PAID_AFTER_SECONDS -> queued;
- missed webhook: 'pending' older than RECONCILE_PENDING_AFTER_SECONDS -> its Checkout Session
  is read from Stripe: paid -> order paid and queued; expired -> cancelled, port released;
- install hangs: provisioned, the panel still says 'installing' after INSTALL_TIMEOUT_SECONDS
  (or 'install_failed') -> alert;
- vanished: provisioned, but the panel has no server with that id -> alert.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from billing.models import Order, OrderStatus
from billing.services import order_reconcile_pending
from core.alerts import alert_send
from core.errors import ServiceError
from panel.client import PanelClient
from panel.errors import PanelError
from panel.types import PanelServer
from provisioning.services import provisioning_enqueue, provisioning_queued_order_ids

logger = logging.getLogger(__name__)

# Missed webhooks older than this are Stripe's to resend, not ours to chase (sessions live
# 24 h at most).
_PENDING_HORIZON = timedelta(days=2)
_INSTALL_WATCH_HORIZON = timedelta(days=2)


@dataclass
class ReconcileReport:
    resumed: list[int] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)
    pending_checked: dict[int, str] = field(default_factory=dict)
    installed: list[int] = field(default_factory=list)
    install_alerts: list[int] = field(default_factory=list)
    vanished_alerts: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    billing_synced: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"resumed {len(self.resumed)}, requeued {len(self.requeued)}, "
            f"pending checked {len(self.pending_checked)}, installed {len(self.installed)}, "
            f"install alerts {len(self.install_alerts)}, vanished alerts "
            f"{len(self.vanished_alerts)}, problems {len(self.problems)}"
        )


def reconcile(
    *,
    client: PanelClient | None = None,
    panel_checks: bool = True,
    orders: bool = True,
    billing: bool = True,
) -> ReconcileReport:
    """Everything (`manage.py reconcile`), or a part: the worker's duties (provisioning/
    duties.py) run the order checks, the billing scan and the panel checks apart."""
    report = ReconcileReport()
    now = timezone.now()
    if orders:
        _resume_stuck(report, now)
        _requeue_paid(report, now)
        _check_pending(report, now)
    if billing:
        from provisioning.lifecycle import billing_scan

        report.billing_synced = billing_scan()
    if panel_checks:
        own = client is None
        try:
            client = client or PanelClient.from_settings()
            # One listing of the panel's servers serves both checks (a page per 100 servers,
            # not a call per order), and is fetched only if an order needs it.
            servers = _PanelServers(client)
            _watch_installs(report, servers, now)
            _find_vanished(report, servers, now)
        except PanelError as exc:
            report.problems.append(f"panel checks skipped: {exc}")
        finally:
            if own and client is not None:
                client.close()
    logger.info("Reconcile: %s", report)
    return report


def _resume_stuck(report: ReconcileReport, now: object) -> None:
    lease = timedelta(seconds=settings.PROVISION_LEASE_SECONDS)
    stuck = Order.objects.filter(status=OrderStatus.PROVISIONING).filter(
        Q(lease_until__lt=now) | Q(lease_until__isnull=True, updated_at__lt=now - lease)  # type: ignore[operator]
    )
    for order_id in stuck.values_list("pk", flat=True):
        provisioning_enqueue(order_id=order_id)
        report.resumed.append(order_id)


def _requeue_paid(report: ReconcileReport, now: object) -> None:
    quiet = timedelta(seconds=settings.RECONCILE_PAID_AFTER_SECONDS)
    paid = Order.objects.filter(status=OrderStatus.PAID, updated_at__lt=now - quiet)  # type: ignore[operator]
    waiting = provisioning_queued_order_ids()
    for order_id in paid.values_list("pk", flat=True):
        if order_id in waiting:
            continue
        provisioning_enqueue(order_id=order_id)
        report.requeued.append(order_id)


def _check_pending(report: ReconcileReport, now: object) -> None:
    after = timedelta(seconds=settings.RECONCILE_PENDING_AFTER_SECONDS)
    pending = Order.objects.filter(
        # A checkout that never stored its session is released once its hold is over.
        Q(stripe_session_id__isnull=False) | Q(hold_expires_at__lt=now),
        status=OrderStatus.PENDING,
        created_at__lt=now - after,  # type: ignore[operator]
        created_at__gt=now - _PENDING_HORIZON,  # type: ignore[operator]
    )
    for order_id in pending.values_list("pk", flat=True):
        try:
            report.pending_checked[order_id] = order_reconcile_pending(order_id=order_id)
        except ServiceError as exc:  # Stripe unreachable: try again next round
            report.problems.append(f"order #{order_id}: {exc.message}")
            break


class ServerLookup(Protocol):
    def get(self, server_id: int) -> PanelServer | None: ...


class _PanelServers:
    def __init__(self, client: PanelClient) -> None:
        self.client = client
        self._by_id: dict[int, PanelServer] | None = None

    def get(self, server_id: int) -> PanelServer | None:
        if self._by_id is None:
            self._by_id = {server.id: server for server in self.client.servers_iter()}
        return self._by_id.get(server_id)


def _watch_installs(
    report: ReconcileReport,
    servers: ServerLookup,
    now: object,
    *,
    order_ids: list[int] | None = None,
) -> None:
    watching = Order.objects.filter(
        status=OrderStatus.PROVISIONED,
        installed_at__isnull=True,
        install_alerted_at__isnull=True,
        provisioned_at__gt=now - _INSTALL_WATCH_HORIZON,  # type: ignore[operator]
    ).exclude(ptero_server_id=None)
    if order_ids is not None:
        watching = watching.filter(pk__in=order_ids)
    timeout = timedelta(seconds=settings.INSTALL_TIMEOUT_SECONDS)
    for order in watching:
        assert order.ptero_server_id is not None
        server = servers.get(order.ptero_server_id)
        if server is None:
            continue  # gone from the panel: the vanished check reports it

        if server.status not in ("installing", "install_failed"):
            Order.objects.filter(pk=order.pk).update(installed_at=now)
            report.installed.append(order.pk)
        elif server.status == "install_failed" or order.provisioned_at < now - timeout:  # type: ignore[operator]
            Order.objects.filter(pk=order.pk).update(install_alerted_at=now)
            report.install_alerts.append(order.pk)
            alert_send(
                title=f"Order #{order.pk}: server install {server.status}",
                body=f"Panel server {server.id} ({server.identifier}) is still '{server.status}' "
                f"since {order.provisioned_at:%Y-%m-%d %H:%M} UTC. Check the node's Wings "
                "(image pull, disk), then reinstall the server from the panel.",
                order_id=order.pk,
            )


def _find_vanished(report: ReconcileReport, servers: ServerLookup, now: object) -> None:
    ours = dict(
        Order.objects.filter(status=OrderStatus.PROVISIONED, vanished_alerted_at__isnull=True)
        .exclude(ptero_server_id=None)
        .values_list("ptero_server_id", "pk")
    )
    for server_id, order_id in ours.items():
        if server_id is None or servers.get(server_id) is not None:
            continue
        # Still provisioned and not yet alerted (a paced check may have taken long to get here).
        if not Order.objects.filter(
            pk=order_id, status=OrderStatus.PROVISIONED, vanished_alerted_at__isnull=True
        ).update(vanished_alerted_at=now):
            continue
        report.vanished_alerts.append(order_id)
        alert_send(
            title=f"Order #{order_id}: panel server {server_id} is gone",
            body=f"The order is 'provisioned' but the panel has no server {server_id}. It was "
            "deleted in the panel by hand, or the panel was restored from an older backup. "
            "Recreate it (retry the order after marking it 'error') or refund the customer.",
            order_id=order_id,
        )
