"""Exports of questions, the audit trail and poll results as CSV and XLSX (R-QA-4, R-STAT-3).

A table is a header and rows of plain values (text, numbers, empty). Times are
ISO 8601 in UTC. CSV cells that a spreadsheet would run as a formula get a
leading apostrophe (OWASP "CSV injection"); in XLSX every text cell is written
as text, so nothing is ever evaluated.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from openpyxl import Workbook  # type: ignore[import-untyped, unused-ignore]
from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped, unused-ignore]

from moderation import audit, polls, questions
from room.store import Store

Value = str | int | float | None
Table = tuple[list[str], list[list[Value]]]


class Format(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


class Dataset(StrEnum):
    QUESTIONS = "questions"
    AUDIT = "audit"
    POLLS = "polls"


CONTENT_TYPES = {
    Format.CSV: "text/csv; charset=utf-8",
    Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def iso(t: float | None) -> str:
    if t is None:
        return ""
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


QUESTION_COLUMNS = [
    "id", "kind", "text", "original_text", "author", "anonymous", "source", "votes",
    "hidden", "approved", "pushed", "answered", "asked_at", "pushed_at", "answered_at",
    "edited_by", "edited_at",
]


async def question_table(store: Store, event_id: str) -> Table:
    rows: list[list[Value]] = []
    for q in await questions.all_questions(store, event_id):
        rows.append([
            q.id, q.kind.value, q.text, q.original or "", questions.display_name(q),
            "yes" if q.anonymous else "no", q.source.value, q.votes,
            "yes" if q.hidden else "no", "yes" if q.approved else "no",
            "" if q.pushed is None else q.pushed, "yes" if q.answered else "no",
            iso(q.created), iso(q.pushed_at), iso(q.answered_at), q.edited_by or "",
            iso(q.edited_at),
        ])
    return QUESTION_COLUMNS, rows


AUDIT_COLUMNS = ["at", "by", "by_name", "role", "action", "target", "before", "after"]


def _json(value: Any) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


async def audit_table(store: Store, event_id: str) -> Table:
    rows: list[list[Value]] = [
        [iso(e.at), e.by, e.by_name, e.by_role, e.action, e.target, _json(e.before),
         _json(e.after)]
        for e in await audit.entries(store, event_id)
    ]
    return AUDIT_COLUMNS, rows


POLL_COLUMNS = ["poll", "question", "kind", "state", "opened_at", "closed_at", "voters",
                "option_number", "option", "votes"]


async def poll_table(store: Store, event_id: str) -> Table:
    rows: list[list[Value]] = []
    for p in await polls.all_polls(store, event_id):
        r = await polls.results(store, event_id, p)
        kind = "multiple" if p.multiple else "single"
        for i, option in enumerate(p.options):
            rows.append([p.id, p.question, kind, p.state.value, iso(p.opened_at),
                         iso(p.closed_at), r.voters, i + 1, option, r.counts[i]])
    return POLL_COLUMNS, rows


async def table(store: Store, event_id: str, dataset: Dataset) -> Table:
    if dataset is Dataset.QUESTIONS:
        return await question_table(store, event_id)
    if dataset is Dataset.AUDIT:
        return await audit_table(store, event_id)
    return await poll_table(store, event_id)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(v: Value) -> Value:
    if isinstance(v, str) and v.startswith(_FORMULA_START):
        return "'" + v
    return v


def to_csv(header: list[str], rows: list[list[Value]]) -> bytes:
    """UTF-8 with a byte-order mark, so spreadsheet programs read accents right."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(header)
    for row in rows:
        w.writerow([_csv_cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(title: str, header: list[str], rows: list[list[Value]]) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title[:31])

    def cell(v: Value) -> WriteOnlyCell:
        c = WriteOnlyCell(ws, value=v)
        if isinstance(v, str):
            c.data_type = "s"  # never a formula, whatever the text starts with
        return c

    ws.append([cell(h) for h in header])
    for row in rows:
        ws.append([cell(v) for v in row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def render(fmt: Format, dataset: Dataset, t: Table) -> bytes:
    header, rows = t
    return to_csv(header, rows) if fmt is Format.CSV else to_xlsx(dataset.value, header, rows)
