"""Reading an organisation's CSV file line by line, so that one bad line stops no other.

A record is one line: a quoted field cannot span lines (no roster field holds a line
break), so every reason names the line a spreadsheet shows. A line that is not UTF-8, is
longer than MAX_LINE, holds a control character (PostgreSQL refuses NUL where SQLite keeps
it), has an unterminated quote or more fields than the header is reported and skipped;
the lines around it are read as usual.
"""

import csv
import re
from collections.abc import Iterator
from typing import IO, NamedTuple

MAX_LINE = 8192  # characters (bytes for a binary file); a roster's line is a few hundred
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# Named tuples, not dataclasses: a million-line roster makes two of these per line.
class Line(NamedTuple):
    number: int
    fields: list[str]
    error: str = ""  # why the line cannot be read; then `fields` is empty


class Record(NamedTuple):
    line: int
    values: dict[str, str]  # by the header's column names; a missing trailing field is ""
    error: str = ""


def _physical_lines(stream: IO[bytes] | IO[str]) -> Iterator[tuple[int, bytes | str, bool]]:
    """(number, line, too long) for each line; a too long line is skipped, never held whole."""
    number = 0
    while line := stream.readline(MAX_LINE + 1):
        number += 1
        too_long = len(line) > MAX_LINE
        while too_long and line and line[-1:] not in ("\n", b"\n"):
            line = stream.readline(MAX_LINE + 1)
        yield number, line, too_long


def _parse(number: int, line: bytes | str, too_long: bool) -> Line:
    if too_long:
        return Line(number, [], f"longer than {MAX_LINE} characters")
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError:
            return Line(number, [], "not valid UTF-8 (save the file as CSV UTF-8)")
    if number == 1:
        line = line.removeprefix("\ufeff")
    control = _CONTROL.search(line)
    if control:
        name = "NUL byte" if control.group() == "\x00" else "control character"
        return Line(number, [], f"holds a {name} (U+{ord(control.group()):04X})")
    bare = line.rstrip("\r\n")
    if '"' not in bare and "\r" not in bare and "\n" not in bare:
        # Without quotes or a stray line break, the csv module would only split on commas.
        return Line(number, bare.split(",") if bare else [])
    try:
        fields = next(csv.reader([line], strict=True), [])
    except csv.Error as error:
        if "unexpected end of data" in str(error):
            return Line(number, [], "a quote is not closed on this line")
        return Line(number, [], f"not valid CSV: {error}")
    return Line(number, fields)


class CsvFile:
    """A CSV file with a header line: `columns`, then its records (`for record in file`)."""

    def __init__(self, stream: IO[bytes] | IO[str]) -> None:
        self._lines = (_parse(*physical) for physical in _physical_lines(stream))
        header = next(self._lines, Line(1, [], "the file is empty"))
        self.error = f"header: {header.error}" if header.error else ""
        self.columns = [column.strip() for column in header.fields]

    def __iter__(self) -> Iterator[Record]:
        for line in self._lines:
            if line.error:
                yield Record(line.number, {}, line.error)
            elif not "".join(line.fields).strip():
                continue  # a blank line
            elif len(line.fields) > len(self.columns):
                yield Record(
                    line.number,
                    {},
                    f"{len(line.fields)} fields where the header has {len(self.columns)} "
                    "(a comma in a value needs quotes)",
                )
            elif len(line.fields) == len(self.columns):
                yield Record(line.number, dict(zip(self.columns, line.fields, strict=True)))
            else:
                values = dict.fromkeys(self.columns, "")
                values.update(zip(self.columns, line.fields, strict=False))
                yield Record(line.number, values)


def value_too_long(values: dict[str, str], limits: dict[str, int]) -> str:
    """The reason a value exceeds its column's length, or ""."""
    for column, limit in limits.items():
        if len(values.get(column, "")) > limit:
            return f"{column} is longer than {limit} characters"
    return ""
