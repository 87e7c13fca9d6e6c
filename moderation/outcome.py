"""What a moderation call produced: changes for the fan-out, notices for one person, ack fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from room.changes import Change


@dataclass
class Notice:
    """A message for one identity's room connection only (e.g. the status of his own question)."""

    identity: str
    name: str
    payload: dict[str, Any]


@dataclass
class Outcome:
    changes: list[Change] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    ack: dict[str, Any] = field(default_factory=dict)

    def extend(self, other: Outcome) -> None:
        self.changes.extend(other.changes)
        self.notices.extend(other.notices)
