"""State machines: a transition table and one function that moves a row along it.

Every status column in fenxiao (orders, commissions, inbox events) changes only through a
:class:`StateMachine`; a move the table does not list raises ``InvalidTransition`` (409)
instead of writing a status no code expects.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Generic, TypeVar

from plugin.errors import InvalidTransition

S = TypeVar("S", bound=enum.StrEnum)


class StateMachine(Generic[S]):
    """The moves allowed between the states ``S`` of one kind of row (``subject``)."""

    def __init__(self, subject: str, transitions: Mapping[S, tuple[S, ...]]):
        missing = set(type(next(iter(transitions)))) - set(transitions)
        if missing:
            raise ValueError(f"{subject}: no transitions listed for {sorted(missing)}")
        self.subject = subject
        self.transitions = transitions

    def allows(self, current: S, target: S) -> bool:
        return target in self.transitions[current]

    def move(self, row, target: S) -> S:
        """Set ``row.status`` to ``target`` if the table allows it; returns the previous status."""
        current = type(target)(row.status)
        if not self.allows(current, target):
            raise InvalidTransition(
                f"a {self.subject} cannot move from {current} to {target}", field="status"
            )
        row.status = target
        return current

    def path(self, current: S, target: S) -> list[S]:
        """The shortest run of steps from ``current`` to ``target`` ([] if none or already there)."""
        frontier, came_from = [current], {current: None}
        while frontier:
            state = frontier.pop(0)
            if state == target:
                steps = []
                while came_from[state] is not None:
                    steps.append(state)
                    state = came_from[state]
                return steps[::-1]
            for nxt in self.transitions[state]:
                if nxt not in came_from:
                    came_from[nxt] = state
                    frontier.append(nxt)
        return []
