"""The one formatting module (cnnzoo.fmt): numbers, tables and input sizes, against values
written out by hand."""

from __future__ import annotations

import pytest

from cnnzoo.errors import ConfigError
from cnnzoo.fmt import human_bytes, human_count, md_table, parse_input_size, text_table


@pytest.mark.parametrize(
    ("args", "text"),
    [
        ((397678568,), "397.68M"),
        ((15e6, ".4g"), "15M"),
        ((42,), "42"),
        ((999,), "999"),
        ((1000,), "1.00K"),
        ((-2500,), "-2.50K"),
        ((1.5e12,), "1500.00G"),
        ((61706, ".1f", "B", " "), "61.7 KB"),
    ],
)
def test_human_count(args: tuple, text: str) -> None:
    assert human_count(*args) == text


def test_human_bytes() -> None:
    assert [human_bytes(n) for n in (512, 1500, 26.4e6, 1.2e9)] == [
        "512 B", "1.5 KB", "26.4 MB", "1.2 GB",
    ]  # fmt: skip


def test_text_table_aligns_columns() -> None:
    got = text_table(["name", "params"], [["lenet5", "61.71K"], ["vgg16", "138.36M"]],
                     [False, True])  # fmt: skip
    assert got.splitlines() == [
        "name     params",
        "------  -------",
        "lenet5   61.71K",
        "vgg16   138.36M",
    ]


def test_md_table_aligns_and_escapes_pipes() -> None:
    got = md_table(["a", "b"], [["x|y", 3]], [False, True])
    assert got.splitlines() == ["| a | b |", "|---|---:|", "| x\\|y | 3 |"]
    assert md_table(["a"], [["1"]]).splitlines()[1] == "|---|", "left-aligned by default"


def test_parse_input_size() -> None:
    assert parse_input_size("1x28x28") == (1, 28, 28)
    assert parse_input_size("3×224×224") == (3, 224, 224)
    assert parse_input_size([1, 32, 32]) == (1, 32, 32)
    for bad in ("28x28", "1x0x28", "axbxc", (1, 28), (1, 28, 28.5), (True, 28, 28)):
        with pytest.raises(ConfigError, match="input"):
            parse_input_size(bad)
