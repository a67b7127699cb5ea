"""A FOCUS file's bytes to rows, in bounded memory whatever the file holds.

The format comes from the first bytes (CSV, gzip'd CSV, Parquet). Rows are streamed, and every size that
could make one row cost memory out of proportion to the file is bounded *before* it is read whole:

- **A line** of CSV text (after decompression) at ``MAX_LINE_CHARS``: read with a bounded ``readline``, so a
  newline-free gigabyte is refused at the bound, not read into one string.
- **A cell** at ``MAX_CELL_CHARS``: the csv module's field limit (a quoted cell spanning lines too), and each
  Parquet string or binary column measured in Arrow before a batch becomes Python objects.
- **Blank lines in a row** at ``MAX_BLANK_LINES`` (each costs a turn of the csv loop and is no row).
- **Decompressed bytes** of a gzip'd CSV at ``MAX_EXPANDED_BYTES`` (a bomb is refused there; memory stays
  flat anyway, since the stream is never held whole).
- **A Parquet column chunk** (one column of one row group) at ``MAX_COLUMN_CHUNK_BYTES`` uncompressed, and
  its values at MAX_CELL_CHARS on average, from the file's metadata, before any page is decompressed (a page
  is decompressed whole, so one huge cell is a huge page). The metadata is the writer's word: a file that
  lies about it is caught by the cell check only once the page is decoded; and a cell just under the column
  bound costs about twice its size before it is refused.

Each refusal is a :class:`FocusError` naming the row (and column) and the bound.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from service.core.errors import InvalidInput

MAX_LINE_CHARS = 1 << 20
"""1 Mi characters: a FOCUS row is a few hundred; its Tags a few thousand at most."""
MAX_CELL_CHARS = 128 * 1024
"""128 Ki characters per cell (the csv module's own default field limit, made explicit and shared)."""
MAX_BLANK_LINES = 1000
"""Blank lines in a row: the csv module skips them one by one (a gzip of a gigabyte of newlines is an hour of
CPU for no row); a real export has none."""
MAX_EXPANDED_BYTES = 64 << 30
"""64 GiB decompressed: 64 times the largest upload (FRICTIONLOG_MAX_IMPORT_BYTES, 1 GiB)."""
MAX_COLUMN_CHUNK_BYTES = 256 << 20
"""256 MiB uncompressed per Parquet column chunk (one column of one row group): a million plain-encoded
resource ids take about 70 MiB."""
PARQUET_BATCH_ROWS = 65_536
CPU_HEAVY_RATIO = 50
"""A gzip'd CSV that expands more than this many times is mostly repetition: cheap to send, costly to read."""


class FocusError(InvalidInput):
    """A malformed FOCUS file: names the data row and the column."""

    def __init__(self, message: str, *, row: int, column: str | None) -> None:
        place = "the header" if row == 0 else f"row {row}"
        where = f"{place}, column {column}" if column else place
        super().__init__(f"{where}: {message}", field=f"{row}.{column}" if column else str(row))
        self.row = row
        self.column = column


def detect_format(path: Path) -> str:
    """``parquet``, ``gzip`` or ``csv``, from the file's first bytes (names lie; magic numbers do not)."""
    with path.open("rb") as handle:
        head = handle.read(4)
    if head == b"PAR1":
        return "parquet"
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    return "csv"


def count_rows(path: Path, *, expanded_limit: int = MAX_EXPANDED_BYTES) -> tuple[int, int]:
    """About how many data rows the file holds (for a progress bar), and how many bytes it expands to:
    Parquet's metadata (its size on disk), else its lines, read in 1 MiB chunks."""
    kind = detect_format(path)
    if kind == "parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows), path.stat().st_size
    lines = size = 0
    with _open_text_bytes(path, kind, expanded_limit) as handle:
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
            size += len(chunk)
    return max(0, lines - 1), size


def cpu_heavy(path: Path, expanded: int) -> str | None:
    """Why reading this file costs CPU out of proportion to its size, or None."""
    compressed = path.stat().st_size
    if detect_format(path) == "gzip" and compressed and expanded / compressed > CPU_HEAVY_RATIO:
        ratio = expanded / compressed
        return (
            f"{path.name} expands {ratio:,.0f}× ({compressed:,} bytes to {expanded:,}): reading it is CPU-heavy "
            "(about 15 s of CPU per million rows); it is checked row by row before anything is imported"
        )
    return None


def iter_rows(
    path: Path, *, expanded_limit: int = MAX_EXPANDED_BYTES, column_limit: int = MAX_COLUMN_CHUNK_BYTES
) -> Iterator[dict[str, Any]]:
    """The file's rows as dicts (column → value), streamed, each size bounded (see the module's docstring)."""
    kind = detect_format(path)
    if kind == "parquet":
        yield from _parquet_rows(path, column_limit)
        return
    csv.field_size_limit(MAX_CELL_CHARS)
    with (
        _open_text_bytes(path, kind, expanded_limit) as raw,
        io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text,
    ):
        row = 0  # the data rows yielded so far: an error is in the next one
        try:
            for record in csv.DictReader(_bounded_lines(text)):
                row += 1
                yield record
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"the file is not UTF-8 text: {exc.reason}", field=None) from None
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise InvalidInput(f"the gzip stream is damaged: {exc}", field=None) from None
        except csv.Error as exc:
            if "field limit" in str(exc):
                too_long = f"a cell is over the limit of {MAX_CELL_CHARS:,} characters"
                raise FocusError(too_long, row=row + 1, column=None) from None
            raise InvalidInput(f"the CSV is malformed: {exc}", field=None) from None


