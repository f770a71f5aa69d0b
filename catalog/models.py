"""What we sell (games, plans) and where it can run (regions, nodes, allocations).

Eggs, nodes and allocations are copies of the panel's, refreshed by `manage.py panel_sync`, so
checkout and provisioning read capacity and egg configuration locally instead of asking the
panel for each order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from core.models import TimeStampedModel

if TYPE_CHECKING:
    from catalog.ports import Template


class Egg(TimeStampedModel):
    """A panel egg: image, startup command and variables with their validation rules."""

    ptero_egg_id = models.PositiveIntegerField(unique=True)
    ptero_nest_id = models.PositiveIntegerField()
    name = models.CharField(max_length=191)
    docker_image = models.CharField(max_length=191, help_text="Image used for new servers.")
    docker_images = models.JSONField(default=dict, blank=True)
    startup = models.TextField()
    # [{"name", "description", "env_variable", "default_value", "user_viewable",
    #   "user_editable", "rules"}], as the panel returns them with include=variables.
    variables = models.JSONField(default=list, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["ptero_nest_id", "ptero_egg_id"]

    def __str__(self) -> str:
        return f"{self.name} (egg {self.ptero_egg_id})"

    def variable(self, env_variable: str) -> dict | None:
        return next((v for v in self.variables if v.get("env_variable") == env_variable), None)

    def user_editable(self, env_variable: str) -> bool:
        """Whether the egg lets a server's user change this variable (`user_editable` on the
        panel's egg variable; pterodactyl/panel v1.11.8 app/Models/EggVariable.php). The
        panel's own client API refuses the others (StartupController::update); the
        application API we use does not, so we keep the rule. A variable the egg does not
        have, or a row synced without the flag, counts as not editable."""
        spec = self.variable(env_variable)
        return bool(spec and spec.get("user_editable") is True)


class Game(TimeStampedModel):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    sort_order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return self.name


class Plan(TimeStampedModel):
    """A sellable size of a game. Limits are the panel's units: MiB, percent of a core."""

    game = models.ForeignKey(Game, on_delete=models.PROTECT, related_name="plans")
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    # The column keeps the seed's name and holds the panel's egg id.
    egg = models.ForeignKey(
        Egg,
        on_delete=models.PROTECT,
        to_field="ptero_egg_id",
        db_column="ptero_egg_id",
        related_name="plans",
    )
    stripe_price_id = models.CharField(max_length=191, blank=True)
    # "month" / "year" for a plan sold as a Stripe subscription (its price must be recurring);
    # blank for a one-off payment.
    recurring_interval = models.CharField(
        max_length=10,
        blank=True,
        choices=[("", "one-off payment"), ("month", "monthly"), ("year", "yearly")],
    )
    price_cents = models.PositiveIntegerField(
        help_text="Shown to customers; Stripe charges the price."
    )
    currency = models.CharField(max_length=3, default="usd")
    memory = models.PositiveIntegerField(help_text="MiB; 0 = unlimited")
    swap = models.IntegerField(default=0, help_text="MiB; -1 = unlimited, 0 = none")
    disk = models.PositiveIntegerField(help_text="MiB; 0 = unlimited")
    io = models.PositiveIntegerField(default=500, help_text="block IO weight, 10-1000")
    cpu = models.PositiveIntegerField(default=100, help_text="percent of one core; 0 = unlimited")
    threads = models.CharField(max_length=191, blank=True, help_text="e.g. 0-1,3; blank = any")
    databases = models.PositiveIntegerField(default=0)
    allocations = models.PositiveIntegerField(default=0, help_text="extra ports the owner may add")
    backups = models.PositiveIntegerField(default=0)
    oom_disabled = models.BooleanField(default=True)
    start_on_completion = models.BooleanField(default=True)
    # Fixed egg-variable values for this plan (env name -> value), over the egg's defaults.
    environment = models.JSONField(default=dict, blank=True)
    # Egg variables the customer may choose at checkout (env names, e.g. MINECRAFT_VERSION).
    customer_variables = models.JSONField(default=list, blank=True)
    # Tighter bounds for numeric egg variables on this plan (env name -> {"min": n, "max": n}),
    # inside the egg's own rules: e.g. {"MAX_PLAYERS": {"max": 20}} for a 20-slot plan.
    variable_bounds = models.JSONField(
        default=dict,
        blank=True,
        help_text='e.g. {"MAX_PLAYERS": {"min": 1, "max": 20}}: numeric egg variables only',
    )
    # Ports this game's servers take, e.g. "25565-25599" or "27015,27016"; blank = any port.
    port_range = models.CharField(max_length=191, blank=True)
    # Extra ports of each server and the egg variables that name them (catalog/ports.py):
    # env name -> "primary", "+k" (primary + k, same IP) or "any" (any free port, same IP).
    port_template = models.JSONField(
        default=dict,
        blank=True,
        help_text='e.g. {"RCON_PORT": "+1", "APP_PORT": "any"}: each egg port variable is '
        '"primary", "+k" (the primary port + k) or "any" (any free port on the same IP)',
    )
    active = models.BooleanField(default=True)
    sort_order = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "plans"
        ordering = ["game", "sort_order", "price_cents"]

    def __str__(self) -> str:
        return f"{self.game.name} {self.name}"

    def clean(self) -> None:
        super().clean()
        errors: dict[str, list[str]] = {}
        problems = self.customer_variable_problems()
        if problems:
            errors["customer_variables"] = problems
        bound_problems = self.variable_bound_problems()
        if bound_problems:
            errors["variable_bounds"] = bound_problems
        port_problems = self.port_template_problems()
        if port_problems:
            errors["port_template"] = port_problems
        if errors:
            raise ValidationError(errors)

    def variable_bound_problems(self) -> list[str]:
        """Why `variable_bounds` is unusable ([] if fine): each key a numeric variable of the
        egg, each bound a number, min <= max, and inside the egg's own rule bounds."""
        from catalog.variables import number_text, numeric_rule_bounds

        bounds = self.variable_bounds
        if not isinstance(bounds, dict):
            return ['Map env names to bounds, e.g. {"MAX_PLAYERS": {"max": 20}}.']
        egg = Egg.objects.filter(ptero_egg_id=self.egg_id).first() if self.egg_id else None
        problems = []
        for name, spec in bounds.items():
            if not isinstance(spec, dict) or not spec or set(spec) - {"min", "max"}:
                problems.append(f'{name}: give {{"min": n}}, {{"max": n}} or both.')
                continue
            values = list(spec.values())
            if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
                problems.append(f"{name}: bounds must be numbers.")
                continue
            low, high = spec.get("min"), spec.get("max")
            if low is not None and high is not None and low > high:
                problems.append(f"{name}: min {low} is greater than max {high}.")
            if egg is None:
                continue
            var = egg.variable(name)
            if var is None:
                problems.append(
                    f"{name}: egg {egg.ptero_egg_id} ({egg.name}) has no such variable."
                )
                continue
            rule = numeric_rule_bounds(str(var.get("rules") or ""))
            if rule is None:
                problems.append(f"{name}: the egg's rules do not make it a number.")
                continue
            if rule.min is not None and low is not None and low < rule.min:
                problems.append(
                    f"{name}: min {low} is below the egg's minimum {number_text(rule.min)}."
                )
            if rule.max is not None and high is not None and high > rule.max:
                problems.append(
                    f"{name}: max {high} is above the egg's maximum {number_text(rule.max)}."
                )
        return problems

    def customer_variable_problems(self) -> list[str]:
        """Why some of `customer_variables` cannot be offered to customers ([] if all can):
        each must be a variable of the plan's egg that the egg marks user-editable."""
        names = self.customer_variables
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            return ['List env names of the egg, e.g. ["MINECRAFT_VERSION"].']
        egg = Egg.objects.filter(ptero_egg_id=self.egg_id).first() if self.egg_id else None
        if egg is None:  # the egg field reports its own error
            return []
        problems = []
        for name in names:
            if egg.variable(name) is None:
                problems.append(
                    f"{name}: egg {egg.ptero_egg_id} ({egg.name}) has no such variable."
                )
            elif not egg.user_editable(name):
                problems.append(
                    f"{name}: egg {egg.ptero_egg_id} ({egg.name}) does not let users edit it, "
                    "so only the operator sets it: give its value in environment instead."
                )
        return problems

    def offered_variables(self) -> list[str]:
        """The customer variables a customer may actually set: those the egg marks
        user-editable (a plan saved before that rule may still list others)."""
        names = self.customer_variables if isinstance(self.customer_variables, list) else []
        return [n for n in names if isinstance(n, str) and self.egg.user_editable(n)]

    def port_template_problems(self) -> list[str]:
        """Why `port_template` is unusable ([] if fine): catalog.ports.template_problems
        against the plan's egg."""
        from catalog.ports import template_problems

        egg = Egg.objects.filter(ptero_egg_id=self.egg_id).first() if self.egg_id else None
        return template_problems(
            raw=self.port_template,
            variables=egg.variables if egg else None,
            startup=egg.startup if egg else "",
        )

    def ports(self) -> Template:
        """The parsed port template (catalog/ports.py)."""
        from catalog.ports import template_parse

        return template_parse(self.port_template)

    def port_bounds(self) -> list[tuple[int, int]]:
        """`port_range` as inclusive (low, high) pairs; [] means any port."""
        bounds = []
        for part in self.port_range.replace(" ", "").split(","):
            if not part:
                continue
            low, _, high = part.partition("-")
            bounds.append((int(low), int(high or low)))
        return bounds


