"""Lifecycles: one transition table per closed set of states, and the one way to check a move.

Every module declares its states as a `StrEnum` and its allowed moves as a `Lifecycle`; services call
`require_move` before changing a state, so a refused move is always a 409 with a message a person can act on,
and pages ask `next_states` to show only the actions that lead on."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Generic, TypeVar

from govgrid.core.errors import ConflictError

S = TypeVar("S", bound=StrEnum)


class Lifecycle(Generic[S]):
    """A transition table over one StrEnum: which states may follow which."""

    def __init__(self, states: type[S], table: Mapping[S, Iterable[S]], *, name: str = "") -> None:
        self.states = states
        self.name = name or states.__name__
        self.table: dict[S, frozenset[S]] = {s: frozenset(table.get(s, ())) for s in states}
        unknown = set(table) - set(states)
        if unknown:
            raise ValueError(f"{self.name}: states outside {states.__name__}: {sorted(unknown)}")

    def state(self, value: S | str) -> S:
        """The member for a stored string (ValueError for a value outside the set)."""
        return self.states(value)

    def can_move(self, current: S | str, target: S | str) -> bool:
        """True if the table allows moving from `current` to `target`."""
        return self.state(target) in self.table[self.state(current)]

    def next_states(self, current: S | str) -> frozenset[S]:
        """The states that may follow `current` (empty for a final state)."""
        return self.table[self.state(current)]

    def is_final(self, current: S | str) -> bool:
        """True if nothing may follow `current`."""
        return not self.table[self.state(current)]

    def require_move(
        self, current: S | str, target: S | str, *, message: str, code: str | None = None
    ) -> None:
        """Raise ConflictError(message) unless moving from `current` to `target` is allowed."""
        if not self.can_move(current, target):
            raise ConflictError(message, code=code)

    def reachable(self, start: S | str) -> frozenset[S]:
        """Every state reachable from `start` (for tests: no state is stranded)."""
        seen: set[S] = set()
        todo = [self.state(start)]
        while todo:
            s = todo.pop()
            for nxt in self.table[s]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return frozenset(seen)
