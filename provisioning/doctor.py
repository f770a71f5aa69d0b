"""Provisioning's check for `manage.py doctor`: the client key that the client area's live state
and power buttons use (provisioning/client_area.py) sees a customer's server."""

from __future__ import annotations

from core.doctor import CHECKS, Check


def _check_panel_client_key() -> Check:
    """The client area's live state and power use a client API key (``ptlc_``) of a root
    admin; with a provisioned server, one read proves the key sees customers' servers."""
    from billing.models import Order
    from core.secrets import secret_get
    from panel.client import PanelClient
    from panel.errors import PanelError, PanelNotFoundError

    check = Check("The panel client key (live state and power) works")
    try:
        key = secret_get("panel.PANEL_CLIENT_KEY")
    except Exception as exc:  # undecryptable: the secrets check names the fix
        check.problems.append(f"{exc}")
        return check
    if not key:
        check.problems.append(
            "panel.PANEL_CLIENT_KEY is not set: pages say the live state is unavailable and "
            "power buttons fail (create a client API key of a root-admin panel account, "
            "then `manage.py secrets set panel.PANEL_CLIENT_KEY ptlc_...`)"
        )
        return check
    if not key.startswith("ptlc_"):
        check.problems.append("panel.PANEL_CLIENT_KEY is not a client API key (ptlc_...)")
        return check
    order = Order.objects.filter(status="provisioned").exclude(ptero_identifier="").first()
    if order is None:
        return check
    try:
        with PanelClient.from_settings() as client:
            client.client_server_view(identifier=order.ptero_identifier)
    except PanelNotFoundError:
        check.problems.append(
            f"the client key cannot see server {order.ptero_identifier} (order #{order.pk}): "
            "use a key of a root-admin account"
        )
    except PanelError as exc:
        check.problems.append(f"{exc} (check panel.PANEL_CLIENT_KEY)")
    return check


def register() -> None:
    CHECKS.register("panel_client_key", _check_panel_client_key)