class PlacementPolicy(models.TextChoices):
    """Which of a region's nodes a new server goes to (catalog/placement.py,
    docs/ports-and-placement.md)."""

    PACK = "pack", "pack: fill a node before the next"
    """Nodes in a fixed order (highest weight first, then panel node id): each node fills up
    before the next takes a server, so empty nodes stay empty (and can be switched off)."""
    SPREAD = "spread", "spread: the least-loaded node"
    """The node with the lowest load (fill / weight) first: servers spread evenly."""


class Region(TimeStampedModel):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    ptero_location_id = models.PositiveIntegerField(null=True, blank=True)
    placement_policy = models.CharField(
        max_length=10,
        choices=PlacementPolicy.choices,
        default=PlacementPolicy.PACK,
        help_text="pack: fill a node before the next; spread: the least-loaded node first",
    )
    active = models.BooleanField(default=True)
    sort_order = models.PositiveIntegerField(default=0)
    nodes = models.ManyToManyField(  # type: ignore[var-annotated]
        "Node", through="RegionNodeMap", related_name="regions"
    )

    class Meta:
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return self.name


class Node(TimeStampedModel):
    """A panel node and its capacity as the panel counts it (synced)."""

    ptero_node_id = models.PositiveIntegerField(unique=True)
    name = models.CharField(max_length=100)
    fqdn = models.CharField(max_length=191, blank=True)
    ptero_location_id = models.PositiveIntegerField(null=True, blank=True)
    public = models.BooleanField(default=True)
    maintenance_mode = models.BooleanField(default=False)
    memory = models.PositiveIntegerField(default=0)
    memory_overallocate = models.IntegerField(default=0)
    disk = models.PositiveIntegerField(default=0)
    disk_overallocate = models.IntegerField(default=0)
    # The panel has no CPU limit per node; the operator may set one here (percent of one core
    # times cores, e.g. 800 for 8 cores; 0 = not checked). Counted against our orders' plans.
    cpu = models.PositiveIntegerField(
        default=0, help_text="percent of one core x cores (800 = 8 cores); 0 = not checked"
    )
    cpu_overallocate = models.IntegerField(
        default=0, help_text="percent over cpu allowed; -1 = not checked"
    )
    # Operator settings, never touched by the panel sync (docs/ports-and-placement.md).
    drained = models.BooleanField(
        default=False,
        help_text="No new servers here; existing ones keep running, renewing and changing plan",
    )
    weight = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text="pack: higher weight fills first; spread: a node of weight 2 takes twice "
        "the share of one of weight 1",
    )
    # Sums of the limits of every server on the node, from the panel at `synced_at`.
    allocated_memory = models.PositiveIntegerField(default=0)
    allocated_disk = models.PositiveIntegerField(default=0)
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["ptero_node_id"]

    def __str__(self) -> str:
        return f"{self.name} (node {self.ptero_node_id})"

    @staticmethod
    def _ceiling(size: int, overallocate: int) -> float:
        """The most that may be committed: size x (1 + overallocate/100), the formula of
        pterodactyl/panel v1.11.8 app/Models/Node.php isViable and
        app/Services/Deployment/FindViableNodesService.php. An overallocation of -1 means
        "do not check" as the panel's node form defines it
        (resources/views/admin/nodes/new.blade.php: "To disable checking for overallocation
        enter -1"); the panel's formula would read it as 99 %, but the panel never checks the
        nodes we place on (we create servers on a chosen allocation, not by deployment), so
        the operator's stated meaning is the one we keep."""
        if overallocate == -1:
            return float("inf")
        return size * (1 + overallocate / 100)

    @property
    def memory_ceiling(self) -> float:
        return self._ceiling(self.memory, self.memory_overallocate)

    @property
    def disk_ceiling(self) -> float:
        return self._ceiling(self.disk, self.disk_overallocate)

    @property
    def cpu_ceiling(self) -> float:
        if self.cpu == 0:
            return float("inf")
        return self._ceiling(self.cpu, self.cpu_overallocate)


