"""Population Stability Index and the two-sample Kolmogorov-Smirnov test, per feature.

PSI compares the share of rows per bin: numeric features are cut at the reference's quantiles (so each
reference bin holds about the same share), categorical features use one bin per category seen in
either sample. An empty bin would make the logarithm infinite, so its share is floored at
`EMPTY_BIN_SHARE`, as Evidently and most PSI implementations do; shares are not renormalised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

#: Share used for a bin that holds no row in one sample (keeps ln(a/e) finite).
EMPTY_BIN_SHARE = 1e-4

FeatureKind = Literal["numeric", "categorical"]


@dataclass(frozen=True, slots=True)
class FeatureDrift:
    """Drift of one feature between a reference and a current sample."""

    feature: str
    kind: FeatureKind
    psi: float
    ks_statistic: float | None  # numeric features only
    ks_pvalue: float | None
    n_reference: int
    n_current: int


def psi_from_shares(reference: np.ndarray, current: np.ndarray) -> float:
    """PSI = Σ (current − reference) · ln(current / reference) over bins, empty bins floored."""
    if reference.shape != current.shape:
        raise ValueError("reference and current shares must have one value per bin")
    ref = np.where(reference > 0, reference, EMPTY_BIN_SHARE)
    cur = np.where(current > 0, current, EMPTY_BIN_SHARE)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def quantile_edges(reference: np.ndarray, bins: int) -> np.ndarray:
    """Inner bin edges at the reference's quantiles 1/bins … (bins-1)/bins, duplicates merged."""
    if bins < 2:
        raise ValueError(f"PSI needs at least 2 bins, got {bins}")
    return np.unique(np.quantile(reference, np.arange(1, bins) / bins))


def numeric_psi(reference: pd.Series, current: pd.Series, bins: int) -> float:
    """PSI of a numeric feature over right-closed bins (-inf, e1], (e1, e2], …, (ek, +inf)."""
    ref = _values(reference, "reference").astype(float)
    cur = _values(current, "current").astype(float)
    edges = quantile_edges(ref, bins)
    slots = len(edges) + 1
    ref_share = np.bincount(np.searchsorted(edges, ref, side="left"), minlength=slots) / len(ref)
    cur_share = np.bincount(np.searchsorted(edges, cur, side="left"), minlength=slots) / len(cur)
    return psi_from_shares(ref_share, cur_share)


def categorical_psi(reference: pd.Series, current: pd.Series) -> float:
    """PSI of a categorical feature: one bin per category seen in either sample."""
    ref = pd.Series(_values(reference, "reference")).astype(str)
    cur = pd.Series(_values(current, "current")).astype(str)
    categories = sorted(set(ref) | set(cur))
    ref_share = ref.value_counts(normalize=True).reindex(categories, fill_value=0.0).to_numpy()
    cur_share = cur.value_counts(normalize=True).reindex(categories, fill_value=0.0).to_numpy()
    return psi_from_shares(ref_share, cur_share)


def ks_test(reference: pd.Series, current: pd.Series) -> tuple[float, float]:
    """Two-sample, two-sided KS test (scipy chooses the exact or asymptotic p-value): (D, p-value)."""
    result = stats.ks_2samp(_values(reference, "reference").astype(float), _values(current, "current").astype(float))
    return float(result.statistic), float(result.pvalue)


def is_numeric(series: pd.Series) -> bool:
    """Numbers are numeric; booleans, strings and categories are categorical."""
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def feature_drift(
    feature: str, reference: pd.Series, current: pd.Series, *, bins: int, categorical: bool = False
) -> FeatureDrift:
    """PSI for every feature, plus the KS test for numeric ones."""
    numeric = not categorical and is_numeric(reference) and is_numeric(current)
    if numeric:
        psi = numeric_psi(reference, current, bins)
        ks_statistic, ks_pvalue = ks_test(reference, current)
    else:
        psi = categorical_psi(reference, current)
        ks_statistic = ks_pvalue = None
    return FeatureDrift(
        feature=feature,
        kind="numeric" if numeric else "categorical",
        psi=psi,
        ks_statistic=ks_statistic,
        ks_pvalue=ks_pvalue,
        n_reference=int(reference.notna().sum()),
        n_current=int(current.notna().sum()),
    )


def _values(series: pd.Series, side: str) -> np.ndarray:
    values = series.dropna().to_numpy()
    if len(values) == 0:
        raise ValueError(f"feature {series.name!r} has no non-null value in the {side} data")
    return values
