"""The panel sync duty's pass: catalogue, install watch and vanished-server check, paced.

Run by the `panel_sync` duty (provisioning/duties.py) with a background client: every
Application API call of the pass first waits for a slot of the shared background budget
(core/panel_budget.py: PANEL_BACKGROUND_SHARE of PANEL_RATE_LIMIT_PER_MINUTE, one call every
5.1 s at the defaults, for all workers together) and lets provisioning go first
(panel/throttle.py). So the pass's length grows with the fleet while its cost per hour does
not: at 240/min and 5 %, about 706 calls an hour at most, however large the panel.

One pass, in order:
1. install watch: `GET /servers/{id}` for each order still installing (a handful; at most
   INSTALL_WATCH_BATCH per round), again after every node and every page of the server
   listing once INSTALL_WATCH_EVERY_SECONDS have passed, so a long pass does not hold back
   "installed" for the whole of it;
2. the catalogue: eggs, nodes, each node's allocations in one page of up to 5,000 (the rate
   limit counts requests, not rows), written as a diff (catalog/sync.py);
3. the vanished check, whichever costs fewer calls: `GET /servers/{id}` per order of ours, or
   the whole listing (a page per 100 servers). A server missing from the listing is confirmed
   with `GET /servers/{id}` before any alert: while a paced walk of many pages goes on, a
   server deleted before our place shifts the later pages by one, and the one that slid onto
   a page already read would otherwise look gone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from django.utils import timezone

from billing.models import Order, OrderStatus
from catalog.models import Allocation
from catalog.sync import SyncReport, catalog_sync
from core import panel_budget
from panel.client import DEFAULT_PER_PAGE, PanelClient
from panel.errors import PanelNotFoundError
from panel.types import PanelServer
from provisioning.reconcile import (
    _INSTALL_WATCH_HORIZON,
    ReconcileReport,
    _find_vanished,
    _watch_installs,
)

INSTALL_WATCH_EVERY_SECONDS = 60.0
INSTALL_WATCH_BATCH = 6
LISTING_PER_PAGE = DEFAULT_PER_PAGE
# A node's allocations in one call, up to this many ports (a node of more takes more pages).
ALLOCATIONS_PER_PAGE = 5000


def listing_cheaper(*, ours: int, pages: int) -> bool:
    """The listing (`pages` calls) checks every order of ours at once; by id, one call each."""
    return pages < ours


@dataclass
class ScanReport:
    catalogue: SyncReport = field(default_factory=SyncReport)
    checks: ReconcileReport = field(default_factory=ReconcileReport)
    vanished_mode: str = ""
    listing_pages: int = 0
    confirmed: int = 0

    def __str__(self) -> str:
        return (
            f"catalogue: {self.catalogue}; vanished check by {self.vanished_mode} "
            f"({self.listing_pages} pages, {self.confirmed} confirmed); {self.checks}"
        )


class _ServerGet:
    """`get(id)` as the reconcile checks want it, one `GET /servers/{id}` per call."""

    def __init__(self, client: PanelClient, report: ScanReport) -> None:
        self.client = client
        self.report = report

    def get(self, server_id: int) -> PanelServer | None:
        try:
            return self.client.server_get(server_id=server_id)
        except PanelNotFoundError:
            return None


class _ListedServers(_ServerGet):
    """The panel's listing, walked once; a server not on it is asked for by id."""

    def __init__(self, client: PanelClient, report: ScanReport, between_pages: object) -> None:
        super().__init__(client, report)
        self.by_id: dict[int, PanelServer] = {}
        per_page = LISTING_PER_PAGE
        for n, server in enumerate(client.servers_iter(per_page=per_page, allocations=False)):
            self.by_id[server.id] = server
            if n % per_page == per_page - 1:
                between_pages()  # type: ignore[operator]
        report.listing_pages = max(1, math.ceil(len(self.by_id) / per_page))

    def get(self, server_id: int) -> PanelServer | None:
        if server_id in self.by_id:
            return self.by_id[server_id]
        self.report.confirmed += 1
        return super().get(server_id)


class _InstallWatch:
    def __init__(self, client: PanelClient, report: ScanReport) -> None:
        self.client = client
        self.report = report
        self.last: float | None = None

    def run(self) -> None:
        self.last = panel_budget.clock()
        now = timezone.now()
        watching = Order.objects.filter(
            status=OrderStatus.PROVISIONED,
            installed_at__isnull=True,
            install_alerted_at__isnull=True,
            provisioned_at__gt=now - _INSTALL_WATCH_HORIZON,
        ).exclude(ptero_server_id=None)
        if not watching.exists():
            return
        # Oldest first; those found installed (or alerted) leave the set, so the batch moves on.
        batch = list(watching.order_by("provisioned_at").values_list("pk", flat=True))
        _watch_installs(
            self.report.checks,
            _ServerGet(self.client, self.report),
            now,
            order_ids=batch[:INSTALL_WATCH_BATCH],
        )

    def maybe(self) -> None:
        if self.last is None or panel_budget.clock() - self.last >= INSTALL_WATCH_EVERY_SECONDS:
            self.run()


def panel_scan(*, client: PanelClient) -> ScanReport:
    report = ScanReport()
    watch = _InstallWatch(client, report)
    watch.run()
    report.catalogue = catalog_sync(
        client=client, between_nodes=watch.maybe, allocations_per_page=ALLOCATIONS_PER_PAGE
    )
    ours = (
        Order.objects.filter(status=OrderStatus.PROVISIONED, vanished_alerted_at__isnull=True)
        .exclude(ptero_server_id=None)
        .count()
    )
    # The listing's size, from the catalogue just synced: every server holds a port.
    assigned = Allocation.objects.filter(assigned=True).count()
    pages = max(1, math.ceil(assigned / LISTING_PER_PAGE))
    servers: _ServerGet
    if listing_cheaper(ours=ours, pages=pages):
        report.vanished_mode = "listing"
        servers = _ListedServers(client, report, watch.maybe)
    else:
        report.vanished_mode = "server"
        servers = _ServerGet(client, report)
    _find_vanished(report.checks, servers, timezone.now())
    watch.maybe()
    return report
