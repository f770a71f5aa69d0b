"""Local stand-ins for the external services the product talks to (panel, Stripe)."""
