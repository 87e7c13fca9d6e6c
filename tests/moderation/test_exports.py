"""Exports: CSV and XLSX of questions, audit trail and polls parse back to the same rows."""

from __future__ import annotations

import csv
import io

import openpyxl

from moderation import polls, questions, tables
from room.audience.exports import FileFormat, Table, to_bytes
from room.records import Event
from room.store import Store
from room.types import Role
from tests.moderation.conftest import person


def parse_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def parse_xlsx(data: bytes) -> list[list[object]]:
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    rows = [["" if v is None else v for v in row] for row in wb.worksheets[0].iter_rows(values_only=True)]
    wb.close()
    return rows


def as_text(rows: list[list[object]]) -> list[list[str]]:
    return [["" if v is None else str(v) for v in row] for row in rows]


async def read(table: Table) -> tuple[list[str], list[list[object]]]:
    return [c.name for c in table.columns], [row async for page in table.rows for row in page]


async def test_questions_round_trip(store: Store, event: Event):
    mod = person(Role.PRESENTER, "Mia")
    a = await questions.ask(store, event.id, person(name="Zoë"), "Ça va, l'équipe ?")
    await questions.ask(store, event.id, person(name="Secret"), "anon, with \"quotes\"\nand a newline", anonymous=True)
    qid = a.ack.question.id
    await questions.push(store, event.id, mod, qid)
    await questions.answer(store, event.id, mod, qid)
    await questions.edit(store, event.id, mod, qid, "Ça va ?", version=1)
    header, rows = await read(tables.question_table(store, event.id))
    assert len(rows) == 2
    by_text = {r[header.index("text")]: dict(zip(header, r, strict=True)) for r in rows}
    first = by_text["Ça va ?"]
    assert first["original_text"] == "Ça va, l'équipe ?" and first["author"] == "Zoë"
    assert first["answered"] == "yes" and first["pushed"] == 1 and first["edited_by"] == "Mia"
    second = by_text["anon, with \"quotes\"\nand a newline"]
    assert second["author"] == "Anonymous" and "Secret" not in repr(rows)
    csv_rows = parse_csv(await to_bytes(tables.question_table(store, event.id), FileFormat.CSV))
    assert csv_rows == as_text([header, *rows])
    xlsx_rows = parse_xlsx(await to_bytes(tables.question_table(store, event.id), FileFormat.XLSX))
    assert xlsx_rows == [header, *rows]


async def test_formulas_are_never_evaluated(store: Store, event: Event):
    await questions.ask(store, event.id, person(name="=cmd|' /C calc'!A0"), "=HYPERLINK(\"x\")")
    header, _ = await read(tables.question_table(store, event.id))
    csv_rows = parse_csv(await to_bytes(tables.question_table(store, event.id), FileFormat.CSV))
    assert csv_rows[1][header.index("text")] == "'=HYPERLINK(\"x\")"
    assert csv_rows[1][header.index("author")] == "'=cmd|' /C calc'!A0"
    xlsx = await to_bytes(tables.question_table(store, event.id), FileFormat.XLSX)
    wb = openpyxl.load_workbook(io.BytesIO(xlsx))
    cell = wb.worksheets[0].cell(row=2, column=header.index("text") + 1)
    assert cell.data_type == "s" and cell.value == "=HYPERLINK(\"x\")"


async def test_polls_and_audit_round_trip(store: Store, event: Event):
    org = person(Role.ORGANIZER)
    pid = (await polls.create(store, event.id, org, "Best?", ["A", "B"])).ack.poll.id
    await polls.open_poll(store, event.id, org, pid)
    for choice in (0, 1, 1):
        await polls.vote(store, event.id, person(), pid, [choice])
    await polls.close(store, event.id, org, pid)
    header, rows = await read(tables.poll_table(store, event.id))
    got = [dict(zip(header, r, strict=True)) for r in rows]
    assert [(g["option"], g["votes"], g["voters"]) for g in got] == [("A", 1, 3), ("B", 2, 3)]
    assert parse_xlsx(await to_bytes(tables.poll_table(store, event.id), FileFormat.XLSX)) == [header, *rows]
    assert parse_csv(await to_bytes(tables.poll_table(store, event.id), FileFormat.CSV)) == as_text([header, *rows])
    header, rows = await read(tables.audit_table(store, event.id))
    assert [r[header.index("action")] for r in rows] == ["poll.create", "poll.open", "poll.close"]
    assert parse_xlsx(await to_bytes(tables.audit_table(store, event.id), FileFormat.XLSX)) == [header, *rows]
    assert parse_csv(await to_bytes(tables.audit_table(store, event.id), FileFormat.CSV)) == as_text([header, *rows])
