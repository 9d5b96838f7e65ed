"""Export and id reading: what the vectors cannot show (paths, file objects, xlsx, exceptions, threads)."""

from __future__ import annotations

import io
import json
import threading
import zipfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

import patron


def _facts(n: int) -> list[dict[str, Any]]:
    return [
        {"contact_id": f"c{i}", "as_of": "2024-07-01T00:00:00Z", "orders": i % 5, "revenue": i * 10.5,
         "cancelled_orders": 0, "returned_orders": 0, "purchase_days": i % 5, "at_risk": i % 2 == 0,
         "last_order_at": "2024-06-20T10:00:00Z"}
        for i in range(n)
    ]


COLUMNS = ["contact_id", "orders", "revenue", "last_order_at", "at_risk"]


def test_a_path_str_and_pathlike_are_written(tmp_path: Path) -> None:
    facts = _facts(3)
    patron.export_facts(facts, COLUMNS, "csv", str(tmp_path / "a.csv"))
    patron.export_facts(facts, COLUMNS, "csv", tmp_path / "b.csv")
    text = (tmp_path / "a.csv").read_bytes()
    assert text == (tmp_path / "b.csv").read_bytes()
    assert text.startswith(b"contact_id,orders,revenue,last_order_at,at_risk\r\nc0,0,0,2024-06-20T10:00:00Z,true\r\n")
    assert patron.read_segment_ids(tmp_path / "a.csv", "contact_id") == ["c0", "c1", "c2"]
    assert patron.read_segment_ids(str(tmp_path / "a.csv"), "contact_id") == ["c0", "c1", "c2"]


def test_a_file_object_gets_the_output_in_chunks() -> None:
    class Recorder(io.RawIOBase):
        def __init__(self) -> None:
            self.chunks: list[bytes] = []

        def writable(self) -> bool:
            return True

        def write(self, data: Any) -> int:
            # A raw file may take less than it is given.
            part = bytes(data[:50_000])
            self.chunks.append(part)
            return len(part)

    out = Recorder()
    facts = _facts(5_000)
    patron.export_facts(facts, COLUMNS, "ndjson", out)
    assert len(out.chunks) > 3
    rows = [json.loads(line) for line in b"".join(out.chunks).decode().splitlines()]
    assert len(rows) == 5_000 and rows[4_999]["contact_id"] == "c4999"


def test_json_and_xml_parse_back() -> None:
    out = io.BytesIO()
    patron.export_facts(_facts(3), COLUMNS, "json", out)
    assert json.loads(out.getvalue())[1] == {
        "contact_id": "c1", "orders": 1, "revenue": 10.5, "last_order_at": "2024-06-20T10:00:00Z", "at_risk": False}
    out = io.BytesIO()
    patron.export_facts(_facts(3), ["contact_id", "bought_categories.suits & ties.spent"], "xml", out)
    root = ElementTree.fromstring(out.getvalue())
    assert root.tag == "contacts" and len(root) == 3
    assert [(f.get("name"), f.text) for f in root[2]] == [("contact_id", "c2")]


def test_xlsx_is_a_workbook_with_a_row_per_member(tmp_path: Path) -> None:
    segments = {"buyers": "orders >= 1"}
    path = tmp_path / "buyers.xlsx"
    patron.export_segment(segments, "buyers", _facts(10), COLUMNS, "xlsx", path)
    with zipfile.ZipFile(path) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
        assert "name=\"contacts\"" in z.read("xl/workbook.xml").decode()
    assert sheet.count("<row ") == 1 + 8  # header + c1..c4, c6..c9


def test_errors_keep_their_kind() -> None:
    out = io.BytesIO()
    with pytest.raises(patron.ValidationError) as info:
        patron.export_facts(_facts(1), ["revenu"], "csv", out)
    assert info.value.path == "columns[0]" and "did you mean `revenue`?" in str(info.value)
    with pytest.raises(patron.ValidationError) as info:
        patron.export_facts(_facts(1), "orders", "csv", out)
    assert info.value.path == "columns"
    with pytest.raises(patron.ValidationError) as info:
        patron.export_facts(_facts(1), ["orders"], "xls", out)  # type: ignore[arg-type]
    assert info.value.path == "format"
    with pytest.raises(patron.ValidationError) as info:
        patron.export_segment({"vip": "revenue > 10"}, "vp", _facts(1), ["orders"], "csv", out)
    assert info.value.path == "name"
    with pytest.raises(patron.ValidationError) as info:
        patron.export_facts(_facts(1), ["orders"], "csv", 42)  # type: ignore[arg-type]
    assert info.value.path == "out"
    assert out.getvalue() == b"", "nothing is written when the setup is wrong"


def test_io_failures_are_io_errors(tmp_path: Path) -> None:
    with pytest.raises(patron.IoError) as info:
        patron.export_facts(_facts(1), ["orders"], "csv", tmp_path / "missing" / "x.csv")
    assert isinstance(info.value, OSError) and isinstance(info.value, patron.PatronError)
    assert info.value.code == "io" and "missing" in str(info.value)
    with pytest.raises(patron.IoError):
        patron.read_segment_ids(tmp_path / "nope.csv", "contact_id")


def test_an_exception_from_write_reaches_the_caller_unchanged() -> None:
    class Full:
        def write(self, data: bytes) -> int:
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError) as info:
        patron.export_facts(_facts(10), COLUMNS, "xlsx", Full())
    assert info.value.errno == 28 and not isinstance(info.value, patron.PatronError)


def test_ids_come_from_bytes_a_file_object_and_carry_their_place() -> None:
    data = "\ufeffemail,contact_id\r\nx@y.z,anna\r\n,\"b,o\"\r\n".encode()
    assert patron.read_segment_ids(data, "contact_id") == ["anna", "b,o"]
    assert patron.read_segment_ids(bytearray(data), "contact_id") == ["anna", "b,o"]
    assert patron.read_segment_ids(io.BytesIO(data), "contact_id") == ["anna", "b,o"]
    with pytest.raises(patron.ValidationError) as info:
        patron.read_segment_ids(b"contact_id\nanna\nben\nanna\n", "contact_id")
    assert (info.value.line, info.value.column) == (4, 1)
    assert "on line 2 and here" in str(info.value)
    with pytest.raises(patron.ValidationError) as info:
        patron.read_segment_ids(b"id\n1\n", "contact_id")
    assert info.value.path == "column"


def test_exports_run_in_threads_without_the_gil() -> None:
    facts = _facts(2_000)
    outs: list[bytes] = []

    def work() -> None:
        out = io.BytesIO()
        patron.export_facts(facts, COLUMNS, "csv", out)
        outs.append(out.getvalue())

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outs) == 4 and len(set(outs)) == 1


def test_a_failed_export_to_a_path_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "vip.csv"
    with pytest.raises(patron.ValidationError):
        patron.export_segment({"vip": "revenue > 10"}, "vp", _facts(3), ["orders"], "csv", path)
    assert not path.exists()
