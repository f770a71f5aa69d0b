"""The two staff roles the console ships (docs/console.md, "Roles"): created by the data
migration console/0001, and kept here so tests and docs name one list."""

from __future__ import annotations

SUPPORT = "support"
OWNER = "owner"

# Our apps: support may view everything in them (and nothing in auth: no user/group admin).
PRODUCT_APPS = ("accounts", "billing", "catalog", "core", "provisioning")
# Besides view: retry (and mark resolved) a failed order, acknowledge/resolve alerts.
SUPPORT_EXTRA = ("billing.retry_order", "core.acknowledge_alert")
