"""One registry mechanism for every kind of plug-in (big_vision's, tensorflow-datasets').

Architectures, datasets, variants, objectives, probes, figures and studies
are each a `Registry`: a name is registered once (a second registration of
the same name is an error), looked up by `registry[name]`, and an unknown
name is one line that lists every valid name, sorted. Nothing is discovered
by globbing or `globals()`: a module registers what it defines when it is
imported, and the package that owns a registry imports its modules
explicitly.
"""

from __future__ import annotations

from typing import Callable, Generic, Iterable, Iterator, TypeVar

from suite import UsageError

T = TypeVar("T")


def plural(kind: str) -> str:
    return kind[:-1] + "ies" if kind.endswith("y") and not kind.endswith("ey") else kind + "s"


def unknown_name_error(kind: str, name, valid: Iterable[str]) -> UsageError:
    """One-line error naming the bad value and every valid one, sorted."""
    valid = sorted(valid)
    return UsageError(
        f"unknown {kind} {name!r}; valid {plural(kind)}: {', '.join(valid) if valid else '(none)'}"
    )


class Registry(Generic[T]):
    """Named things of one kind.

    Args:
      kind: what is registered, in the singular ("architecture"); it names
        the thing in every error message.
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, item: T) -> T:
        """Adds `item` under `name`; a name already taken is an error."""
        if not isinstance(name, str) or not name:
            raise UsageError(f"a {self.kind} needs a non-empty name. Received: name={name!r}")
        if name in self._items:
            raise UsageError(f"{self.kind} {name!r} is already registered")
        self._items[name] = item
        return item

    def decorator(self, name: str, wrap: Callable[[Callable], T] | None = None):
        """`@registry.decorator(name)` registers the decorated function (or `wrap(fn)`) and returns the function."""

        def register(fn):
            self.register(name, wrap(fn) if wrap else fn)
            return fn

        return register

    def check(self, name: str, context: str = "") -> str:
        """`name` if it is registered, else the one-line error (prefixed by `context`, e.g. the task)."""
        if name not in self._items:
            error = unknown_name_error(self.kind, name, self._items)
            raise UsageError(f"{context}: {error}") if context else error
        return name

    def unregister(self, name: str) -> None:
        """Removes `name` (tests that register something for one test only)."""
        self.check(name)
        del self._items[name]

    def __getitem__(self, name: str) -> T:
        return self._items[self.check(name)]

    def __contains__(self, name) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def names(self) -> list[str]:
        return sorted(self._items)

    def items(self) -> list[tuple[str, T]]:
        return [(name, self._items[name]) for name in sorted(self._items)]

    def values(self) -> list[T]:
        return [self._items[name] for name in sorted(self._items)]

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self.names())})"
