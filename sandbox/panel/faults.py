"""Fault-injection knobs of the panel sandbox (not part of the real panel's API)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

INSTALL_MODES = ("succeed", "fail", "never")


@dataclass
class Faults:
    """Knobs; all default to "behave like a healthy panel". See docs/panel-sandbox.md."""

    latency: float = 0.0
    error_rate: float = 0.0
    throttle_rate: float = 0.0
    throttle_retry_after: int = 1
    timeout_rate: float = 0.0
    timeout_seconds: float = 65.0
    drop_after_commit_rate: float = 0.0
    wings_down: bool = False
    allocation_race: int = 0
    race_window: float = 0.0
    rate_limit: int = 240
    client_rate_limit: int = 720
    # ResourceUtilizationController caches Wings' answer per server for 20 s (v1.11.8).
    resources_cache_seconds: int = 20
    install_delay: float = 0.0
    install_mode: str = "succeed"
    two_factor_required: bool = False
    seed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def update(self, values: dict[str, Any]) -> list[str]:
        """Apply ``values``; return a list of error strings (nothing is applied on error)."""
        errors: list[str] = []
        fields = {f.name: f for f in dataclasses.fields(self)}
        staged: dict[str, Any] = {}
        for key, value in values.items():
            if key not in fields:
                errors.append(f"unknown knob {key!r}")
                continue
            current = getattr(self, key)
            if key == "seed":
                if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                    errors.append("seed must be an integer or null")
                    continue
            elif isinstance(current, bool):
                if not isinstance(value, bool):
                    errors.append(f"{key} must be a boolean")
                    continue
            elif isinstance(current, int):
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    errors.append(f"{key} must be a non-negative integer")
                    continue
            elif isinstance(current, float):
                if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                    errors.append(f"{key} must be a non-negative number")
                    continue
                if key.endswith("_rate") and value > 1:
                    errors.append(f"{key} must be between 0 and 1")
                    continue
                value = float(value)
            elif key == "install_mode" and value not in INSTALL_MODES:
                errors.append(f"install_mode must be one of {', '.join(INSTALL_MODES)}")
                continue
            staged[key] = value
        if not errors:
            for key, value in staged.items():
                setattr(self, key, value)
        return errors
