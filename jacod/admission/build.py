"""Second pass: meaning. Input Structs to the domain's ServiceSpec, with the
checks that span fields (command or image, one health kind, ports that
default from `ports`) and the units operators write (256Mi, 500m, 10s).

A check that depends on a field that already failed stays quiet: one mistake,
one error.
"""

from __future__ import annotations

import re
import shlex

import msgspec

from jacod.state.spec import HealthCheck, Ingress, Resources, ServiceSpec, service_errors

from .errors import AdmissionError, Errors, FieldError, show
from .parse import decode_text, load, sniff
from .schema import (
    DNS_FORM,
    Cpu,
    DeploymentIn,
    Duration,
    HealthIn,
    IngressIn,
    ResourcesIn,
    ServiceIn,
    Size,
)
from .shape import check_table, form
from .units import format_duration, parse_cpu, parse_duration, parse_size


class Admitted(msgspec.Struct, frozen=True):
    name: str
    services: list[ServiceSpec]
    source: str  # the file as submitted, kept with the revision


def admit(data: bytes, format: str = "") -> Admitted:
    """Decode and validate a deployment file; raises AdmissionError listing
    every problem. `format`: "toml", "yaml", "json", or "" to sniff (JSON if
    it starts with `{`, else TOML)."""
    text = decode_text(data)
    tree = load(text, format or sniff(text))
    errs = Errors()
    dep = check_table(tree, DeploymentIn, "", errs)
    name, services = _deployment(dep, errs) if dep is not None else ("", [])
    if not errs:
        _last_line_of_defence(services, errs)
    if errs:
        raise AdmissionError(_in_file_order(errs.items, tree))
    return Admitted(name, services, text)


_SEGMENT_END = re.compile(r"[.\[]")


def _in_file_order(items: list[FieldError], tree: object) -> list[FieldError]:
    """Group errors by service, services in file order: the checks run in two
    passes, but an operator fixes a file top to bottom."""
    rank: dict[str, int] = {}
    for key, value in tree.items() if isinstance(tree, dict) else ():
        rank.setdefault(str(key), len(rank))
        if key == "services" and isinstance(value, dict):
            for name in value:
                rank.setdefault(f"services.{name}", len(rank))

    def order(err: FieldError) -> int:
        top, _, rest = err.path.partition(".")
        service = top + "." + _SEGMENT_END.split(rest, maxsplit=1)[0]
        return rank.get(service, rank.get(top.partition("[")[0], -1))

    return sorted(items, key=order)


def _deployment(dep: DeploymentIn, errs: Errors) -> tuple[str, list[ServiceSpec]]:
    if dep.name is None and not errs.failed("name"):
        errs.add("name", f'required: {DNS_FORM} like "shop"')
    if not dep.services and not errs.failed("services"):
        errs.add("services", "at least one service is required")
    services = [_service(n, svc, f"services.{n}", errs) for n, svc in (dep.services or {}).items()]
    return dep.name or "", services


def _service(name: str, svc: ServiceIn, path: str, errs: Errors) -> ServiceSpec:
    command = _argv(svc.command, f"{path}.command", errs)
    if (
        svc.command is None
        and svc.image is None
        and not (errs.failed(f"{path}.command") or errs.failed(f"{path}.image"))
    ):
        errs.add(path, "set command (process runtime) or image (docker runtime)")
    ports = svc.ports or []
    for i, port in enumerate(ports):
        if port in ports[:i]:
            errs.add(f"{path}.ports[{i}]", f"port {port} is listed twice")
    return ServiceSpec(
        name=name,
        image=svc.image or "",
        command=command,
        replicas=1 if svc.replicas is None else svc.replicas,
        env=svc.env or {},
        ports=ports,
        resources=_resources(svc.resources, f"{path}.resources", errs),
        health=_health(svc.health, ports, path, errs),
        restart=svc.restart or "always",
        placement=svc.placement or {},
        ingress=_ingress(svc.ingress, ports, path, errs),
        workdir=svc.workdir or "",
    )


