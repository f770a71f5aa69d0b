"""The console keeps no tables of its own (it reads billing, provisioning and catalog). This
module exists so Django sends the console its post_migrate signal (console/apps.py)."""
