from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # runs with -p no:django, where nothing else adds the repo root
    sys.path.insert(0, str(ROOT))

import stripe  # noqa: E402

from sandbox.stripe import StripeSandbox  # noqa: E402

SECRET = "whsec_test_0123456789abcdefghijklmnopqrstuv"
API_KEY = "sk_test_sandbox"
PRICES = [
    {
        "id": "price_mc_4gb",
        "unit_amount": 1500,
        "currency": "usd",
        "product_name": "Minecraft 4 GB",
    },
    {
        "id": "price_mc_4gb_monthly",
        "unit_amount": 1200,
        "currency": "usd",
        "product_name": "Minecraft 4 GB",
        "recurring": {"interval": "month"},
    },
    {"id": "price_setup", "unit_amount": 500, "currency": "usd", "product_name": "Setup fee"},
    {"id": "price_eur", "unit_amount": 900, "currency": "eur", "product_name": "Valheim 2 GB"},
]


class Receiver:
    """A tiny threaded webhook receiver on 127.0.0.1 that records raw bodies and headers."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length).decode()
                receiver.requests.append(
                    {"path": self.path, "body": body, "headers": dict(self.headers.items())}
                )
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/stripe/webhook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Recorder:
    """``deliver`` callback that records (body, header) and answers ``status``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.status = 200

    def __call__(self, body: str, header: str) -> int:
        self.calls.append((body, header))
        return self.status


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def sandbox(recorder: Recorder):
    sb = StripeSandbox(api_key=API_KEY, webhook_secret=SECRET, deliver=recorder, prices=PRICES)
    sb.serve()
    yield sb
    sb.shutdown()


@pytest.fixture
def http_sandbox(receiver: Receiver):
    """A sandbox that POSTs webhooks over HTTP to ``receiver``."""
    sb = StripeSandbox(
        api_key=API_KEY, webhook_secret=SECRET, webhook_url=receiver.url, prices=PRICES
    )
    sb.serve()
    yield sb
    sb.shutdown()


def make_client(url: str, key: str = API_KEY) -> stripe.StripeClient:
    return stripe.StripeClient(
        key, base_addresses={"api": url}, http_client=stripe.RequestsClient(timeout=5)
    )


@pytest.fixture
def client(sandbox: StripeSandbox) -> stripe.StripeClient:
    assert sandbox.url
    return make_client(sandbox.url)


SUCCESS_URL = "https://shop.test/checkout/success?session_id={CHECKOUT_SESSION_ID}"
CANCEL_URL = "https://shop.test/checkout/cancel?order=42"


def session_params(**overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [{"price": "price_mc_4gb", "quantity": 2}],
        "success_url": SUCCESS_URL,
        "cancel_url": CANCEL_URL,
        "client_reference_id": "order_42",
        "customer_email": "alex@example.com",
        "metadata": {"order_id": "42", "plan": "mc-4gb"},
        "payment_intent_data": {"metadata": {"order_id": "42"}},
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}