def _argv(value: str | list[str] | None, path: str, errs: Errors) -> list[str]:
    """A command as a list; a string is split like a shell would."""
    if value is None:
        return []
    argv = value
    if isinstance(value, str):
        try:
            argv = shlex.split(value)
        except ValueError as e:  # unbalanced quotes
            errs.add(path, f"cannot split like a shell ({str(e).lower()})")
            return []
    if not argv or not argv[0]:
        errs.add(path, "must not be empty")
    return list(argv)


def _resources(res: ResourcesIn | None, path: str, errs: Errors) -> Resources:
    if res is None:
        return Resources()
    cpu = memory = None
    if res.cpu is not None and (cpu := parse_cpu(res.cpu)) is None:
        errs.add(f"{path}.cpu", f"{form(Cpu)}, got {show(res.cpu)}")
    if res.memory is not None and (memory := parse_size(res.memory)) is None:
        errs.add(f"{path}.memory", f"{form(Size)}, got {show(res.memory)}")
    return Resources(cpu=cpu or 0.0, memory_bytes=memory or 0)


def _duration(value: float | str | None, default: float, path: str, errs: Errors) -> float:
    if value is None:
        return default
    seconds = parse_duration(value)
    if seconds is None:
        errs.add(path, f"{form(Duration)}, got {show(value)}")
        return default
    return seconds


def _default_port(
    explicit: int | None, ports: list[int], path: str, svc_path: str, what: str, errs: Errors
) -> int:
    if explicit is not None:
        return explicit
    if ports:
        return ports[0]
    if not errs.failed(path) and not errs.failed(f"{svc_path}.ports"):
        errs.add(path, f"required for {what} when the service lists no ports")
    return 0


def _health(
    h: HealthIn | None, ports: list[int], svc_path: str, errs: Errors
) -> HealthCheck | None:
    if h is None:
        return None
    path = f"{svc_path}.health"
    kinds = [
        k
        for k in ("http", "tcp", "exec")
        if getattr(h, k) is not None or errs.failed(f"{path}.{k}")
    ]
    interval = _duration(h.interval, 10.0, f"{path}.interval", errs)
    # The default timeout (2s) shrinks to a shorter interval rather than fail it.
    timeout = _duration(h.timeout, min(2.0, interval), f"{path}.timeout", errs)
    if (
        timeout > interval
        and not errs.failed(f"{path}.timeout")
        and not errs.failed(f"{path}.interval")
    ):
        errs.add(
            f"{path}.timeout",
            f"must not exceed interval ({format_duration(interval)}), got {show(h.timeout)}",
        )
    if len(kinds) != 1:
        errs.add(path, "set exactly one of http, tcp, exec")
        return None
    kind = kinds[0]
    port = 0
    if kind == "http":
        port = _default_port(h.port, ports, f"{path}.port", svc_path, "an http check", errs)
    elif h.port is not None:
        errs.add(f"{path}.port", f"only used by http checks (use {kind} = … for a {kind} check)")
    if kind == "tcp":
        port = h.tcp or 0
    command = _argv(h.exec, f"{path}.exec", errs)
    return HealthCheck(
        kind=kind,
        path=h.http or "",
        port=port,
        command=command,
        interval_s=interval,
        timeout_s=timeout,
        retries=3 if h.retries is None else h.retries,
    )


def _ingress(
    ing: IngressIn | None, ports: list[int], svc_path: str, errs: Errors
) -> Ingress | None:
    if ing is None:
        return None
    path = f"{svc_path}.ingress"
    if ing.host is None and not errs.failed(f"{path}.host"):
        errs.add(f"{path}.host", 'required: the host name to route, like "shop.example.com"')
    port = _default_port(ing.port, ports, f"{path}.port", svc_path, "an ingress", errs)
    return Ingress(host=ing.host or "", path=ing.path or "/", port=port)


_FSM_PREFIX = re.compile(r"^services\[(\d+)\]")


def _last_line_of_defence(services: list[ServiceSpec], errs: Errors) -> None:
    """The state machine's own check: admission must never let through what
    it would reject. Its messages say `services[0].x`; ours say `services.web.x`."""
    err = service_errors(services)
    if err is None:
        return
    m = _FSM_PREFIX.match(err)
    if m is not None and int(m[1]) < len(services):
        err = f"services.{services[int(m[1])].name}" + err[m.end() :]
    path, _, message = err.partition(" ")
    errs.add(path.rstrip(":"), message)
