"""Every list of an event as a table, written as CSV or XLSX page by page (R-STAT-3).

A `Table` is columns plus an async iterator of row pages read from the store,
so a 100,000-row export never holds more than one page: CSV is yielded as
chunks of bytes, XLSX goes through openpyxl's write-only mode into a temporary
file (in a worker thread, so the event loop keeps serving). This is the one
export engine: moderation builds its own tables (`moderation.tables`) and writes
them with `to_bytes`.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, TypeVar

from openpyxl import Workbook  # type: ignore[import-untyped, unused-ignore]
from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped, unused-ignore]

from room.audience import access, registration, sessions
from room.audience.stats import Statistics, event_stats
from room.records import Event
from room.store import Store

T = TypeVar("T")

Cell = str | int | float | bool | None
Rows = AsyncIterator[list[list[Cell]]]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""Text a spreadsheet would run as a formula gets a leading apostrophe in CSV (OWASP)."""

_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""Characters XML (and so XLSX) cannot hold: C0 controls but tab and newlines, lone
surrogates (which UTF-8 cannot encode either), U+FFFE and U+FFFF."""


def clean_text(text: str) -> str:
    """A text cell as every export writes it: without the characters of `_ILLEGAL`, so that
    no participant's name or question can make a file unwritable (issue 9)."""
    return _ILLEGAL.sub("", text) if _ILLEGAL.search(text) else text