class RegionNodeMap(models.Model):
    """Which nodes serve a region (the seed's `region_node_map`)."""

    region = models.ForeignKey(Region, on_delete=models.CASCADE)
    node = models.ForeignKey(Node, on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "region_node_map"
        constraints = [
            models.UniqueConstraint(fields=["region", "node"], name="region_node_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.region} -> {self.node}"


class Allocation(models.Model):
    """An IP:port on a node (synced). `assigned` is the panel's view; a reservation by an
    order is the order's `allocation` (unique), so two checkouts never hold the same port."""

    ptero_allocation_id = models.PositiveIntegerField(unique=True)
    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="allocation_set")
    ip = models.CharField(max_length=45)
    alias = models.CharField(max_length=191, blank=True)
    port = models.PositiveIntegerField()
    assigned = models.BooleanField(default=False)
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["node", "ip", "port"]
        constraints = [
            models.UniqueConstraint(fields=["node", "ip", "port"], name="allocation_unique"),
        ]

    def __str__(self) -> str:
        return self.address

    @property
    def address(self) -> str:
        return f"{self.alias or self.ip}:{self.port}"


class WaitlistEntry(models.Model):
    """A customer asked to be told when a sold-out plan is back in a region (catalog/waitlist.py).

    One row per customer, plan and region (unique): clicking ten times is one entry. The row is
    *waiting* while `notified_at` is empty; a capacity event mails the first waiting rows
    (WAITLIST_NOTIFY_COUNT) once and marks them notified. Asking again after that puts the row
    back at the end of the queue with the next `round`, so a customer is mailed once per time
    they asked."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="waitlist_entries"
    )
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="waitlist_entries")
    region = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="waitlist_entries")
    # The queue's order: when the customer (last) asked.
    subscribed_at = models.DateTimeField(db_index=True)
    round = models.PositiveIntegerField(default=1, help_text="how many times the customer asked")
    notified_at = models.DateTimeField(null=True, blank=True, help_text="empty: still waiting")
    notified_event = models.CharField(
        max_length=191, blank=True, help_text="the capacity event that mailed this entry"
    )

    class Meta:
        db_table = "waitlist_entries"
        ordering = ["subscribed_at", "id"]
        verbose_name_plural = "waitlist entries"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "plan", "region"], name="waitlist_entry_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} waits for {self.plan} in {self.region}"

    @property
    def waiting(self) -> bool:
        return self.notified_at is None
