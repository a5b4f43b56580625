"""Where each service's healthy replicas are: what the ingress, DNS and replica environments read.

Pure: built from a ``State`` (no I/O). A replica counts as an endpoint of its
service when raft says it is ``running`` (its health checks pass, or it has
none) and it has reported its ports. Its address is the host part of its
node's advertised gRPC address, or ``127.0.0.1`` when the replica runs on the
node asking (``local_node``): a process replica listens on ``$PORT`` on the
node itself, a docker replica's ports are published on the node's loopback.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jacod.state import ReplicaState, State

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Endpoint:
    replica_id: str
    ordinal: int
    node: str
    host: str  # IP or name the replica's ports are reachable at
    ports: dict[int, int] = field(default_factory=dict)  # declared port -> reachable port

    def address(self, port: int | None = None) -> str | None:
        """``host:port`` for declared ``port`` (default: the first declared one)."""
        if not self.ports:
            return None
        reachable = self.ports.get(port) if port is not None else next(iter(self.ports.values()))
        if reachable is None:
            return None
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{reachable}"


@dataclass(frozen=True)
class Route:
    """A service's ``ingress`` table: requests for ``host`` under ``path`` go to ``port``."""

    deployment: str
    service: str
    host: str  # "" matches any Host header
    path: str  # prefix, always starting with "/"
    port: int  # declared port of the service


@dataclass(frozen=True)
class Snapshot:
    endpoints: dict[tuple[str, str], list[Endpoint]]  # (deployment, service) -> by ordinal
    routes: list[Route]  # most specific first: exact host before any host, longer path first
    declared: dict[tuple[str, str], list[int]]  # (deployment, service) -> declared ports

    def lookup(self, deployment: str, service: str) -> list[Endpoint]:
        return self.endpoints.get((deployment, service), [])

    def has_service(self, deployment: str, service: str) -> bool:
        return (deployment, service) in self.declared


EMPTY = Snapshot(endpoints={}, routes=[], declared={})


def node_host(address: str) -> str:
    """The host part of ``host:port`` / ``[v6]:port`` (as is when there is no port)."""
    if address.startswith("["):
        return address[1 : address.find("]")] if "]" in address else address
    host, sep, port = address.rpartition(":")
    return host if sep and port.isdigit() else address


def build(state: State, local_node: str = "") -> Snapshot:
    declared: dict[tuple[str, str], list[int]] = {}
    routes: list[Route] = []
    for dep in state.deployments.values():
        if dep.deleting:
            continue  # traffic stops at the delete: no route, no endpoint, no name
        for svc in dep.revisions[-1].services:
            declared[(dep.name, svc.name)] = list(svc.ports)
            if svc.ingress is not None:
                ing = svc.ingress
                routes.append(Route(dep.name, svc.name, ing.host.lower(), ing.path, ing.port))
    routes.sort(key=lambda r: (r.host == "", -len(r.path), r.deployment, r.service))
    endpoints: dict[tuple[str, str], list[Endpoint]] = {}
    for r in state.replicas.values():
        if r.state != ReplicaState.RUNNING or not r.ports:
            continue
        node = state.nodes.get(r.node)
        if node is None or (r.deployment, r.service) not in declared:
            continue
        host = LOOPBACK if r.node == local_node else node_host(node.address)
        ep = Endpoint(r.id, r.ordinal, r.node, host, dict(r.ports))
        endpoints.setdefault((r.deployment, r.service), []).append(ep)
    for eps in endpoints.values():
        eps.sort(key=lambda e: e.ordinal)
    return Snapshot(endpoints=endpoints, routes=routes, declared=declared)


def match(routes: list[Route], host: str, path: str) -> Route | None:
    """The most specific route for a request (``host`` without its port, any case)."""
    host = host.lower()
    for route in routes:
        if route.host and route.host != host:
            continue
        if _under(path, route.path):
            return route
    return None


def _under(path: str, prefix: str) -> bool:
    if prefix == "/" or path == prefix:
        return True
    base = prefix.rstrip("/")
    return path.startswith(base) and path[len(base) : len(base) + 1] in ("/", "?", "")


def env_name(service: str) -> str:
    return service.upper().replace("-", "_")


def environment(snap: Snapshot, deployment: str) -> dict[str, str]:
    """Discovery variables for a replica of ``deployment`` (its first view; DNS is the live one).

    For each service ``S`` of the deployment that declares ports:
    ``JACO_SERVICE_<S>_ADDRS`` lists ``host:port`` of its healthy replicas (first
    declared port) and ``JACO_SERVICE_<S>_PORT_<P>_ADDRS`` the same for each
    declared port ``P``; comma-separated, in ordinal order, empty when none is
    healthy. ``<S>`` is the service name upper-cased with ``-`` as ``_``."""
    out: dict[str, str] = {}
    for (dep, svc), ports in sorted(snap.declared.items()):
        if dep != deployment or not ports:
            continue
        eps = snap.lookup(dep, svc)
        name = env_name(svc)
        out[f"JACO_SERVICE_{name}_ADDRS"] = _joined(eps, ports[0])
        for port in ports:
            out[f"JACO_SERVICE_{name}_PORT_{port}_ADDRS"] = _joined(eps, port)
    return out


def _joined(eps: list[Endpoint], port: int) -> str:
    return ",".join(a for e in eps if (a := e.address(port)) is not None)
