"""PSI and KS against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tasks.drift.stats import (
    EMPTY_BIN_SHARE,
    categorical_psi,
    feature_drift,
    ks_test,
    numeric_psi,
    psi_from_shares,
    quantile_edges,
)

REFERENCE = pd.Series(range(100), name="x")  # deciles: 10 values per bin, edges at 9.9, 19.8, …


def test_deciles_of_the_reference_cut_ten_equal_bins() -> None:
    assert quantile_edges(REFERENCE.to_numpy(), 10) == pytest.approx(
        [9.9, 19.8, 29.7, 39.6, 49.5, 59.4, 69.3, 79.2, 89.1]
    )


def test_identical_samples_have_no_drift() -> None:
    assert numeric_psi(REFERENCE, REFERENCE.copy(), 10) == 0.0
    assert ks_test(REFERENCE, REFERENCE.copy()) == (0.0, 1.0)


def test_numeric_psi_by_hand() -> None:
    # current: bins 0 and 1 hold 15 % each, bins 8 and 9 hold 5 % each, the other six 10 % each
    current = pd.Series(
        [*range(0, 10), *range(0, 5), *range(10, 20), *range(10, 15), *range(20, 80), *range(80, 85), *range(90, 95)]
    )
    assert len(current) == 100
    # PSI = 2·(0.15−0.1)·ln 1.5 + 2·(0.05−0.1)·ln 0.5 = 0.1·ln 1.5 + 0.1·ln 2 = 0.1·ln 3
    assert numeric_psi(REFERENCE, current, 10) == pytest.approx(0.1 * math.log(3), abs=1e-12)
    assert numeric_psi(REFERENCE, current, 10) == pytest.approx(0.109861, abs=1e-6)


def test_numeric_psi_floors_empty_bins() -> None:
    current = pd.Series([*range(0, 10)] * 5 + [*range(90, 100)] * 5)  # half in bin 0, half in bin 9
    expected = 2 * (0.5 - 0.1) * math.log(5) + 8 * (EMPTY_BIN_SHARE - 0.1) * math.log(EMPTY_BIN_SHARE / 0.1)
    assert numeric_psi(REFERENCE, current, 10) == pytest.approx(expected, abs=1e-12)
    assert expected == pytest.approx(6.808228, abs=1e-6)


def test_values_beyond_the_reference_range_fall_in_the_outer_bins() -> None:
    shifted = pd.Series([-50] * 10 + list(range(10, 90)) + [500] * 10)
    assert numeric_psi(REFERENCE, shifted, 10) == pytest.approx(0.0, abs=1e-12)


def test_categorical_psi_by_hand() -> None:
    reference = pd.Series(["a"] * 50 + ["b"] * 50)
    current = pd.Series(["a"] * 80 + ["b"] * 20)
    # (0.8−0.5)·ln(0.8/0.5) + (0.2−0.5)·ln(0.2/0.5)
    assert categorical_psi(reference, current) == pytest.approx(0.3 * math.log(1.6) - 0.3 * math.log(0.4), abs=1e-12)
    assert categorical_psi(reference, current) == pytest.approx(0.41589, abs=1e-5)


def test_a_new_category_counts_against_an_empty_reference_bin() -> None:
    reference = pd.Series(["a"] * 100)
    current = pd.Series(["a"] * 90 + ["c"] * 10)
    expected = (0.9 - 1.0) * math.log(0.9) + (0.1 - EMPTY_BIN_SHARE) * math.log(0.1 / EMPTY_BIN_SHARE)
    assert categorical_psi(reference, current) == pytest.approx(expected, abs=1e-12)


def test_ks_statistic_and_exact_pvalue_by_hand() -> None:
    # fully separated samples of 3: D = 1, exact two-sided p = 2 / C(6, 3) = 0.1
    assert ks_test(pd.Series([1, 2, 3]), pd.Series([4, 5, 6])) == pytest.approx((1.0, 0.1))
    # of 5: p = 2 / C(10, 5) = 2 / 252
    d, p = ks_test(pd.Series([1, 2, 3, 4, 5]), pd.Series([6, 7, 8, 9, 10]))
    assert (d, p) == pytest.approx((1.0, 2 / 252))


def test_ks_statistic_is_the_largest_gap_between_the_two_cdfs() -> None:
    # F_ref − F_cur peaks after 2: 2/4 − 0/4 = 0.5
    d, _ = ks_test(pd.Series([1, 2, 3, 4]), pd.Series([2.5, 3, 4, 5]))
    assert d == pytest.approx(0.5)


def test_feature_drift_numeric_has_psi_and_ks_categorical_only_psi() -> None:
    numeric = feature_drift("x", REFERENCE, REFERENCE + 1000, bins=10)
    assert (numeric.kind, numeric.ks_statistic, numeric.n_reference, numeric.n_current) == ("numeric", 1.0, 100, 100)
    assert numeric.ks_pvalue is not None and numeric.ks_pvalue < 1e-30
    # every current value lands in the top bin: (1 − 0.1)·ln 10 + 9·(ε − 0.1)·ln(ε / 0.1)
    expected = 0.9 * math.log(10) + 9 * (EMPTY_BIN_SHARE - 0.1) * math.log(EMPTY_BIN_SHARE / 0.1)
    assert numeric.psi == pytest.approx(expected, abs=1e-12)
    plan = feature_drift("plan", pd.Series(["a", "b"] * 5), pd.Series(["a", "b"] * 5), bins=10)
    assert (plan.kind, plan.psi, plan.ks_pvalue) == ("categorical", 0.0, None)


def test_declared_categorical_and_booleans_are_not_tested_with_ks() -> None:
    codes = feature_drift("code", pd.Series([1, 2, 3] * 4), pd.Series([1, 2, 3] * 4), bins=10, categorical=True)
    flags = feature_drift("flag", pd.Series([True, False] * 3), pd.Series([True] * 6), bins=10)
    assert (codes.kind, codes.ks_pvalue) == ("categorical", None)
    assert flags.kind == "categorical"
    # True: 0.5 → 1.0, False: 0.5 → empty
    expected = (1 - 0.5) * math.log(2) + (EMPTY_BIN_SHARE - 0.5) * math.log(EMPTY_BIN_SHARE / 0.5)
    assert flags.psi == pytest.approx(expected, abs=1e-12)


def test_nulls_are_ignored_and_an_all_null_sample_is_an_error() -> None:
    with_nulls = pd.Series([*range(100), None, None], dtype="float64")
    assert numeric_psi(REFERENCE, with_nulls, 10) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="no non-null value in the current data"):
        feature_drift("x", REFERENCE, pd.Series([np.nan, np.nan], name="x"), bins=10)


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="at least 2 bins"):
        numeric_psi(REFERENCE, REFERENCE, 1)
    with pytest.raises(ValueError, match="one value per bin"):
        psi_from_shares(np.array([0.5, 0.5]), np.array([1.0]))
