"""Walking the panel's paginated lists.

The panel's ``links.next`` keeps only ``?page=N``: it drops ``per_page``, ``filter[...]``,
``sort`` and ``include`` (§2.2). So we never follow it; we re-send our own query with ``page``
incremented, and stop at ``total_pages`` (re-read on every page, since rows can be added while
we walk).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

__all__ = ["iter_list_items", "page_params"]

# Hard stop against a misbehaving panel or proxy that always claims there is a next page.
MAX_PAGES = 10_000


def page_params(base: Mapping[str, Any], *, page: int, per_page: int) -> dict[str, Any]:
    """The query for one page: the caller's filters/sort/include plus explicit page/per_page."""
    params = dict(base)
    params["page"] = page
    params["per_page"] = per_page
    return params


def iter_list_items(fetch_page: Callable[[int], Any]) -> Iterator[Mapping[str, Any]]:
    """Yield the ``attributes`` of every item of every page.

    ``fetch_page(n)`` returns the decoded body of page ``n`` (1-based). A list without
    ``meta.pagination`` is complete in one response.
    """
    page = 1
    while page <= MAX_PAGES:
        body = fetch_page(page)
        if not isinstance(body, Mapping):
            raise TypeError("list response is not an object")
        data = body["data"]
        for item in data:
            yield item["attributes"]
        pagination = (body.get("meta") or {}).get("pagination")
        if not isinstance(pagination, Mapping):
            return
        total_pages = int(pagination.get("total_pages") or 1)
        current = int(pagination.get("current_page") or page)
        if not data or current >= total_pages:
            return
        page = current + 1
