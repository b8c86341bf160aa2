"""Policy as data: schemas for everything under `configs/`, checked at load.

A malformed file fails with a `ConfigError` naming the file, the entry and the field, so that a
policy author can fix it without reading code.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from complyflow.core.conditions import ConditionError, parse_condition
from complyflow.core.expectations import check_kwargs
from complyflow.core.expectations import class_name as expectation_class_name
from complyflow.core.policies import CLAUSE_REF, PolicyDocument, check_reasons, load_policies, resolve_references

DEFAULT_CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"
SEVERITIES = ("critical", "high", "medium", "low", "informational")
#: The frameworks a control may map to: the one list (forms, CLI options and reports derive from it).
FrameworkName = Literal["iso27001", "iso42001", "soc2", "cis_aws"]  # a Literal: the Prefect UI renders a multi-select
FRAMEWORKS: tuple[str, ...] = get_args(FrameworkName)


@dataclass(frozen=True)
class FrameworkInfo:
    label: str  # for people (reports, trend)
    ocsf_name: str  # Prowler-style NAME-VERSION key in OCSF `unmapped.compliance`


FRAMEWORK_INFO: dict[str, FrameworkInfo] = {
    "iso27001": FrameworkInfo("ISO/IEC 27001:2022 Annex A", "ISO27001-2022"),
    "iso42001": FrameworkInfo("ISO/IEC 42001:2023 Annex A", "ISO42001-2023"),
    "soc2": FrameworkInfo("SOC 2 TSC", "SOC2"),
    "cis_aws": FrameworkInfo("CIS AWS Foundations", "CIS-AWS"),
}
assert tuple(FRAMEWORK_INFO) == FRAMEWORKS, "every framework needs its FrameworkInfo"
_M = TypeVar("_M", bound=BaseModel)


class ConfigError(ValueError):
    """A config file is missing or does not match its schema."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- scope ---------------------------------------------------------------------------------------


class AccountScope(_Strict):
    """An AWS account to collect from: ambient credentials, or a role to assume."""

    name: str
    id: str | None = Field(default=None, pattern=r"^\d{12}$")
    role_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")
    external_id: str | None = None
    owner: str | None = None


class Execution(_Strict):
    """Where collection runs: in the run's own flow, or as one deployment run per account on a work pool."""

    mode: Literal["local", "deployments"] = "local"
    collect_deployment: str = "collect-account/collect-account"
    timeout_seconds: float = Field(default=3600, gt=0)


class Scope(_Strict):
    accounts: list[AccountScope] = Field(min_length=1)
    regions: list[str] = Field(min_length=1)
    global_region: str = "us-east-1"
    execution: Execution = Field(default_factory=Execution)

    @field_validator("accounts")
    @classmethod
    def _unique_account_names(cls, accounts: list[AccountScope]) -> list[AccountScope]:
        names = [a.name for a in accounts]
        if len(names) != len(set(names)):
            raise ValueError("account names must be unique")
        return accounts

    @field_validator("regions")
    @classmethod
    def _regions_look_like_regions(cls, regions: list[str]) -> list[str]:
        for region in regions:
            _check_region(region)
        return regions

    @field_validator("global_region")
    @classmethod
    def _global_region_looks_like_a_region(cls, region: str) -> str:
        return _check_region(region)


def _check_region(region: str) -> str:
    if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", region):
        raise ValueError(f"{region!r} is not an AWS region name (e.g. eu-west-1)")
    return region


# --- owners --------------------------------------------------------------------------------------


#: Slack destinations as written in owners.yaml / notify.yaml.
CHANNEL_RE = re.compile(r"#[a-z0-9][a-z0-9._-]{0,79}|[CG][A-Z0-9]{6,}")
USER_RE = re.compile(r"[UW][A-Z0-9]{6,}")
GROUP_RE = re.compile(r"S[A-Z0-9]{6,}")
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