class _Expanded(io.RawIOBase):
    """A decompressed stream that refuses to yield more than ``limit`` bytes."""

    def __init__(self, inner: gzip.GzipFile, limit: int) -> None:
        self.inner = inner
        self.limit = limit
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.inner.read(len(buffer))
        self.size += len(data)
        if self.size > self.limit:
            raise InvalidInput(f"the file expands past the limit of {self.limit:,} bytes when decompressed")
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self.inner.close()
        super().close()


def _open_text_bytes(path: Path, kind: str, expanded_limit: int) -> io.BufferedReader:
    if kind == "gzip":
        return io.BufferedReader(_Expanded(gzip.open(path, "rb"), expanded_limit), buffer_size=1 << 16)
    return path.open("rb")


def _bounded_lines(text: io.TextIOWrapper) -> Iterator[str]:
    """Lines of at most MAX_LINE_CHARS, never a longer one read whole."""
    number = blank = 0
    while line := text.readline(MAX_LINE_CHARS + 1):
        number += 1
        if len(line) > MAX_LINE_CHARS:
            raise FocusError(f"a line is over the limit of {MAX_LINE_CHARS:,} characters", row=number - 1, column=None)
        blank = blank + 1 if line in ("\n", "\r\n") else 0
        if blank > MAX_BLANK_LINES:
            raise FocusError(f"over {MAX_BLANK_LINES:,} blank lines in a row", row=number - 1, column=None)
        yield line


def _check_column_chunks(metadata: Any, column_limit: int) -> None:
    """Refuse, from the metadata alone, a column chunk whose decoded pages would cost memory out of bounds: one
    over ``column_limit`` bytes uncompressed, or one whose values average over MAX_CELL_CHARS (one huge cell)."""
    first = 1
    for index in range(metadata.num_row_groups):
        group = metadata.row_group(index)
        for position in range(group.num_columns):
            chunk = group.column(position)
            size, values, name = chunk.total_uncompressed_size, max(1, chunk.num_values), chunk.path_in_schema
            if size > column_limit:
                over = f"holds {size:,} bytes uncompressed in one row group; the limit is {column_limit:,}"
                raise FocusError(over, row=first, column=name)
            if size // values > MAX_CELL_CHARS:
                over = f"its cells average {size // values:,} bytes; the limit for a cell is {MAX_CELL_CHARS:,}"
                raise FocusError(over, row=first, column=name)
        first += group.num_rows


def _parquet_rows(path: Path, column_limit: int) -> Iterator[dict[str, Any]]:
    import pyarrow.parquet as pq  # pyarrow: the reference Parquet reader; imported only for Parquet files

    try:
        parquet = pq.ParquetFile(path)
        _check_column_chunks(parquet.metadata, column_limit)
        row = 1
        for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):
            _check_cells(batch, row)
            yield from batch.to_pylist()
            row += batch.num_rows
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError, ArrowIOError an OSError
        raise InvalidInput(f"the Parquet file is unreadable: {exc}", field=None) from None


def _check_cells(batch: Any, first_row: int) -> None:
    """Refuse a string or binary cell over MAX_CELL_CHARS before the batch becomes Python objects."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        kind = column.type
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_binary(kind)):
            continue
        lengths = pc.binary_length(column)
        longest = pc.max(lengths).as_py()
        if longest is not None and longest > MAX_CELL_CHARS:
            offset = pc.index(lengths, longest).as_py()
            too_long = f"a cell of {longest:,} bytes is over the limit of {MAX_CELL_CHARS:,}"
            raise FocusError(too_long, row=first_row + offset, column=name)
