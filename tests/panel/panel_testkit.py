"""Helpers for the panel client's unit tests: canned panel JSON and a request recorder.

(A plain module, not conftest: tests import it as ``panel_testkit``.)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

BASE_URL = "https://panel.example.test"
APP_KEY = "ptla_0123456789abSECRETSECRETSECRETSECRETSECRETSE"
CLIENT_KEY = "ptlc_0123456789abCLIENTSECRETCLIENTSECRETCLIENTS"


def envelope(obj: str, attributes: dict[str, Any]) -> dict[str, Any]:
    return {"object": obj, "attributes": attributes}


def page(
    obj: str,
    items: list[dict[str, Any]],
    *,
    current: int,
    total_pages: int,
    per_page: int,
    total: int | None = None,
) -> dict[str, Any]:
    links: dict[str, str] = {}
    if current < total_pages:
        # The real panel keeps only ?page=N in its links: a client must NOT follow this.
        links["next"] = f"{BASE_URL}/api/application/whatever?page={current + 1}"
    return {
        "object": "list",
        "data": [envelope(obj, a) for a in items],
        "meta": {
            "pagination": {
                "total": total if total is not None else len(items),
                "count": len(items),
                "per_page": per_page,
                "current_page": current,
                "total_pages": total_pages,
                "links": links,
            }
        },
    }


def error_body(status: int, code: str, detail: str, **meta: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"code": code, "status": str(status), "detail": detail}
    if meta:
        entry["meta"] = meta
    return {"errors": [entry]}


def user_attrs(uid: int, email: str, **kw: Any) -> dict[str, Any]:
    return {
        "id": uid,
        "external_id": kw.get("external_id"),
        "uuid": f"00000000-0000-4000-8000-{uid:012d}",
        "username": kw.get("username", f"user{uid}"),
        "email": email,
        "first_name": "First",
        "last_name": "Last",
        "language": "en",
        "root_admin": False,
        "2fa": False,
        "created_at": "2024-10-24T18:04:30+00:00",
        "updated_at": "2024-10-24T18:04:30+00:00",
        "some_future_field": {"ignored": True},
    }


def server_attrs(sid: int = 12, **kw: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "id": sid,
        "external_id": kw.get("external_id", "order-1001"),
        "uuid": "1a7ce997-259b-452e-8b4e-cecc464142ca",
        "identifier": "1a7ce997",
        "name": "Alice's SMP",
        "description": "",
        "status": kw.get("status", "installing"),
        "suspended": False,
        "limits": {
            "memory": 2048,
            "swap": 0,
            "disk": 10240,
            "io": 500,
            "cpu": 200,
            "threads": None,
            "oom_disabled": True,
        },
        "feature_limits": {"databases": 0, "allocations": 0, "backups": 0},
        "user": 7,
        "node": 1,
        "allocation": 33,
        "nest": 1,
        "egg": 3,
        "container": {
            "startup_command": "java -jar {{SERVER_JARFILE}}",
            "image": "ghcr.io/pterodactyl/yolks:java_21",
            "installed": 0,
            "environment": {
                "SERVER_JARFILE": "server.jar",
                "P_SERVER_ALLOCATION_LIMIT": 0,
            },
        },
        "updated_at": "2024-10-24T18:04:30+00:00",
        "created_at": "2024-10-24T18:04:30+00:00",
    }
    if kw.get("with_allocations"):
        attrs["relationships"] = {
            "allocations": {
                "object": "list",
                "data": [
                    envelope(
                        "allocation",
                        {
                            "id": 33,
                            "ip": "10.0.0.5",
                            "alias": None,
                            "port": 25565,
                            "notes": None,
                            "assigned": True,
                        },
                    ),
                    envelope(
                        "allocation",
                        {
                            "id": 34,
                            "ip": "10.0.0.5",
                            "alias": None,
                            "port": 25566,
                            "notes": None,
                            "assigned": True,
                        },
                    ),
                ],
            }
        }
    return attrs


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


class Recorder:
    """Collects requests and answers them with a handler."""

    def __init__(self, handler: Callable[[httpx.Request], httpx.Response]) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return self.handler(request)

    def body(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)
