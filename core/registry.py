"""Named entries that the apps above core add in their AppConfig.ready(), read back in an
order core fixes.

core is the ground floor (docs/architecture.md): it may not import billing, catalog, panel or
provisioning. Yet /readyz, /metrics and `manage.py doctor` report on all of them. So core
keeps the list (the names, in the order they are shown) and each app registers the entry it
owns under its name: the report reads the same whichever app defines a part of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, *, order: tuple[str, ...]) -> None:
        self._order = order
        self._entries: dict[str, T] = {}

    @property
    def order(self) -> tuple[str, ...]:
        return self._order

    def register(self, name: str, entry: T) -> None:
        """Add (or, under the same name, replace: ready() may run twice) an entry. A name not
        in the order comes after the listed ones, in the order registered."""
        self._entries[name] = entry

    def items(self) -> Iterator[tuple[str, T]]:
        for name in self._order:
            if name in self._entries:
                yield name, self._entries[name]
        for name, entry in self._entries.items():
            if name not in self._order:
                yield name, entry

    def __iter__(self) -> Iterator[T]:
        return (entry for _, entry in self.items())

    def names(self) -> list[str]:
        return [name for name, _ in self.items()]
