"""The periodic duties every worker's scheduler runs, each under its lease (core/duties.py).

- heartbeat (HEARTBEAT_INTERVAL_SECONDS): beats `worker`, which /readyz reads;
- reconcile (RECONCILE_INTERVAL_SECONDS): stuck provisioning, paid not queued, missed webhooks;
- billing_scan (BILLING_SCAN_INTERVAL_SECONDS): a billing sync for each order whose
  time-driven state changed (grace over, retention over);
- panel_sync (PANEL_SYNC_INTERVAL_SECONDS): eggs, nodes and allocations from the panel, then
  the install and vanished-server checks on the same listing.
"""

from __future__ import annotations

from core.duties import Duty, DutyFailed
from core.heartbeats import heartbeat_beat


def heartbeat_duty() -> str:
    heartbeat_beat(name="worker")
    return "beat"


def reconcile_duty() -> str:
    from provisioning.reconcile import reconcile

    return str(reconcile(panel_checks=False, billing=False))


def billing_scan_duty() -> str:
    from provisioning.lifecycle import billing_scan

    return f"{len(billing_scan())} billing sync(s) queued"


def panel_sync_duty() -> str:
    from catalog.sync import catalog_sync
    from panel.client import PanelClient
    from panel.errors import PanelError
    from provisioning.reconcile import reconcile

    try:
        with PanelClient.from_settings() as client:
            catalog_sync(client=client)
            report = reconcile(client=client, orders=False, billing=False)
    except PanelError as exc:
        raise DutyFailed(f"panel sync failed: {exc}") from exc
    return f"catalogue synced; {report}"


DUTIES: list[Duty] = [
    Duty("heartbeat", "HEARTBEAT_INTERVAL_SECONDS", heartbeat_duty),
    Duty("reconcile", "RECONCILE_INTERVAL_SECONDS", reconcile_duty),
    Duty("billing_scan", "BILLING_SCAN_INTERVAL_SECONDS", billing_scan_duty),
    Duty("panel_sync", "PANEL_SYNC_INTERVAL_SECONDS", panel_sync_duty),
]
