"""The tables moderation exports: which columns of questions, polls and the audit trail.

Writing a table as CSV or XLSX is the one export engine's work
(`room.audience.exports`); only the choice of records and columns lives here
(R-QA-4, R-STAT-3). Times are ISO 8601 text in UTC and flags "yes"/"no" text, as
these files have always carried them, where the audience's lists write date cells.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from moderation import audit, polls, question_views, questions
from room.audience.exports import Cell, Column, ColumnKind, Rows, Table
from room.store import Store


class Dataset(StrEnum):
    QUESTIONS = "questions"
    AUDIT = "audit"
    POLLS = "polls"


def iso(t: float | None) -> str:
    if t is None:
        return ""
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


NUMBER = ColumnKind.NUMBER

QUESTION_COLUMNS = [
    Column("id"),
    Column("kind"),
    Column("text"),
    Column("original_text"),
    Column("author"),
    Column("anonymous"),
    Column("source"),
    Column("votes", NUMBER),
    Column("hidden"),
    Column("approved"),
    Column("pushed", NUMBER),
    Column("answered"),
    Column("asked_at"),
    Column("pushed_at"),
    Column("answered_at"),
    Column("edited_by"),
    Column("edited_at"),
]


async def _question_rows(store: Store, event_id: str) -> Rows:
    rows: list[list[Cell]] = [
        [
            q.id,
            q.kind.value,
            q.text,
            q.original or "",
            question_views.display_name(q),
            _yes(q.anonymous),
            q.source.value,
            q.votes,
            _yes(q.hidden),
            _yes(q.approved),
            "" if q.pushed is None else q.pushed,
            _yes(q.answered),
            iso(q.created),
            iso(q.pushed_at),
            iso(q.answered_at),
            q.edited_by or "",
            iso(q.edited_at),
        ]
        for q in await questions.all_questions(store, event_id)
    ]
    yield rows


def question_table(store: Store, event_id: str) -> Table:
    return Table(Dataset.QUESTIONS.value, QUESTION_COLUMNS, _question_rows(store, event_id))


AUDIT_COLUMNS = [
    Column(name) for name in ("at", "by", "by_name", "role", "action", "target", "before", "after")
]


def _json(value: Any) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


async def _audit_rows(store: Store, event_id: str) -> Rows:
    yield [
        [iso(e.at), e.by, e.by_name, e.by_role, e.action, e.target, _json(e.before), _json(e.after)]
        for e in await audit.entries(store, event_id)
    ]


def audit_table(store: Store, event_id: str) -> Table:
    return Table(Dataset.AUDIT.value, AUDIT_COLUMNS, _audit_rows(store, event_id))


POLL_COLUMNS = [
    Column("poll"),
    Column("question"),
    Column("kind"),
    Column("state"),
    Column("opened_at"),
    Column("closed_at"),
    Column("voters", NUMBER),
    Column("option_number", NUMBER),
    Column("option"),
    Column("votes", NUMBER),
]


async def _poll_rows(store: Store, event_id: str) -> Rows:
    rows: list[list[Cell]] = []
    for p in await polls.all_polls(store, event_id):
        r = await polls.results(store, event_id, p)
        kind = "multiple" if p.multiple else "single"
        for i, option in enumerate(p.options):
            rows.append(
                [
                    p.id,
                    p.question,
                    kind,
                    p.state.value,
                    iso(p.opened_at),
                    iso(p.closed_at),
                    r.voters,
                    i + 1,
                    option,
                    r.counts[i],
                ]
            )
    yield rows


def poll_table(store: Store, event_id: str) -> Table:
    return Table(Dataset.POLLS.value, POLL_COLUMNS, _poll_rows(store, event_id))


def table(store: Store, event_id: str, dataset: Dataset) -> Table:
    """The table of `dataset`; its rows are read from the store when it is written."""
    if dataset is Dataset.QUESTIONS:
        return question_table(store, event_id)
    if dataset is Dataset.AUDIT:
        return audit_table(store, event_id)
    return poll_table(store, event_id)
