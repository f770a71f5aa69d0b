"""Pterodactyl panel client (the only module that talks to the panel; the only httpx user).

Import what you need from ``panel.client``, ``panel.errors`` and ``panel.types``. Importing
this package does not need Django to be configured.
"""
