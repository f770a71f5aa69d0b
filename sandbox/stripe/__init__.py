"""A small stateful stand-in for the Stripe API and the hosted Checkout page (test mode only).

Standard library only. See ``docs/stripe-sandbox.md``.
"""

from .core import StripeSandbox
from .errors import SandboxError
from .objects import API_VERSION
from .signing import compute_signature, signature_header, verify_header

__all__ = [
    "API_VERSION",
    "SandboxError",
    "StripeSandbox",
    "compute_signature",
    "signature_header",
    "verify_header",
]
