"""The `:` command palette: switch target (context), jump to a deployment or
service, pick the logs' ``since``, set audit filters, and every key's action."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from jaco.auditview import HIGH_SIGNAL, TYPES
from jaco.tui.filters import SINCE_PRESETS, TAIL_LINES
from jaco.tui.rows import services
from jaco.tui.source import AuditFilter

if TYPE_CHECKING:
    from jaco.tui.app import JacoApp

Command = tuple[str, Callable[[], object], str]


def _since_help(name: str) -> str:
    if name == "tail":
        return f"the last {TAIL_LINES:,} lines, then follow"
    if name == "all":
        return "everything jacod still has, then follow"
    return f"lines from the last {name}, then follow"


def commands(app: JacoApp) -> Iterator[Command]:
    for choice in app.targets:
        if choice == app.source.target:
            continue
        yield (f"switch to {choice}", partial(app.switch_target, choice),
               "reconnect every pane there (contexts: ~/.config/jaco/config.toml)")  # fmt: skip
    status = app.last_status
    if status is not None:
        for dep in dict.fromkeys(d["name"] for d in status["deployments"]):
            yield (f"deployment: {dep}", partial(app.select_deployment, dep),
                   "narrow audit to it, tail its first service")  # fmt: skip
        for dep, svc in services(status):
            yield (f"logs: {dep}/{svc}", partial(app.select_service, dep, svc),
                   "tail this service (all replicas, merged)")  # fmt: skip
    logs = app.log_pane
    for name in SINCE_PRESETS:
        yield (f"since: {name}", partial(logs.set_since, name), _since_help(name))
    audit = app.audit_pane
    flt = audit.filter

    def set_audit(
        types: frozenset[str] | None = None, identity: str | None = None,
        deployment: str | None = None,
    ) -> Callable[[], None]:  # fmt: skip
        new = AuditFilter(
            flt.types if types is None else types,
            flt.identity if identity is None else identity,
            flt.deployment if deployment is None else deployment,
        )
        return partial(audit.set_filter, new)

    yield ("audit: every event", partial(audit.set_filter, AuditFilter()), "drop every filter")
    yield ("audit: high-signal only", set_audit(types=frozenset(HIGH_SIGNAL)),
           ", ".join(sorted(HIGH_SIGNAL)))  # fmt: skip
    yield ("audit: all deployments", set_audit(deployment=""), "keep type and identity filters")
    for t in TYPES:
        on = t in flt.types
        yield (f"audit: type {t}" + (" (remove)" if on else ""),
               set_audit(types=flt.types - {t} if on else flt.types | {t}),
               "toggle this type in the audit filter")  # fmt: skip
    identities = sorted({e["identity"] for e in audit.events.values() if e["identity"]})
    for who in identities:
        yield (f"audit: identity {who}", set_audit(identity=who), "only events by this identity")
    yield ("audit: any identity", set_audit(identity=""), "drop the identity filter")
    for label, action, help_ in (
        ("follow / pause logs", "toggle_follow", "f"), ("timestamps", "toggle_timestamps", "t"),
        ("wrap", "toggle_wrap", "w"), ("save logs", "save", "s"),
    ):  # fmt: skip
        yield (label, getattr(logs, f"action_{action}"), f"key {help_}")
    yield ("help", app.action_help, "key ?")
    yield ("quit", app.action_quit, "key q")


class JacoCommands(Provider):
    async def discover(self) -> Hits:
        for text, command, help_ in commands(cast("JacoApp", self.app)):
            yield DiscoveryHit(text, command, help=help_)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, command, help_ in commands(cast("JacoApp", self.app)):
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), command, text=text, help=help_)
