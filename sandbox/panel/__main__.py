"""``python -m sandbox.panel``: run the panel sandbox alone."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from .faults import INSTALL_MODES
from .sandbox import PanelSandbox


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.panel", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--seed", help="seed JSON (default: the bundled demo seed)")
    parser.add_argument("--state", help="state file; loaded if it exists, saved after changes")
    parser.add_argument("--app-key", help="root admin application key (ptla_ + 43 chars)")
    parser.add_argument("--client-key", help="root admin client key (ptlc_ + 43 chars)")
    parser.add_argument("--install-delay", type=float, default=0.0)
    parser.add_argument("--install-mode", choices=INSTALL_MODES, default="succeed")
    parser.add_argument("--rate-limit", type=int, default=240)
    args = parser.parse_args(argv)
    try:
        sb = PanelSandbox.from_seed(
            args.seed,
            persist_path=Path(args.state) if args.state else None,
            app_key=args.app_key,
            client_key=args.client_key,
        )
    except ValueError as exc:
        parser.error(str(exc))
    sb.faults.install_delay = args.install_delay
    sb.faults.install_mode = args.install_mode
    sb.faults.rate_limit = args.rate_limit
    if args.state:
        sb.save()
    url = sb.serve(args.host, args.port)
    print(f"Pterodactyl panel sandbox listening on {url}", flush=True)
    print(f"  application key: {sb.app_key}", flush=True)
    print(f"  client key:      {sb.client_key}", flush=True)
    print(f"  admin endpoint:  {url}/_sandbox/faults (Bearer <application key>)", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    sb.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
