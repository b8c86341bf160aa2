"""Where a finding's owner hears about it in Slack, and why there.

The finding's owner (resolved from tags / account / fallback by tasks/owners.py) is mapped through
owners.yaml routes, then Slack's user directory when the owner is an e-mail, then the control's owner
role, then the account owner, then the fallback channel. The route taken is recorded so that a
misrouted alert can be explained (`via`).
"""

from __future__ import annotations

from dataclasses import dataclass

from complyflow.core.config import Config, Control, RouteTarget
from complyflow.core.model import Finding
from tasks.notify.directory import EmailDirectory


@dataclass(frozen=True, slots=True)
class Route:
    destination: str  # channel (#name or id) or user id
    via: str  # owners.yaml:<owner>, slack-email:<e-mail>, control-owner:<role>, account-owner:<owner>, fallback
    mention: str | None = None  # user or user group to mention in the destination

    def describe(self) -> str:
        return f"{self.via} -> {self.destination}"


class Router:
    def __init__(
        self, config: Config, controls: list[Control], account_owners: dict[str, str], directory: EmailDirectory
    ) -> None:
        self.routes = config.owners.routes
        self.fallback = config.notify.fallback_channel
        self.controls = {c.id: c for c in config.controls} | {c.id: c for c in controls}
        self.account_owners = account_owners
        self.directory = directory

    def _target(self, name: str) -> tuple[str, str | None] | None:
        """owners.yaml's destination for a team or e-mail, e-mails resolved to users; None if unroutable."""
        target = self.routes.get(name)
        if target is None:
            target = next((t for k, t in self.routes.items() if k.lower() == name.lower()), None)
        if target is None:
            return None
        if isinstance(target, RouteTarget):
            return target.channel, target.mention
        if EmailDirectory.is_email(target):
            user = self.directory.user_for(target)
            return (user, None) if user else None
        return target, None

    def _email(self, name: str) -> str | None:
        return self.directory.user_for(name) if EmailDirectory.is_email(name) else None

    def route(self, finding: Finding) -> Route:
        owner = finding.owner.strip()
        if owner and (target := self._target(owner)):
            return Route(target[0], f"owners.yaml:{owner}", target[1])
        if owner and (user := self._email(owner)):
            return Route(user, f"slack-email:{owner.lower()}")
        control = self.controls.get(finding.control_id)
        if control and (target := self._target(control.owner_role)):
            return Route(target[0], f"control-owner:{control.owner_role}", target[1])
        account_owner = self.account_owners.get(finding.account, "")
        if account_owner and (target := self._target(account_owner)):
            return Route(target[0], f"account-owner:{account_owner}", target[1])
        if account_owner and (user := self._email(account_owner)):
            return Route(user, f"account-owner:{account_owner}")
        return Route(self.fallback, "fallback")


def route_person(router: Router, name: str, control_id: str = "") -> Route:
    """Where a person or team named in a decision (requester, approver, reviewer) hears about it:
    owners.yaml, then their e-mail in Slack, then the control's owner role, then the fallback channel."""
    owner = name.strip()
    if owner and (target := router._target(owner)):
        return Route(target[0], f"owners.yaml:{owner}", target[1])
    if owner and (user := router._email(owner)):
        return Route(user, f"slack-email:{owner.lower()}")
    control = router.controls.get(control_id)
    if control and (target := router._target(control.owner_role)):
        return Route(target[0], f"control-owner:{control.owner_role}", target[1])
    return Route(router.fallback, "fallback")


def account_owners(config: Config, findings: list[Finding], known: dict[str, str] | None = None) -> dict[str, str]:
    """Account id → owner: as given, else scope.yaml entries with an id, else findings routed to their account."""
    owners = {a.id: a.owner for a in config.scope.accounts if a.id and a.owner}
    for finding in findings:
        if finding.owner_route == "account" and finding.owner:
            owners.setdefault(finding.account, finding.owner)
    owners.update({k: v for k, v in (known or {}).items() if v})
    return owners
