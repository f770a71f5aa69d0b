"""The periodic duties every worker's scheduler runs, each under its lease (core/duties.py).

- heartbeat (HEARTBEAT_INTERVAL_SECONDS): beats `worker`, which /readyz reads;
- reconcile (RECONCILE_INTERVAL_SECONDS): stuck provisioning, paid not queued, missed webhooks;
- billing_scan (BILLING_SCAN_INTERVAL_SECONDS): a billing sync for each order whose
  time-driven state changed (grace over, retention over);
- panel_sync (PANEL_SYNC_INTERVAL_SECONDS between starts, or back to back once a pass takes
  longer): eggs, nodes and allocations from the panel, the install watch and the
  vanished-server check, every call paced by the shared background budget
  (provisioning/panel_scan.py, core/panel_budget.py).
"""

from __future__ import annotations

from core.duties import Duty, DutyFailed
from core.heartbeats import heartbeat_beat
from panel.client import PanelClient


def heartbeat_duty() -> str:
    heartbeat_beat(name="worker")
    return "beat"


def reconcile_duty() -> str:
    from provisioning.reconcile import reconcile

    return str(reconcile(panel_checks=False, billing=False))


def billing_scan_duty() -> str:
    from provisioning.lifecycle import billing_scan

    return f"{len(billing_scan())} billing sync(s) queued"


def background_client() -> PanelClient:
    """The panel sync's client: every Application API call waits for the shared background
    budget and lets provisioning go first (core/panel_budget.py, panel/throttle.py)."""
    from core.panel_budget import background_pacer

    client = PanelClient.from_settings()
    client.pace = background_pacer(client.throttle)
    return client


def panel_sync_duty() -> str:
    from panel.errors import PanelError
    from provisioning.panel_scan import panel_scan

    try:
        with background_client() as client:
            report = panel_scan(client=client)
    except PanelError as exc:
        raise DutyFailed(f"panel sync failed: {exc}") from exc
    return str(report)


DUTIES: list[Duty] = [
    Duty("heartbeat", "HEARTBEAT_INTERVAL_SECONDS", heartbeat_duty),
    Duty("reconcile", "RECONCILE_INTERVAL_SECONDS", reconcile_duty),
    Duty("billing_scan", "BILLING_SCAN_INTERVAL_SECONDS", billing_scan_duty),
    Duty("panel_sync", "PANEL_SYNC_INTERVAL_SECONDS", panel_sync_duty),
]
