"""An apprise target that appends each alert to a local file, one JSON object a line:
`alertfile:///absolute/path/alerts.jsonl` in ALERT_URLS. For the demo (`make run` sets it,
so an alert is delivered somewhere an operator can see: var/alerts.jsonl) and for a host
whose log shipper tails a file. Registered with apprise's custom-notification decorator
(apprise.decorators.notify), loaded by core.alerts before each delivery."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apprise.decorators import notify

SCHEME = "alertfile"


@notify(on=SCHEME, name="GIVRwrld alert file")
def alert_file_write(
    body: str, title: str, notify_type: str, meta: dict[str, Any], **_: Any
) -> bool:
    # apprise parses alertfile:///srv/x/a.jsonl as host 'srv', fullpath '/x/a.jsonl'.
    host, rest = meta.get("host") or "", meta.get("fullpath") or ""
    path = Path(f"/{host}{rest}" if host else rest)
    if not path.is_absolute() or path.is_dir():
        return False
    line = json.dumps(
        {
            "time": datetime.now(UTC).isoformat(),
            "type": str(notify_type),
            "title": title,
            "body": body,
        },
        ensure_ascii=False,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(line + "\n")
    return True
