"""py-dactyl (a widely used third-party client) against the sandbox over real HTTP."""

from __future__ import annotations

import pytest

from sandbox.panel import PanelSandbox

pydactyl = pytest.importorskip("pydactyl")
from pydactyl.exceptions import PterodactylApiError  # noqa: E402


def test_pydactyl_round_trip(sb: PanelSandbox, served: str) -> None:
    client = pydactyl.PterodactylClient(served, sb.app_key)

    users = client.user.list_users()
    assert [u["attributes"]["username"] for u in users.data] == ["admin"]
    nodes = client.nodes.list_nodes()
    assert [n["attributes"]["name"] for n in nodes.data] == ["ny-1", "ny-2", "fra-1"]
    allocs = client.nodes.list_node_allocations(3, params={"filter[server_id]": "0"})
    assert len(allocs) == 40  # PaginatedResponse.__len__ reads meta.pagination.total

    common = dict(
        name="Py SMP",
        user_id=1,
        nest_id=1,
        egg_id=3,
        memory_limit=2048,
        swap_limit=0,
        disk_limit=10240,
        location_ids=[2],
        external_id="pyd-1",
    )
    # py-dactyl's docstring suggests integer ports ([20715, '20815-20915']); the real panel
    # refuses them (`deploy.port_range.*` must be a string), and so does the sandbox.
    with pytest.raises(PterodactylApiError, match="must be a string"):
        client.servers.create_server(port_range=[25565], **common)
    # Correct usage: port ranges as strings. py-dactyl fills every egg variable with its
    # default_value, which is what the panel needs (omitted variables are stored as "").
    response = client.servers.create_server(port_range=["25565-25579"], **common)
    assert response.status_code == 201
    created = response.json()["attributes"]
    assert created["status"] == "installing" and created["node"] == 3

    info = client.servers.get_server_info(external_id="pyd-1")
    assert info["id"] == created["id"]
    assert info["container"]["environment"]["BUILD_NUMBER"] == "latest"

    client.servers.suspend_server(created["id"])
    assert client.servers.get_server_info(server_id=created["id"])["status"] == "suspended"
    client.servers.unsuspend_server(created["id"])
    assert client.servers.get_server_info(server_id=created["id"])["status"] is None
    response = client.servers.delete_server(created["id"])
    assert response.status_code == 204
    assert sb.state.server_by_external_id("pyd-1") is None
    assert sb.counters()["DELETE /api/application/servers/{server}"] == 1
