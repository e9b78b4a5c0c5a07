import pandas as pd
import pytest

from cegah.risk.windows import month_index, window_counts

CASES = pd.DataFrame({  # SYNTHETIC
    "code": ["a", "a", "a", "b", "b", "c"],
    "period": ["2025-11", "2026-10", "2025-10", "2026-01", "2025-06", "2024-12"],
    "category": ["sexual_abuse", "trafficking", "sexual_abuse", "sexual_abuse",
                 "online_sexual_exploitation", "sexual_abuse"],
    "count": [2, 1, 5, 3, 4, 9],
})


def test_the_current_window_holds_the_12_months_up_to_as_of():
    now = window_counts(CASES, as_of="2026-10")
    assert now.loc["a", "sexual_abuse"] == 2  # 2025-10 is the 13th month back: excluded
    assert now.loc["a", "trafficking"] == 1
    assert now.loc["a", "all"] == 3
    assert now.loc["b", "all"] == 3
    assert "c" not in now.index


def test_the_previous_window_is_the_12_months_before():
    before = window_counts(CASES, as_of="2026-10", offset=1)
    assert before.loc["a", "sexual_abuse"] == 5
    assert before.loc["b", "online_sexual_exploitation"] == 4
    assert before.loc["c", "all"] == 9
    assert list(before.columns)[-1] == "all"


@pytest.mark.parametrize("bad", ["2026-13", "2026/10", "26-10", "", None])
def test_it_rejects_malformed_months(bad):
    with pytest.raises(ValueError, match="expected a month as YYYY-MM"):
        month_index(bad)


def test_it_names_a_missing_column():
    with pytest.raises(ValueError, match="cases: missing column"):
        window_counts(CASES.drop(columns="count"), as_of="2026-10")
