"""Copy the panel's eggs, nodes and allocations into the catalogue (`manage.py panel_sync`).

Checkout reserves ports and checks node capacity from these copies, and provisioning builds
the server from the local egg, so no order costs a catalogue call to the panel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from catalog.models import Allocation, Egg, Node, Region, RegionNodeMap
from panel.client import ALLOCATIONS_PER_PAGE, PanelClient
from panel.types import PanelAllocation, PanelEgg

logger = logging.getLogger(__name__)


@dataclass
class SyncReport:
    eggs: int = 0
    nodes: int = 0
    allocations: int = 0
    allocations_free: int = 0
    region_links: int = 0

    def __str__(self) -> str:
        return (
            f"{self.eggs} eggs, {self.nodes} nodes, {self.allocations} allocations "
            f"({self.allocations_free} free), {self.region_links} new region links"
        )


def _egg_fields(egg: PanelEgg, now: object) -> dict[str, object]:
    return {
        "ptero_nest_id": egg.nest_id,
        "name": egg.name,
        "docker_images": dict(egg.docker_images),
        "startup": egg.startup,
        "variables": [
            {
                "name": v.name,
                "description": v.description,
                "env_variable": v.env_variable,
                "default_value": v.default_value,
                "user_viewable": v.user_viewable,
                "user_editable": v.user_editable,
                "rules": v.rules,
            }
            for v in egg.variables
        ],
        "synced_at": now,
    }


def catalog_sync_eggs(*, client: PanelClient) -> int:
    now = timezone.now()
    count = 0
    for nest in client.nests_list():
        for egg in client.eggs_list(nest_id=nest.id):
            row, created = Egg.objects.get_or_create(
                ptero_egg_id=egg.id,
                defaults={**_egg_fields(egg, now), "docker_image": egg.docker_image},
            )
            if not created:
                for field, value in _egg_fields(egg, now).items():
                    setattr(row, field, value)
                # Keep the operator's image choice while the egg still offers it.
                if row.docker_image not in egg.docker_images.values():
                    row.docker_image = egg.docker_image
                row.save()
            count += 1
    return count


def catalog_sync_nodes(
    *,
    client: PanelClient,
    report: SyncReport,
    between_nodes: Callable[[], object] | None = None,
    allocations_per_page: int = ALLOCATIONS_PER_PAGE,
) -> None:
    """Every node, then each node's allocations. ``between_nodes`` runs after each node (the
    panel sync duty checks installs there, so a long paced sync does not hold them back);
    the duty reads a node's allocations in one page (the panel's rate limit counts requests,
    and the Application API caps no per_page)."""
    now = timezone.now()
    for pnode in client.nodes_list():
        node, _ = Node.objects.update_or_create(
            ptero_node_id=pnode.id,
            defaults={
                "name": pnode.name,
                "fqdn": pnode.fqdn,
                "ptero_location_id": pnode.location_id,
                "public": pnode.public,
                "maintenance_mode": pnode.maintenance_mode,
                "memory": pnode.memory,
                "memory_overallocate": pnode.memory_overallocate,
                "disk": pnode.disk,
                "disk_overallocate": pnode.disk_overallocate,
                "allocated_memory": pnode.allocated_memory,
                "allocated_disk": pnode.allocated_disk,
                "synced_at": now,
            },
        )
        report.nodes += 1
        # Read the panel first, then write: on SQLite a transaction holds the database's one
        # write lock, and panel calls inside it would stall every other writer (provisioning,
        # the duty leases) for as long as the panel takes to answer.
        allocations = client.allocations_list(node_id=pnode.id, per_page=allocations_per_page)
        _allocations_write(node, allocations, now, report)
        if between_nodes is not None:
            between_nodes()
    report.region_links = region_nodes_link()


_ALLOCATION_FIELDS = ("node_id", "ip", "alias", "port", "assigned")


def _allocations_write(
    node: Node, allocations: list[PanelAllocation], now: datetime, report: SyncReport
) -> None:
    """Write only what changed: one read of the node's rows, an UPDATE per changed row, one
    bulk INSERT of the new ones (a node of thousands of ports that did not change costs two
    queries, and the write lock is held for milliseconds, not for a query per port)."""
    by_id = {palloc.id: palloc for palloc in allocations}
    with transaction.atomic():
        rows = {
            row.ptero_allocation_id: row
            for row in Allocation.objects.filter(node=node).only(
                "pk", "ptero_allocation_id", *_ALLOCATION_FIELDS
            )
        }
        gone_pks = [row.pk for pid, row in rows.items() if pid not in by_id]
        gone = Allocation.objects.filter(pk__in=gone_pks)
        # A port removed from the panel is never offered again; one an order still points
        # at is kept (as taken) so the order keeps its history.
        gone.filter(order__isnull=True).delete()
        gone.update(assigned=True)
        moved = Allocation.objects.filter(
            ptero_allocation_id__in=[pid for pid in by_id if pid not in rows]
        ).exclude(node=node)
        rows.update({row.ptero_allocation_id: row for row in moved})
        new = []
        for palloc in allocations:
            fields = {
                "node_id": node.pk,
                "ip": palloc.ip,
                "alias": palloc.alias or "",
                "port": palloc.port,
                "assigned": palloc.assigned,
            }
            row = rows.get(palloc.id)
            if row is None:
                new.append(Allocation(ptero_allocation_id=palloc.id, synced_at=now, **fields))
            elif any(getattr(row, name) != value for name, value in fields.items()):
                Allocation.objects.filter(pk=row.pk).update(**fields)
            report.allocations += 1
            report.allocations_free += 0 if palloc.assigned else 1
        Allocation.objects.filter(node=node).exclude(pk__in=gone_pks).update(synced_at=now)
        Allocation.objects.bulk_create(new, batch_size=500)


def region_nodes_link() -> int:
    """Map each region to the nodes of its panel location (existing links are kept; an
    operator may also map nodes by hand in the admin). Returns how many links were added."""
    added = 0
    for region in Region.objects.exclude(ptero_location_id=None):
        for node in Node.objects.filter(ptero_location_id=region.ptero_location_id):
            _, created = RegionNodeMap.objects.get_or_create(region=region, node=node)
            added += int(created)
    return added


def catalog_sync(
    *,
    client: PanelClient,
    between_nodes: Callable[[], object] | None = None,
    allocations_per_page: int = ALLOCATIONS_PER_PAGE,
) -> SyncReport:
    from catalog.waitlist import waitlist_capacity_freed

    report = SyncReport()
    report.eggs = catalog_sync_eggs(client=client)
    catalog_sync_nodes(
        client=client,
        report=report,
        between_nodes=between_nodes,
        allocations_per_page=allocations_per_page,
    )
    # A sync may add nodes or ports, or free room the panel's servers held: a capacity event
    # for every region (the check mails only where a waited-for plan has room again).
    with transaction.atomic():
        waitlist_capacity_freed(region_ids=None, event=f"sync-{timezone.now():%Y%m%dT%H%M%S%f}")
    logger.info("Panel sync: %s", report)
    return report
