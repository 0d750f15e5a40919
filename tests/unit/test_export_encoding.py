"""Export files are written a chunk at a time (so the worker thread lets the event loop
run); the bytes must be exactly the UTF-8 of the whole document, in every script."""

from __future__ import annotations

import csv
import io
import json

from bot.core.report import to_csv, to_json

ROWS = [
    {"comment": "Das Netzwerk 24/7 ist wichtig – übrigens.", "votes": 12, "note": None},
    {"comment": "应该加强跨境合作。", "votes": 3, "note": "=SUM(A1)"},
    {"comment": "التعاون الدولي ضروري\nسطر ثانٍ", "votes": 0, "note": "line, with \"quotes\""},
] * 2000  # enough text to span many of the stream's buffers


def test_json_is_the_whole_document_in_utf8():
    assert to_json(ROWS) == json.dumps(ROWS, indent=2, ensure_ascii=False).encode("utf-8")
    assert json.loads(to_json(ROWS)) == ROWS


def test_csv_reads_back_row_for_row_with_formulas_defused():
    back = list(csv.DictReader(io.StringIO(to_csv(ROWS).decode("utf-8"), newline="")))
    assert len(back) == len(ROWS)
    assert back[1]["comment"] == "应该加强跨境合作。"
    assert back[1]["note"] == "'=SUM(A1)"  # a spreadsheet shows it, never runs it
    assert back[2]["comment"] == "التعاون الدولي ضروري\nسطر ثانٍ"
    assert back[2]["note"] == 'line, with "quotes"'


def test_no_rows_make_an_empty_file():
    assert to_csv([]) == b""
    assert to_json([]) == b"[]"
