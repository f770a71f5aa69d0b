"""The demo catalogue `make run` sells: three games on three different eggs, two regions.

Every game has at least two monthly plans on the same egg, so a customer can try *Change plan*
(upgrade and downgrade, with Stripe's prorated preview); Minecraft 2 GB is the one-off example.

Egg and location ids are those of the panel sandbox's bundled seed
(sandbox/panel/seed/demo.json); price ids are seeded into the Stripe sandbox with the same
amounts, so the storefront and the checkout page agree.
"""

from __future__ import annotations

from typing import Any

REGIONS: list[dict[str, Any]] = [
    {"slug": "us-east", "name": "New York", "ptero_location_id": 1, "sort_order": 1},
    {"slug": "eu-west", "name": "Frankfurt", "ptero_location_id": 2, "sort_order": 2},
]

# Port templates of the stock eggs (catalog/ports.py; docs/ports-and-placement.md, "Port
# templates"), by the sandbox seed's egg id. The console's plan form offers the one of the
# plan's egg.
PORT_TEMPLATES: dict[int, dict[str, str]] = {
    # Rust: RCON (TCP, websocket) and Steam query (UDP) share game+1; the Rust+ app port anywhere.
    14: {"RCON_PORT": "+1", "QUERY_PORT": "+1", "APP_PORT": "any"},
    # ARK: the game port + 1 is its raw UDP socket (no variable); query and RCON anywhere.
    6: {"#raw": "+1", "QUERY_PORT": "any", "RCON_PORT": "any"},
    # CS:GO and Garry's Mod (Source): one port; the egg has no GOTV variable.
    7: {},
    9: {},
    # Teamspeak 3: voice on the primary, ServerQuery (raw, HTTP, SSH) and file transfer on
    # ports of their own.
    13: {"QUERY_PORT": "any", "FILE_TRANSFER": "any", "QUERY_HTTP": "any", "QUERY_SSH": "any"},
}

GAMES: list[dict[str, Any]] = [
    {
        "slug": "minecraft",
        "name": "Minecraft (Paper)",
        "sort_order": 1,
        "description": "High-performance Paper server, any recent version.",
    },
    {
        "slug": "rust",
        "name": "Rust",
        "sort_order": 2,
        "description": "Procedural-map Rust server with Oxide or Carbon support.",
    },
    {
        "slug": "garrys-mod",
        "name": "Garry's Mod",
        "sort_order": 3,
        "description": "Sandbox, TTT, DarkRP: any game mode.",
    },
]

PLANS: list[dict[str, Any]] = [
    {
        "game": "minecraft",
        "slug": "minecraft-2gb",
        "name": "2 GB",
        "egg": 3,
        "stripe_price_id": "price_demo_minecraft_2gb",
        "price_cents": 800,
        "memory": 2048,
        "disk": 10240,
        "cpu": 200,
        "backups": 2,
        "databases": 1,
        "port_range": "25565-25599",
        "customer_variables": ["MINECRAFT_VERSION"],
    },
    {
        "game": "minecraft",
        "slug": "minecraft-4gb",
        "recurring_interval": "month",
        "name": "4 GB",
        "egg": 3,
        "stripe_price_id": "price_demo_minecraft_4gb",
        "price_cents": 1500,
        "memory": 4096,
        "disk": 20480,
        "cpu": 300,
        "backups": 3,
        "databases": 1,
        "port_range": "25565-25599",
        "customer_variables": ["MINECRAFT_VERSION"],
    },
    {
        "game": "minecraft",
        "slug": "minecraft-8gb",
        "recurring_interval": "month",
        "name": "8 GB",
        "egg": 3,
        "stripe_price_id": "price_demo_minecraft_8gb",
        "price_cents": 2800,
        "memory": 8192,
        "disk": 40960,
        "cpu": 400,
        "backups": 4,
        "databases": 2,
        "port_range": "25565-25599",
        "customer_variables": ["MINECRAFT_VERSION"],
    },
    {
        "game": "rust",
        "slug": "rust-4gb",
        "recurring_interval": "month",
        "name": "4 GB",
        "egg": 14,
        "stripe_price_id": "price_demo_rust_4gb",
        "price_cents": 1400,
        "memory": 4096,
        "disk": 20480,
        "cpu": 200,
        "backups": 1,
        "environment": {"RCON_PASS": "{random}"},
        "port_range": "28015-28099",
        "port_template": PORT_TEMPLATES[14],
        "customer_variables": ["HOSTNAME", "MAX_PLAYERS", "FRAMEWORK"],
        # The plan bounds the egg's own rule further: players up to the plan's size.
        "variable_bounds": {"MAX_PLAYERS": {"min": 1, "max": 50}},
    },
    {
        "game": "rust",
        "slug": "rust-8gb",
        "recurring_interval": "month",
        "name": "8 GB",
        "egg": 14,
        "stripe_price_id": "price_demo_rust_8gb",
        "price_cents": 2400,
        "memory": 8192,
        "disk": 30720,
        "cpu": 300,
        "backups": 2,
        # The egg requires an RCON password and ships no default: one is generated per server.
        "environment": {"RCON_PASS": "{random}"},
        "port_range": "28015-28099",
        "port_template": PORT_TEMPLATES[14],
        "customer_variables": ["HOSTNAME", "MAX_PLAYERS", "FRAMEWORK"],
        # The plan bounds the egg's own rule further: players up to the plan's size.
        "variable_bounds": {"MAX_PLAYERS": {"min": 1, "max": 100}},
    },
    {
        "game": "garrys-mod",
        "slug": "garrys-mod-3gb",
        "recurring_interval": "month",
        "name": "3 GB",
        "egg": 9,
        "stripe_price_id": "price_demo_garrys_mod_3gb",
        "price_cents": 1000,
        "memory": 3072,
        "disk": 15360,
        "cpu": 200,
        "backups": 1,
        "port_range": "27015-27099",
        "customer_variables": ["GAMEMODE", "MAX_PLAYERS"],
        # The plan bounds the egg's own rule further: players up to the plan's size.
        "variable_bounds": {"MAX_PLAYERS": {"min": 1, "max": 32}},
    },
    {
        "game": "garrys-mod",
        "slug": "garrys-mod-6gb",
        "recurring_interval": "month",
        "name": "6 GB",
        "egg": 9,
        "stripe_price_id": "price_demo_garrys_mod_6gb",
        "price_cents": 1900,
        "memory": 6144,
        "disk": 30720,
        "cpu": 300,
        "backups": 2,
        "port_range": "27015-27099",
        "customer_variables": ["GAMEMODE", "MAX_PLAYERS"],
        # The plan bounds the egg's own rule further: players up to the plan's size.
        "variable_bounds": {"MAX_PLAYERS": {"min": 1, "max": 64}},
    },
]


def stripe_prices() -> list[dict[str, Any]]:
    """The demo's Stripe prices, in the Stripe sandbox's seed format."""
    games = {g["slug"]: g["name"] for g in GAMES}
    return [
        {
            "id": p["stripe_price_id"],
            "unit_amount": p["price_cents"],
            "currency": "usd",
            "product_name": f"{games[p['game']]} {p['name']}",
            "recurring": p.get("recurring_interval") or None,
        }
        for p in PLANS
    ]
