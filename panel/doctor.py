"""The panel's check for `manage.py doctor`: the URL and application key answer one read call."""

from __future__ import annotations

from core.doctor import CHECKS, Check


def _check_panel() -> Check:
    from panel.client import PanelClient
    from panel.errors import PanelError

    check = Check("The panel URL and application key work")
    try:
        with PanelClient.from_settings() as client:
            client.locations_list()
    except PanelError as exc:
        check.problems.append(f"{exc} (check panel.PANEL_URL and panel.PANEL_APP_KEY)")
    except Exception as exc:  # an undecryptable secret, a malformed URL...
        check.problems.append(f"{exc}")
    return check


def register() -> None:
    CHECKS.register("panel", _check_panel)
