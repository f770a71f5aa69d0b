"""``python -m sandbox.stripe --port 12111 --webhook-secret whsec_... --webhook-url URL``."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from typing import Any

from .core import StripeSandbox


def _load_prices(path: str) -> list[dict[str, Any]]:
    with open(path) as fh:
        data = json.load(fh)
    if isinstance(data, dict):
        data = data.get("prices", [])
    if not isinstance(data, list):
        raise SystemExit(f"{path}: expected a JSON list of price specs")
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.stripe",
        description="Stateful Stripe API + hosted Checkout sandbox (test mode only).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--api-key", default="sk_test_sandbox")
    parser.add_argument(
        "--webhook-secret",
        default=None,
        help="whsec_... signing secret of the default endpoint (needed with --webhook-url)",
    )
    parser.add_argument(
        "--webhook-url",
        default=None,
        help="pre-made webhook endpoint: all events, pinned API version (see also "
        "/v1/webhook_endpoints)",
    )
    parser.add_argument("--prices", default=None, help="JSON file: list of price specs")
    parser.add_argument("--state", default=None, help="JSON file to persist state across restarts")
    parser.add_argument("--public-url", default=None, help="base URL browsers use for /pay")
    parser.add_argument("--quiet", action="store_true", help="do not log requests")
    args = parser.parse_args(argv)
    if args.webhook_url and not args.webhook_secret:
        parser.error("--webhook-url needs --webhook-secret")

    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s stripe-sandbox %(message)s",
    )
    sandbox = StripeSandbox(
        api_key=args.api_key,
        webhook_secret=args.webhook_secret,
        webhook_url=args.webhook_url,
        public_url=args.public_url,
        prices=_load_prices(args.prices) if args.prices else None,
        state_path=args.state,
    )
    url = sandbox.serve(args.host, args.port)
    print(url, flush=True)
    print(
        f"  api base: {url}  checkout pages: {sandbox.base_url}/pay/<cs_id>  "
        f"webhooks -> {args.webhook_url or '(none)'}  prices: {len(sandbox.prices)}",
        file=sys.stderr,
        flush=True,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    sandbox.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
