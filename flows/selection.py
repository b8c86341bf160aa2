"""Which controls and accounts a run covers: the whole catalog, or the slice a pre-audit asks for."""

from __future__ import annotations

from collections.abc import Iterable

from complyflow.core.config import FRAMEWORKS, AccountScope, Config, Control


def select_controls(
    config: Config, control_ids: list[str] | None = None, frameworks: list[str] | None = None
) -> list[Control]:
    """Enabled controls, narrowed to the ids and/or frameworks asked for (a typo is an error, not a no-op)."""
    controls = config.enabled_controls
    if control_ids:
        unknown = set(control_ids) - {c.id for c in config.controls}
        if unknown:
            raise ValueError(f"unknown control id(s): {', '.join(sorted(unknown))}")
        controls = [c for c in controls if c.id in control_ids]
    if frameworks:
        unknown = set(frameworks) - set(FRAMEWORKS)
        if unknown:
            raise ValueError(f"unknown framework(s): {', '.join(sorted(unknown))}; known: {', '.join(FRAMEWORKS)}")
        controls = [c for c in controls if any(c.frameworks.get(f) for f in frameworks)]  # type: ignore[call-overload]
    if not controls:
        raise ValueError("no enabled control matches the selection")
    return controls


def select_accounts(config: Config, accounts: list[str] | None) -> list[AccountScope]:
    """Accounts in scope, narrowed by name or id when asked."""
    if not accounts:
        return list(config.scope.accounts)
    chosen = [a for a in config.scope.accounts if a.name in accounts or (a.id and a.id in accounts)]
    known = {a.name for a in chosen} | {a.id for a in chosen if a.id}
    unknown = set(accounts) - known
    if unknown:
        raise ValueError(f"account(s) not in scope.yaml: {', '.join(sorted(unknown))}")
    return chosen


def controls_reading(config: Config, tables: Iterable[str], what: str) -> list[str]:
    """Enabled controls that read one of `tables`: how a narrow flow finds its controls without a list.

    None is a configuration error, not an empty (and so silently green) run.
    """
    wanted = tuple(tables)
    ids = [c.id for c in config.enabled_controls if c.evidence_table in wanted]
    if not ids:
        raise ValueError(
            f"{config.directory}: no enabled control reads the {what} tables ({', '.join(wanted)}); "
            f"add configs/controls/ files for them or enable them"
        )
    return ids
