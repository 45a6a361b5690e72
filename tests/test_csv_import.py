"""The CSV reader's shortcut for lines without quotes reads them as the csv module does."""

import csv
import io

import pytest

from vestibule.csv_import import CsvFile

LINES = [
    "a,b,c",
    "a,b,c\r\n",
    " a , b ,c \n",
    ",,",
    "a,,c,",
    "   ",
    "\n",
    "Émilie,Côté,Montréal",
    "a;b\tc,d",
    "a'b,c",
    "a\\,b",
]


@pytest.mark.parametrize("line", LINES)
def test_a_line_without_quotes_is_split_like_the_csv_module_does(line):
    file = CsvFile(io.StringIO("h1,h2,h3,h4,h5\n" + line))
    records = list(file)
    expected = next(csv.reader([line], strict=True), [])
    if not any(field.strip() for field in expected):
        assert records == []  # a blank line is skipped either way
        return
    (record,) = records
    assert record.error == ""
    assert [record.values[h] for h in file.columns][: len(expected)] == expected


def test_quoted_fields_still_go_through_the_csv_module():
    file = CsvFile(io.StringIO('h1,h2\n"a, b",c\n"unclosed,d\n'))
    first, second = list(file)
    assert first.values == {"h1": "a, b", "h2": "c"}
    assert second.error == "a quote is not closed on this line"
