"""A stand-in for the Pterodactyl panel v1.11 (standard library only).

    from sandbox.panel import PanelSandbox
    sb = PanelSandbox.from_seed()          # bundled demo seed
    base_url = sb.serve()                  # or use sb.app as a WSGI callable

See docs/panel-sandbox.md.
"""

from .faults import Faults
from .http import DroppedConnection
from .rules import validate
from .sandbox import PanelSandbox
from .state import State

__all__ = ["DroppedConnection", "Faults", "PanelSandbox", "State", "validate"]
