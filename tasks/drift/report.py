"""One shape for drift evidence, whatever produced it (Model Monitor, Evidently, complyflow itself).

A report is a list of per-feature statistics, each with the direction in which it is bad and, where
the tool states one, its own threshold; plus any model-quality metrics it carries. Turning these into
evidence rows with the inventory's thresholds is the collector's job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from tasks.drift.inventory import ThresholdName

Bound = Literal["max", "min"]  # max: larger values are worse (PSI); min: smaller values are worse (p-values)


class DriftEvidenceError(ValueError):
    """Drift evidence that cannot be read or trusted; its class name becomes the evidence gap's code."""


class NoDriftReport(DriftEvidenceError):
    """A configured source holds no report."""


class NoDriftSource(DriftEvidenceError):
    """A production model names no drift source in the inventory."""


class MalformedReport(DriftEvidenceError):
    """A report file does not have the documented format."""


class MissingFeature(DriftEvidenceError):
    """A feature is absent from, or empty in, one of the datasets."""


class UnknownStatTest(DriftEvidenceError):
    """A statistical test whose direction (is a high or a low score drift?) is not known."""


class MissingMetric(DriftEvidenceError):
    """A quality metric with a floor declared on the model is carried by none of its reports."""


@dataclass(frozen=True, slots=True)
class Statistic:
    """One drift statistic of one feature."""

    feature: str
    statistic: str  # psi | ks_pvalue | constraint_violations | an Evidently stat test, e.g. wasserstein_distance_normed
    value: float | None
    bound: Bound | None
    threshold: float | None = None  # the tool's own threshold, used when the inventory governs none
    governed_by: ThresholdName | None = None  # the inventory threshold that applies, if any
    ks_statistic: float | None = None
    detail: str = ""
    error: DriftEvidenceError | None = None  # why `value` or `bound` is missing


@dataclass(frozen=True, slots=True)
class DriftReport:
    """The latest report of one source for one model."""

    source: str  # model-monitor | evidently | computed
    name: str  # Model Monitor schedule, Evidently file name, or "" for complyflow's own report
    uri: str
    report_time: datetime | None
    statistics: tuple[Statistic, ...] = ()
    quality: dict[str, float] = field(default_factory=dict)
