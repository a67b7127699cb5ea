"""Hostile FOCUS files are refused at a bound, naming it, before anything is read whole (issue 26 #5): a gzip
of one newline-free line, a quoted cell that never ends, a Parquet file with one huge cell or one huge row group,
a decompression bomb. Memory figures are in ``bench/hostile_imports.py`` (BENCHMARKS.md)."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from service.app.api.app import create_app
from service.app.cli import main
from service.core.errors import InvalidInput
from service.core.settings import get_settings
from service.figures.cost.focus import FocusPolicy, read_focus
from service.figures.cost.focus_files import (
    MAX_BLANK_LINES,
    MAX_CELL_CHARS,
    MAX_LINE_CHARS,
    FocusError,
    count_rows,
    cpu_heavy,
    iter_rows,
)
from tests.factories import T0, issue_token
from tests.fakes import RecordingWaker
from tests.focus_files import COLUMNS, Charge, write_csv
from tests.helpers import make_settings

HEADER = ",".join(COLUMNS) + "\n"


def one_line_gzip(path: Path, size: int) -> Path:
    """A gzip'd CSV: the header, then ``size`` bytes without a newline (a few KiB compressed)."""
    with gzip.open(path, "wb") as handle:
        handle.write(HEADER.encode())
        for _ in range(size // (1 << 20)):
            handle.write(b"A" * (1 << 20))
    return path


def read(path: Path, **limits: int) -> int:
    return read_focus(iter_rows(path, **limits), FocusPolicy()).rows


def test_a_gzip_of_one_newline_free_line_is_refused_at_the_line_bound(tmp_path: Path) -> None:
    path = one_line_gzip(tmp_path / "line.csv.gz", 64 << 20)
    assert path.stat().st_size < 200_000
    with pytest.raises(FocusError) as refused:
        read(path)
    assert refused.value.message == f"row 1: a line is over the limit of {MAX_LINE_CHARS:,} characters"


def test_a_quoted_cell_that_spans_lines_is_refused_at_the_cell_bound(tmp_path: Path) -> None:
    row = Charge(T0, 1.0).row()
    path = tmp_path / "cell.csv"
    cells = [str(v) for v in row.values()]
    cells[-1] = '"' + ("{}\n" * (MAX_CELL_CHARS // 3 + 10))  # a Tags cell whose quote never closes
    path.write_text(HEADER + ",".join(cells) + "\n")
    with pytest.raises(FocusError) as refused:
        read(path)
    assert refused.value.message.startswith("row ")
    assert f"a cell is over the limit of {MAX_CELL_CHARS:,} characters" in refused.value.message


def parquet_with(path: Path, rows: list[dict[str, str]], **options: object) -> Path:
    table = pa.table({name: pa.array([r[name] for r in rows], pa.string()) for name in COLUMNS})
    pq.write_table(table, path, compression="zstd", **options)
    return path


def test_a_parquet_file_of_one_huge_cell_is_refused_from_its_metadata(tmp_path: Path) -> None:
    rows = [{k: str(v) for k, v in Charge(T0, 1.0).row().items()} for _ in range(3)]
    rows[2]["ResourceId"] = "x" * (8 << 20)  # 8 MiB in one cell, a few KiB compressed
    path = parquet_with(tmp_path / "cell.parquet", rows)
    assert path.stat().st_size < 100_000
    with pytest.raises(FocusError) as refused:
        read(path)
    assert (refused.value.row, refused.value.column) == (1, "ResourceId")  # the row group's first row
    assert refused.value.message.endswith(f"the limit for a cell is {MAX_CELL_CHARS:,}")


def test_a_huge_cell_among_many_rows_is_refused_naming_its_row_and_column(tmp_path: Path) -> None:
    rows = [{k: str(v) for k, v in Charge(T0, 1.0, resource=f"i-{i:040d}").row().items()} for i in range(500)]
    rows[321]["Tags"] = '{"k": "' + "x" * (1 << 20) + '"}'  # 1 MiB: the column's average stays small
    path = parquet_with(tmp_path / "cell.parquet", rows)
    with pytest.raises(FocusError) as refused:
        read(path)
    too_long = f"a cell of {len(rows[321]['Tags']):,} bytes is over the limit of {MAX_CELL_CHARS:,}"
    assert refused.value.message == f"row 322, column Tags: {too_long}"


def test_a_parquet_column_chunk_over_the_bound_is_refused_before_it_is_decoded(tmp_path: Path) -> None:
    rows = [{k: str(v) for k, v in Charge(T0, 1.0, resource=f"i-{i:0100d}").row().items()} for i in range(1000)]
    path = parquet_with(tmp_path / "group.parquet", rows, row_group_size=400)  # 40 kB of distinct ids a group
    with pytest.raises(FocusError) as refused:
        read(path, column_limit=10_000)
    assert refused.value.row == 1
    assert refused.value.column == "ResourceId"
    assert "uncompressed in one row group; the limit is 10,000" in refused.value.message
    assert read(path) == 1000  # under the real bound it reads


def test_a_gzip_of_blank_lines_is_refused_at_the_blank_line_bound(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(HEADER.encode())
        handle.write(b"\n" * (64 << 20))  # 64 Mi blank lines: no row, all CPU
    with pytest.raises(FocusError) as refused:
        read(path)
    assert refused.value.message == f"row {MAX_BLANK_LINES + 1}: over {MAX_BLANK_LINES:,} blank lines in a row"


def test_a_decompression_bomb_is_refused_at_the_expanded_bound(tmp_path: Path) -> None:
    path = tmp_path / "bomb.csv.gz"
    row = ",".join(str(v) for v in Charge(T0, 1.0).row().values()).replace("{}", '"{}"') + "\n"
    with gzip.open(path, "wb") as handle:
        handle.write(HEADER.encode())
        handle.write(row.encode() * ((16 << 20) // len(row)))  # 16 MiB of rows, a few KiB compressed
    with pytest.raises(InvalidInput) as refused:
        read(path, expanded_limit=8 << 20)
    assert refused.value.message == f"the file expands past the limit of {8 << 20:,} bytes when decompressed"
    with pytest.raises(InvalidInput):
        count_rows(path, expanded_limit=8 << 20)


@pytest.fixture
def client(database_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    settings = make_settings(database_url, tmp_path, import_dir=tmp_path / "imports")
    admin = {"Authorization": f"Bearer {issue_token(settings, 'a', ['admin'])}"}
    with TestClient(create_app(settings, waker=RecordingWaker()), raise_server_exceptions=False) as test_client:
        yield test_client, admin


def test_over_http_a_hostile_file_is_a_422_naming_the_bound(
    client: tuple[TestClient, dict[str, str]], tmp_path: Path
) -> None:
    test_client, admin = client
    body = one_line_gzip(tmp_path / "line.csv.gz", 8 << 20).read_bytes()
    answer = test_client.post("/api/v1/cost/imports", content=body, headers=admin)
    assert answer.status_code == 422
    assert answer.json()["error"]["message"] == f"row 1: a line is over the limit of {MAX_LINE_CHARS:,} characters"
    assert list((tmp_path / "imports").iterdir()) == []


def test_the_progress_says_when_a_file_is_cpu_heavy(database_url: str, tmp_path: Path) -> None:
    repetitive = write_csv(tmp_path / "many.csv.gz", [Charge(T0, 1.0)] * 20_000, gzipped=True)
    plain = write_csv(tmp_path / "few.csv.gz", [Charge(T0, float(i)) for i in range(3)], gzipped=True)
    assert cpu_heavy(plain, count_rows(plain)[1]) is None
    get_settings.cache_clear()
    runner = CliRunner(env={"FRICTIONLOG_DATABASE_URL": database_url, "FRICTIONLOG_BROKER_URL": ""})
    try:
        result = runner.invoke(main, ["cost", "import", str(repetitive)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "many.csv.gz expands" in result.output
    assert "reading it is CPU-heavy" in result.output
    assert "imported 20000 rows" in result.output