class RouteTarget(_Strict):
    """A Slack channel to post in, with an optional user or user group to mention there."""

    channel: str
    mention: str | None = None

    @field_validator("channel")
    @classmethod
    def _channel_is_postable(cls, value: str) -> str:
        if not (CHANNEL_RE.fullmatch(value) or USER_RE.fullmatch(value)):
            raise ValueError(f"{value!r} is not a channel (#name or C…/G… id) or a user id (U…/W…)")
        return value

    @field_validator("mention")
    @classmethod
    def _mention_is_user_or_group(cls, value: str | None) -> str | None:
        if value is not None and not (USER_RE.fullmatch(value) or GROUP_RE.fullmatch(value)):
            raise ValueError(f"{value!r} is neither a user id (U…/W…) nor a user group id (S…)")
        return value


class Owners(_Strict):
    """How a finding finds its owner, and where the owner hears about it in Slack.

    Owner: resource tags first (`tag_keys`, in order), then the account owner, then `fallback_owner`.
    Slack destination (`routes`, keyed by team name or e-mail): a channel (#name or C…/G… id), a user id
    (U…/W…), an e-mail looked up with users.lookupByEmail, or {channel, mention} to ping a user group there.
    """

    tag_keys: list[str] = Field(default_factory=lambda: ["owner"], min_length=1)
    fallback_owner: str
    routes: dict[str, str | RouteTarget] = Field(default_factory=dict)

    @field_validator("routes")
    @classmethod
    def _routes_are_destinations(cls, routes: dict[str, str | RouteTarget]) -> dict[str, str | RouteTarget]:
        for owner, target in routes.items():
            if isinstance(target, RouteTarget):
                continue
            if GROUP_RE.fullmatch(target):
                raise ValueError(
                    f"{owner}: a user group ({target}) cannot receive messages; write "
                    f"{{channel: '#team-channel', mention: '{target}'}}"
                )
            if not (CHANNEL_RE.fullmatch(target) or USER_RE.fullmatch(target) or EMAIL_RE.fullmatch(target)):
                raise ValueError(
                    f"{owner}: {target!r} is not a channel (#name, C…/G… id), a user id (U…/W…) or an e-mail"
                )
        return routes


# --- controls ------------------------------------------------------------------------------------


class PolicyClause(_Strict):
    document: str
    section: str


class Rule(_Strict):
    """A Great Expectations column expectation, with its thresholds as keyword arguments.

    Checked against the static table of complyflow/core/expectations.py (no GX import): the expectation
    must be supported, and each keyword argument known, of the right type, and present when required.
    """

    expectation: str = Field(pattern=r"^expect_column_[a-z_]+$")
    column: str
    kwargs: dict[str, Any] = Field(default_factory=dict)

    @property
    def class_name(self) -> str:
        return expectation_class_name(self.expectation)

    @model_validator(mode="after")
    def _expectation_and_kwargs_are_supported(self) -> Rule:
        problems = check_kwargs(self.expectation, self.kwargs)
        if problems:
            raise ValueError("; ".join(problems))
        return self