class ColumnKind(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    TIME = "time"
    """Unix seconds: an ISO date-time in CSV (UTC), a real date-time cell in XLSX."""
    FLAG = "flag"


class FileFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


@dataclass(frozen=True)
class Column:
    name: str
    kind: ColumnKind = ColumnKind.TEXT


@dataclass
class Table:
    name: str
    """Used for the file name and the XLSX sheet title."""
    columns: list[Column]
    rows: Rows


MEDIA_TYPE = {
    FileFormat.CSV: "text/csv; charset=utf-8",
    FileFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def utc(at: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(at, dt.UTC).replace(tzinfo=None)


def _csv_value(value: Cell, kind: ColumnKind) -> str:
    if value is None:
        return ""
    if kind is ColumnKind.TIME and isinstance(value, int | float):
        return utc(value).isoformat(sep=" ", timespec="seconds")
    if kind is ColumnKind.FLAG:
        return "yes" if value else "no"
    if isinstance(value, str):
        text = clean_text(value)
        return "'" + text if text.startswith(_FORMULA_START) else text
    return str(value)


async def csv_chunks(table: Table) -> AsyncIterator[bytes]:
    """The table as UTF-8 CSV (with a BOM, so spreadsheet programs read the accents)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([_csv_value(c.name, ColumnKind.TEXT) for c in table.columns])
    yield b"\xef\xbb\xbf" + buf.getvalue().encode()
    kinds = [c.kind for c in table.columns]
    async for page in table.rows:
        buf.seek(0)
        buf.truncate()
        for row in page:
            writer.writerow([_csv_value(v, k) for v, k in zip(row, kinds, strict=True)])
        yield buf.getvalue().encode()


def _xlsx_cells(ws: Any, row: list[Cell], kinds: list[ColumnKind]) -> list[Any]:
    out: list[Any] = []
    for value, kind in zip(row, kinds, strict=True):
        if value is None:
            out.append(None)
        elif kind is ColumnKind.TIME and isinstance(value, int | float):
            out.append(utc(value))  # openpyxl gives date-times a date format
        elif isinstance(value, str):
            text = clean_text(value)
            if text.startswith("="):
                # openpyxl would write it as a formula: make it a text cell
                cell = WriteOnlyCell(ws, value=text)
                cell.data_type = "s"
                out.append(cell)
            else:
                out.append(text)
        else:
            out.append(value)
    return out


def _append(ws: Any, page: list[list[Cell]], kinds: list[ColumnKind]) -> None:
    for row in page:
        ws.append(_xlsx_cells(ws, row, kinds))


async def write_xlsx(table: Table, path: Path | IO[bytes]) -> None:
    """Write the table to `path` (a file name or a binary file) as an XLSX workbook of one
    sheet, page by page."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=clean_text(table.name)[:31] or "export")
    kinds = [c.kind for c in table.columns]
    ws.append(_xlsx_cells(ws, [c.name for c in table.columns], [ColumnKind.TEXT] * len(kinds)))
    async for page in table.rows:
        await asyncio.to_thread(_append, ws, page, kinds)
    await asyncio.to_thread(wb.save, str(path) if isinstance(path, Path) else path)


async def to_bytes(table: Table, fmt: FileFormat) -> bytes:
    """The whole file in memory, for tables known to be small (moderation's)."""
    if fmt is FileFormat.CSV:
        return b"".join([chunk async for chunk in csv_chunks(table)])
    out = io.BytesIO()
    await write_xlsx(table, out)
    return out.getvalue()


# -- the tables of an event -----------------------------------------------------------------


async def _mapped(pages: AsyncIterator[list[T]], row: Callable[[T], list[Cell]]) -> Rows:
    async for page in pages:
        yield [row(item) for item in page]


def registrations_table(
    store: Store, event: Event, link: Callable[[str], str] | None = None
) -> Table:
    """Registrations with the custom fields' answers (and each personal join link)."""
    fields = registration.fields_of(event)
    columns = [
        Column("registered_at", ColumnKind.TIME),
        Column("email"),
        Column("name"),
        *(Column(f.label) for f in fields),
    ]
    if link is not None:
        columns.append(Column("join_link"))

    def row(r: registration.Registration) -> list[Cell]:
        out: list[Cell] = [r.created, r.email, r.name]
        for f in fields:
            answer = r.answers.get(f.id)
            out.append(("yes" if answer else "no") if isinstance(answer, bool) else answer)
        if link is not None:
            out.append(link(r.invitation_id))
        return out

    return Table("registrations", columns, _mapped(registration.pages(store, event.id), row))


def guests_table(store: Store, event: Event) -> Table:
    columns = [
        Column("email"),
        Column("name"),
        Column("added_at", ColumnKind.TIME),
        Column("added_by"),
        Column("first_connected", ColumnKind.TIME),
    ]

    def row(g: access.Guest) -> list[Cell]:
        return [g.email, g.name, g.added_at, g.added_by, g.first_connected]

    return Table("access list", columns, _mapped(access.guest_pages(store, event.id), row))


def activity_table(store: Store, event: Event) -> Table:
    columns = [Column("at", ColumnKind.TIME), Column("who"), Column("action"), Column("detail")]

    def row(a: access.Activity) -> list[Cell]:
        return [a.at, a.who, a.action, a.detail]

    return Table("activity", columns, _mapped(access.activity_pages(store, event.id), row))


def sessions_table(store: Store, event: Event, at: float) -> Table:
    columns = [
        Column("session"),
        Column("identity"),
        Column("name"),
        Column("email"),
        Column("ip"),
        Column("language"),
        Column("country"),
        Column("connected_at", ColumnKind.TIME),
        Column("disconnected_at", ColumnKind.TIME),
        Column("duration_seconds", ColumnKind.NUMBER),
        Column("format"),
        Column("role"),
    ]

    def row(s: sessions.SessionRecord) -> list[Cell]:
        return [
            s.id,
            s.identity,
            s.name,
            s.email,
            s.ip,
            s.language,
            s.country,
            s.start,
            s.end,
            round(s.duration(at)),
            s.format.value,
            s.role.value,
        ]

    return Table("sessions", columns, _mapped(sessions.pages(store, event.id), row))


def stats_rows(stats: Statistics) -> list[list[Cell]]:
    """The statistics as (metric, value) rows."""
    rows: list[list[Cell]] = [
        ["from", _iso(stats.from_)],
        ["to", _iso(stats.to)],
        ["visitors", stats.visitors],
        ["sessions", stats.sessions],
        ["peak_concurrent", stats.peak.count],
        ["peak_at", _iso(stats.peak.at)],
        ["average_visit_seconds", round(stats.average_seconds)],
    ]
    for fmt, figures in stats.formats.items():
        rows.append([f"{fmt}_visitors", figures.visitors])
        rows.append([f"{fmt}_seconds", round(figures.seconds)])
        rows.append([f"{fmt}_peak", figures.peak])
        rows.append([f"{fmt}_average_seconds", round(figures.average_seconds)])
    for lang in stats.languages:
        rows.append([f"language:{lang.language or 'unknown'}", lang.visitors])
    if stats.geography is None:
        rows.append(["geography", stats.geography_note])
    else:
        for country in stats.geography:
            rows.append([f"country:{country.country or 'unknown'}", country.visitors])
    return rows


def _iso(at: float | None) -> str:
    return "" if at is None else utc(at).isoformat(sep=" ", timespec="seconds")


def stats_table(
    store: Store, event: Event, geo: bool, start: float | None, end: float | None
) -> Table:
    async def rows() -> Rows:
        stats = await event_stats(store, event, start=start, end=end, geo=geo)
        yield stats_rows(stats)

    return Table("statistics", [Column("metric"), Column("value")], rows())
