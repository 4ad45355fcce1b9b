"""Property tests of the CSV writer: any text round-trips through a CSV reader; formulas never reach a cell.

A spreadsheet runs a cell as a formula when it starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return; the writer prefixes such text with an apostrophe and leaves everything else (commas, quotes,
newlines, any Unicode) exactly as it was; a lone surrogate, which UTF-8 cannot hold, comes back escaped.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lcmem.csv_cells import FORMULA_PREFIXES, CsvStream, safe_cell, write_csv_atomic

EXAMPLES = 200
FIXED_BUDGET = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
tricky = st.sampled_from([",", '"', "\n", "\r", "\t", "'", "=", "+", "-", "@", " ", ";", "é", "\u2028", "\x00"])
cells = st.text(alphabet=st.characters() | tricky, max_size=30) | st.builds("".join, st.lists(tricky, max_size=8))
rows = st.lists(st.lists(cells | st.integers() | st.floats(allow_nan=False) | st.none(), min_size=3, max_size=3))


def read_back(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.reader(stream))


def expected_cell(value: object) -> str:
    """What a CSV reader must give back for ``value``."""
    if value is None:
        return ""
    if isinstance(value, str):
        text = value.encode("utf-8", "backslashreplace").decode("utf-8")  # lone surrogates are escaped
        return "'" + text if value.startswith(FORMULA_PREFIXES) else text
    return str(value)


@FIXED_BUDGET
@given(data=rows)
def test_any_rows_round_trip_with_formulas_defused(tmp_path: Path, data: list[list[object]]) -> None:
    path = tmp_path / "out.csv"
    assert write_csv_atomic(path, ("a", "b", "c"), data) == len(data)
    back = read_back(path)
    assert back[0] == ["a", "b", "c"]
    assert back[1:] == [[expected_cell(v) for v in row] for row in data]
    for row, original in zip(back[1:], data, strict=True):
        for cell, value in zip(row, original, strict=True):
            if isinstance(value, str):
                assert not cell.startswith(FORMULA_PREFIXES), "a spreadsheet would run this cell"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


@FIXED_BUDGET
@given(data=rows, split=st.integers(0, 10))
def test_streamed_csv_equals_the_one_shot_file(tmp_path: Path, data: list[list[object]], split: int) -> None:
    stream = CsvStream(tmp_path / "streamed.csv", ("a", "b", "c"))
    stream.write(data[:split])
    stream.write(data[split:])
    stream.commit()
    write_csv_atomic(tmp_path / "once.csv", ("a", "b", "c"), data)
    assert (tmp_path / "streamed.csv").read_bytes() == (tmp_path / "once.csv").read_bytes()


@FIXED_BUDGET
@given(text=cells)
def test_safe_cell_changes_only_formulas(text: str) -> None:
    cell = safe_cell(text)
    assert cell == ("'" + text if text.startswith(FORMULA_PREFIXES) else text)


@pytest.mark.parametrize("fail_at", [0, 1, 5])
def test_a_failing_row_source_leaves_nothing(tmp_path: Path, fail_at: int) -> None:
    (tmp_path / "out.csv").write_text("previous\n")

    def rows_then_failure() -> Iterator[tuple[int, str, str]]:
        for index in range(10):
            if index == fail_at:
                raise RuntimeError("the source failed")
            yield (index, "x", "y")

    with pytest.raises(RuntimeError):
        write_csv_atomic(tmp_path / "out.csv", ("a", "b", "c"), rows_then_failure())
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
    assert (tmp_path / "out.csv").read_text() == "previous\n"
