"""Fixtures for the panel client's unit tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from panel_testkit import APP_KEY, BASE_URL, CLIENT_KEY, Recorder

from panel.client import PanelClient


@pytest.fixture
def make_client() -> Iterator[Any]:
    clients: list[PanelClient] = []

    def factory(
        handler: Callable[[httpx.Request], httpx.Response], **kw: Any
    ) -> tuple[PanelClient, Recorder]:
        rec = Recorder(handler)
        kw.setdefault("client_api_key", CLIENT_KEY)
        client = PanelClient(BASE_URL, APP_KEY, transport=httpx.MockTransport(rec), **kw)
        clients.append(client)
        return client, rec

    yield factory
    for c in clients:
        c.close()
