"""Loading and validation of the long table: every bad input gives a clear one-line message."""

from __future__ import annotations

import pandas as pd
import pytest

from turing_test.stats import RatingTableError, parse_scale, read_rating_csv, validate_table
from turing_test.stats.table import Scale, to_wide


def frame(rows, columns=("item", "reader", "rating")):
    return pd.DataFrame(rows, columns=list(columns))


def expect_error(df, fragment, scale=None):
    with pytest.raises(RatingTableError) as info:
        validate_table(df, scale)
    message = str(info.value)
    assert fragment in message and "\n" not in message, message


def test_missing_columns_named_in_the_message():
    expect_error(frame([["a", "r1"]], ("item", "reader")), "missing required column(s): rating")
    expect_error(frame([[1]], ("score",)), "item, reader, rating")


def test_out_of_scale_and_fractional_ratings():
    expect_error(frame([["a", "r1", 6], ["b", "r1", 3]]), "outside the declared scale 1-5, e.g. 6 (item a, reader r1)", "1-5")
    expect_error(frame([["a", "r1", 0]]), "outside the declared scale", "1-5")
    expect_error(frame([["a", "r1", 2.5]]), "not whole numbers", "1-5")


def test_non_numeric_and_blank_ratings():
    expect_error(frame([["a", "r1", "good"]]), "not numbers, e.g. 'good'")
    clean, warnings = validate_table(frame([["a", "r1", ""], ["b", "r1", "3"]]))
    assert len(clean) == 1 and "empty rating" in warnings[0]
    expect_error(frame([["a", "r1", ""]]), "every rating is empty")


def test_truth_must_be_binary_and_constant_per_item():
    cols = ("item", "reader", "rating", "truth")
    expect_error(frame([["a", "r1", 3, "2"]], cols), "truth must be 0 or 1")
    expect_error(frame([["a", "r1", 3, 1], ["a", "r2", 3, 0]], cols), "both truth 0 and 1, e.g. item a")
    clean, _ = validate_table(frame([["a", "r1", 3, "true"], ["b", "r1", 2, "0"]], cols))
    assert clean["truth"].tolist() == [1, 0]


def test_duplicates_and_empty_ids():
    expect_error(frame([["a", "r1", 3], ["a", "r1", 4]]), "rate the same thing twice")
    expect_error(frame([["", "r1", 3]]), "empty item")
    expect_error(frame([], ("item", "reader", "rating")), "no rows")
    # the same item under two modalities is two readings, not a duplicate
    cols = ("item", "reader", "rating", "modality")
    clean, _ = validate_table(frame([["a", "r1", 3, "A"], ["a", "r1", 4, "B"]], cols))
    assert len(clean) == 2


def test_scale_parsing():
    assert parse_scale("1-5") == Scale(1, 5)
    assert parse_scale(" 0..10 ") == Scale(0, 10)
    assert parse_scale((1, 7)) == Scale(1, 7)
    assert parse_scale(None) is None
    for bad in ("five", "5-1", "1-1"):
        with pytest.raises(RatingTableError):
            parse_scale(bad)


def test_csv_reading_errors(tmp_path):
    with pytest.raises(RatingTableError, match="not found"):
        read_rating_csv(tmp_path / "missing.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(RatingTableError, match="empty"):
        read_rating_csv(empty)
    ok = tmp_path / "ok.csv"
    ok.write_text("Item, Reader ,rating\n007,r1,4\n")
    clean, _ = validate_table(read_rating_csv(ok))
    assert clean.loc[0, "item"] == "007"  # ids stay text; column names are normalised


def test_wide_matrix_layout():
    clean, _ = validate_table(frame([["a", "r2", 1], ["a", "r1", 2], ["b", "r1", 3]]))
    wide = to_wide(clean)
    assert wide.readers == ["r1", "r2"]
    assert wide.matrix.shape == (2, 2)
    assert wide.complete().tolist() == [[2.0, 1.0]]
