"""What a moderation call produced: changes for the fan-out, notices for one person, the ack."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from room.changes import Change


@dataclass
class Notice:
    """A message for one identity's room connection only (e.g. the status of his own question)."""

    identity: str
    name: str
    payload: msgspec.Struct


class Removed(msgspec.Struct):
    """The ack of a deletion: the id of what is gone."""

    id: str


Ack = msgspec.Struct | dict[str, Any] | None
"""The fields the caller's ack carries (None: none). A plain map only where its owner still
builds one (`question_settings.configure`): the rest are Structs."""


@dataclass
class Outcome:
    changes: list[Change] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    ack: Ack = None

    def extend(self, other: Outcome) -> None:
        self.changes.extend(other.changes)
        self.notices.extend(other.notices)