class Control(_Strict):
    """One control: what it checks, why, where the policy says so, and how GX decides it."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]+$")
    title: str
    rationale: str
    policy_clause: PolicyClause
    #: secondary clauses it evidences, `<policy id>:<clause id>` (configs/policies/), resolved at load
    clauses: list[str] = Field(default_factory=list)
    frameworks: dict[FrameworkName, list[str]] = Field(default_factory=dict)
    severity: Literal["critical", "high", "medium", "low", "informational"]
    owner_role: str
    evidence_table: str
    applies_when: str | None = None  # complyflow.core.conditions grammar; rows it selects are applicable
    observed_columns: list[str] = Field(default_factory=list)  # evidence shown beside the rule column
    rule: Rule
    remediation: str
    enabled: bool = True
    #: reminders of these controls are dropped for a resource this control reminds about (the nearest wins)
    supersedes: list[str] = Field(default_factory=list)

    @field_validator("clauses")
    @classmethod
    def _clause_references(cls, refs: list[str]) -> list[str]:
        for ref in refs:
            if not CLAUSE_REF.fullmatch(ref):
                raise ValueError(f"{ref!r} is not <policy id>:<clause id>, e.g. ml-secpol:data-security")
        return refs

    @field_validator("applies_when")
    @classmethod
    def _applies_when_is_a_safe_condition(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_condition(value)
            except ConditionError as exc:
                raise ValueError(str(exc)) from None
        return value


# --- exceptions ----------------------------------------------------------------------------------


#: Text that must say something: surrounding whitespace is dropped, and nothing left is an error.
NonBlank = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


#: The policy reviews exceptions at least annually: no exception may run longer than this after approval.
MAX_EXCEPTION_DAYS = 365


def names_no_resource(pattern: str) -> bool:
    """True when a resource glob names no resource, so it excepts every resource of its control.

    `*`, `arn:*`, `arn:aws:s3:::*`, `arn:aws:iam::123456789012:user/*` all qualify: what is left of the
    ARN after its resource type (`user/`, `log-group:`) is only wildcards. `fnmatch`'s `*` also spans
    `:` and `/`, so a wildcard in a short ARN (`arn:aws:s*`) reaches every resource after it.
    """
    text = pattern.strip()
    if not text.startswith("arn:"):
        return text.strip("*") == ""
    fields = text.split(":", 5)
    if len(fields) < 6:
        return "*" in fields[-1]
    name = re.split(r"[/:]", fields[5], maxsplit=1)[-1]  # after the resource type, if any
    return name.strip("*") == ""


class ExceptionEntry(_Strict):
    """A documented, approved, time-boxed exception (ML SecPol "Exceptions").

    `account_wide` (with its reason) is the explicit statement that `resource` is meant to except every
    resource of the control: without it such a glob is refused (see `policy_problems`).
    """

    id: NonBlank
    control: NonBlank
    resource: NonBlank  # ARN or glob
    justification: NonBlank
    risk_assessment: str = ""
    mitigating_controls: str = ""
    requester: str = ""
    approver: NonBlank
    approval_date: date
    expiry_date: date
    account_wide: bool = False
    account_wide_reason: str = ""
    conditions: str = ""  # what an approval "with conditions" requires of the owner
    source: Literal["config", "request"] = "config"  # request: a sealed, signed exception-request decision

    def policy_problems(self) -> list[str]:
        """Where the entry breaks the exceptions policy, as `field <name>: <why>` lines (none: it complies)."""
        problems = []
        if names_no_resource(self.resource) and not self.account_wide:
            problems.append(
                f"field resource: {self.resource!r} excepts every resource of {self.control}; name the resources, "
                "or set account_wide: true with an account_wide_reason"
            )
        if self.account_wide and not self.account_wide_reason.strip():
            problems.append("field account_wide_reason: required when account_wide is true")
        days = (self.expiry_date - self.approval_date).days
        if days > MAX_EXCEPTION_DAYS:
            problems.append(
                f"field expiry_date: {self.expiry_date} is {days} days after approval_date {self.approval_date}; "
                f"at most {MAX_EXCEPTION_DAYS} (exceptions are reviewed at least annually)"
            )
        return problems

    def matches(self, control_id: str, resource_arn: str, resource_id: str) -> bool:
        if control_id != self.control:
            return False
        return fnmatch.fnmatchcase(resource_arn, self.resource) or fnmatch.fnmatchcase(resource_id, self.resource)

    def is_live(self, on: date) -> bool:
        return self.approval_date <= on <= self.expiry_date


class ExceptionApprovers(_Strict):
    """Who decides exception requests: per control owner role, else the central security authority."""

    default: NonBlank = "security-team"
    by_owner_role: dict[str, NonBlank] = Field(default_factory=dict)

    def for_role(self, owner_role: str) -> str:
        return self.by_owner_role.get(owner_role, self.default)


class ExceptionsRegister(_Strict):
    review_window_days: int = Field(default=30, ge=0)
    approvers: ExceptionApprovers = Field(default_factory=ExceptionApprovers)
    exceptions: list[ExceptionEntry] = Field(default_factory=list)


# --- notification --------------------------------------------------------------------------------


class NotifySettings(_Strict):
    """Slack delivery, deduplication and the persistent outbox (`notify.yaml`).

    Secrets never live here: the bot token comes from SLACK_BOT_TOKEN or the Prefect Secret block named
    in `token_secret_block`, the incoming-webhook URL from SLACK_WEBHOOK_URL or `webhook_secret_block`.
    """

    delivery: Literal["auto", "bot", "webhook", "outbox"] = "auto"  # auto: bot token, else webhook, else outbox
    slack_api_url: str = "https://slack.com/api/"  # SLACK_API_URL overrides it (proxy, test double)
    token_secret_block: str | None = None
    webhook_secret_block: str | None = None
    summary_channel: str | None = "#compliance"  # per-run summary; null: none
    fallback_channel: str = "#compliance"  # when no route, e-mail, control owner or account owner matches
    outbox_file: str = "notify/outbox.jsonl"  # relative to the evidence root
    state_file: str = "notify/state.json"  # relative to the evidence root
    reminder_days: int = Field(default=7, ge=0)  # remind open violations this often; 0: never
    email_lookup: bool = True  # users.lookupByEmail for owners that are e-mail addresses (bot mode)
    email_cache_hours: int = Field(default=24, ge=0)
    max_items_per_control: int = Field(default=50, ge=1)
    max_retries: int = Field(default=3, ge=0)  # per request, for 429, 5xx and connection errors
    retry_backoff_seconds: float = Field(default=0.5, ge=0)
    timeout_seconds: int = Field(default=15, ge=1)
    # Longest wait on Slack's Retry-After, in total per run or flush: beyond it messages stay in the outbox,
    # so a rate-limited workspace never holds a run (the next run or `complyflow notify --flush` sends them).
    max_retry_after_seconds: int = Field(default=60, ge=0)

    @staticmethod
    def check_api_url(value: str) -> str:
        """`value` with a trailing slash, if it may carry a bot token: https, or plain http to this machine.

        Plain http to another host would put the token (and every message) on the network unencrypted;
        a local proxy or test double on a loopback address is the one legitimate use of http.
        """
        import ipaddress
        from urllib.parse import urlsplit

        if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
            raise ValueError(f"{value!r} is not an http(s) URL such as https://slack.com/api/")
        try:
            host = urlsplit(value).hostname or ""
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a valid URL ({exc})") from None
        if value.startswith("http://"):
            try:
                loopback = ipaddress.ip_address(host).is_loopback
            except ValueError:
                loopback = host == "localhost"
            if not loopback:
                raise ValueError(
                    f"{value!r} is plain http to another machine, which would send Slack credentials unencrypted: "
                    "use https (http only to 127.0.0.0/8, ::1 or localhost, e.g. a local proxy or test double)"
                )
        return value if value.endswith("/") else value + "/"

    @field_validator("slack_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return cls.check_api_url(value)

    @field_validator("summary_channel", "fallback_channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        if value is not None and not (CHANNEL_RE.fullmatch(value) or USER_RE.fullmatch(value)):
            raise ValueError(f"{value!r} is not a channel (#name or C…/G… id) or a user id (U…/W…)")
        return value

    @field_validator("outbox_file", "state_file")
    @classmethod
    def _inside_root(cls, value: str) -> str:
        path = Path(value)
        if not value or path.is_absolute() or ".." in path.parts:
            raise ValueError(f"{value!r} must be a relative path inside the evidence root")
        return value


# --- access reviews ------------------------------------------------------------------------------


class AccessReviewSettings(_Strict):
    """The access-review campaign (`access-review.yaml`; AI Security Policy 5.1 "regularly review access").

    An owner with principals must have completed a review within `interval_days`; a pending review is
    reminded every `reminder_days` and escalated to `escalation_owner` (default: owners.yaml's
    fallback owner) once it has waited `escalate_after_days`.
    """

    interval_days: int = Field(default=90, ge=1)
    reminder_days: int = Field(default=7, ge=1)
    escalate_after_days: int = Field(default=14, ge=0)  # 0: escalate at the first run after the campaign
    escalation_owner: str | None = None


# --- the whole configuration ---------------------------------------------------------------------


class Config(_Strict):
    directory: str
    scope: Scope
    owners: Owners
    controls: list[Control]
    exceptions: ExceptionsRegister
    notify: NotifySettings
    policies: list[PolicyDocument] = Field(default_factory=list)  # configs/policies/, for the coverage matrix
    access_review: AccessReviewSettings = Field(default_factory=AccessReviewSettings)

    def control(self, control_id: str) -> Control:
        for control in self.controls:
            if control.id == control_id:
                return control
        raise KeyError(control_id)

    @property
    def enabled_controls(self) -> list[Control]:
        return [c for c in self.controls if c.enabled]


def read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text: {exc}") from exc
    except (ValueError, TypeError, OverflowError) as exc:
        # A constructor failed on a well-formed scalar, e.g. `approval_date: 2026-02-30` (no such day).
        raise ConfigError(f"{path}: {_constructor_failure(path, exc)}") from exc


def _constructor_failure(path: Path, exc: Exception) -> str:
    """Name the offending value and its line: re-read the file without constructors and retry each scalar."""
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, yaml.YAMLError):  # pragma: no cover - it parsed a moment ago
        root = None
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            stack.extend(part for pair in reversed(node.value) for part in reversed(pair))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(reversed(node.value))
        elif isinstance(node, yaml.ScalarNode):
            try:
                yaml.SafeLoader("").construct_object(node, deep=True)
            except (ValueError, TypeError, OverflowError) as inner:
                line = node.start_mark.line + 1
                return f"line {line}: value {node.value!r} is not a valid {node.tag.rsplit(':', 1)[-1]}: {inner}"
    return f"a value could not be read: {exc}"


def _describe(exc: ValidationError, entry: str | None = None) -> str:
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        lines.append(f"  field {where}: {error['msg']}")
    prefix = f"entry {entry!r}: " if entry else ""
    return prefix + "invalid\n" + "\n".join(lines)


def parse_model(model: type[_M], data: Any, path: Path, entry: str | None = None) -> _M:
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_describe(exc, entry)}") from exc


#: Control files are read with either extension; any other file that looks like config is refused.
CONTROL_SUFFIXES = (".yaml", ".yml")
_CONFIG_LIKE = re.compile(r"(?i)\.(ya?ml|json|toml)$")


def load_controls(directory: Path) -> list[Control]:
    """Load `controls/*.yaml` and `controls/*.yml`: one control per file, file name = control id."""
    controls: list[Control] = []
    folder = directory / "controls"
    if not folder.is_dir():
        raise ConfigError(f"{folder}: controls folder not found")
    files = sorted(p for p in folder.iterdir() if p.is_file())
    for path in files:
        if path.suffix not in CONTROL_SUFFIXES and _CONFIG_LIKE.search(path.name):
            raise ConfigError(
                f"{path}: not read: control files must end in .yaml or .yml (lower case); rename or remove it"
            )
    stems = [p.stem for p in files if p.suffix in CONTROL_SUFFIXES]
    for stem in sorted({s for s in stems if stems.count(s) > 1}):
        raise ConfigError(f"{folder}: control {stem!r} is declared twice ({stem}.yaml and {stem}.yml)")
    for path in (p for p in files if p.suffix in CONTROL_SUFFIXES):
        data = read_yaml(path)
        entry = data.get("id") if isinstance(data, dict) else None
        control = parse_model(Control, data, path, entry or path.stem)
        if control.id != path.stem:
            raise ConfigError(f"{path}: control id {control.id!r} must match the file name {path.stem!r}")
        controls.append(control)
    if not controls:
        raise ConfigError(f"{folder}: no controls declared")
    return controls


def load_exceptions(path: Path, known_controls: set[str]) -> ExceptionsRegister:
    """Entries are checked one by one, so that an error names the entry as well as the field."""
    data = (read_yaml(path) if path.exists() else {}) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with 'review_window_days' and 'exceptions'")
    entries = data.get("exceptions") or []
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: field exceptions: must be a list")
    parsed: list[ExceptionEntry] = []
    for index, raw in enumerate(entries):
        name = raw.get("id", f"#{index + 1}") if isinstance(raw, dict) else f"#{index + 1}"
        entry = parse_model(ExceptionEntry, raw, path, str(name))
        if entry.control not in known_controls:
            raise ConfigError(f"{path}: entry {name!r}: field control: unknown control {entry.control!r}")
        if entry.expiry_date < entry.approval_date:
            raise ConfigError(f"{path}: entry {name!r}: field expiry_date: before approval_date")
        if any(e.id == entry.id for e in parsed):
            raise ConfigError(f"{path}: entry {name!r}: field id: {entry.id!r} is used by another exception")
        if entry.source != "config":
            raise ConfigError(
                f"{path}: entry {name!r}: field source: request-based exceptions come from sealed decisions "
                "(the exception-request deployment), not from this file"
            )
        problems = entry.policy_problems()
        if problems:
            raise ConfigError(f"{path}: entry {name!r}: " + "; ".join(problems))
        parsed.append(entry)
    return parse_model(ExceptionsRegister, {**data, "exceptions": parsed}, path)


def load_config(directory: str | Path | None = None) -> Config:
    """Load and validate every policy file of a config directory."""
    folder = Path(directory or os.environ.get("COMPLYFLOW_CONFIG_DIR") or DEFAULT_CONFIG_DIR).resolve()
    if not folder.is_dir():
        raise ConfigError(f"{folder}: config directory not found")
    scope = parse_model(Scope, read_yaml(folder / "scope.yaml"), folder / "scope.yaml")
    owners = parse_model(Owners, read_yaml(folder / "owners.yaml"), folder / "owners.yaml")
    notify_path = folder / "notify.yaml"
    notify = parse_model(NotifySettings, read_yaml(notify_path) if notify_path.exists() else {}, notify_path)
    controls = load_controls(folder)
    ids = [c.id for c in controls]
    if len(ids) != len(set(ids)):
        raise ConfigError(f"{folder / 'controls'}: duplicate control ids")
    controls += _recurring_controls(folder, set(ids))
    ids = [c.id for c in controls]
    for control in controls:
        unknown = sorted(set(control.supersedes) - set(ids))
        if unknown:
            where = f"{folder / 'controls'}: entry {control.id!r}: field supersedes"
            raise ConfigError(f"{where}: unknown control(s) {', '.join(unknown)}")
    exceptions = load_exceptions(folder / "exceptions.yaml", set(ids))
    policies = load_policies(folder)
    resolve_references(policies, controls, folder / "controls")
    check_reasons(policies, controls, folder)
    review_path = folder / "access-review.yaml"
    review = parse_model(AccessReviewSettings, read_yaml(review_path) if review_path.exists() else {}, review_path)
    return Config(
        directory=str(folder),
        scope=scope,
        owners=owners,
        controls=controls,
        exceptions=exceptions,
        notify=notify,
        policies=policies,
        access_review=review,
    )


def _recurring_controls(folder: Path, declared: set[str]) -> list[Control]:
    """The controls recurring.yaml's tasks become (complyflow.core.recurring builds on this module)."""
    from complyflow.core.recurring import RECURRING_FILE, load_recurring, recurring_controls

    synthesized = recurring_controls(load_recurring(folder))
    clash = sorted({c.id for c in synthesized} & declared)
    if clash:
        raise ConfigError(f"{folder / RECURRING_FILE}: control id(s) {', '.join(clash)} also declared in controls/")
    return synthesized


def load_iam_policy(directory: str | Path | None = None) -> dict[str, Any]:
    folder = Path(directory or DEFAULT_CONFIG_DIR)
    return json.loads((folder / "iam-policy.json").read_text(encoding="utf-8"))
