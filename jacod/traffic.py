"""Wiring of the traffic pieces: the discovery registry, the ingress proxy, the DNS server."""

from __future__ import annotations

from jacod.cluster.cluster import Cluster
from jacod.config import OFF, DaemonConfig
from jacod.discovery import environment
from jacod.discovery.live import Registry
from jacod.dns import DnsServer
from jacod.errors import FailedPrecondition, InvalidArgument
from jacod.ingress import IngressConfig, IngressThread


class Traffic:
    def __init__(self, cfg: DaemonConfig, cluster: Cluster, node_name: str) -> None:
        self.cfg = cfg
        self.registry = Registry(cluster, node_name)
        cluster.spawn(self.registry.run(), name="discovery")
        self.ingress: IngressThread | None = None
        self.dns: DnsServer | None = None

    def replica_env(self, deployment: str) -> dict[str, str]:
        """What the agent adds to a replica's environment (discovery + DNS address)."""
        env = environment(self.registry.snapshot(), deployment)
        if self.dns is not None:
            env["JACO_DNS"] = self.dns.address.replace("0.0.0.0:", "127.0.0.1:").replace(
                "[::]:", "127.0.0.1:"
            )  # a wildcard bind is reached on loopback
        return env

    async def start(self) -> None:
        cfg = self.cfg
        if cfg.ingress_listen != OFF:
            ingress = IngressThread(
                self.registry.snapshot,
                IngressConfig(
                    listen=cfg.ingress_listen, connect_timeout_s=cfg.ingress_connect_timeout,
                    read_timeout_s=cfg.ingress_timeout,
                ),
            )  # fmt: skip
            await _bind(ingress.start(), "ingress_listen", cfg.ingress_listen)
            self.ingress = ingress
        if cfg.dns_listen != OFF:
            try:
                dns = DnsServer(self.registry.snapshot, cfg.dns_listen)
            except ValueError as exc:
                raise InvalidArgument(f"dns_listen: {exc}") from None
            await _bind(dns.start(), "dns_listen", cfg.dns_listen)
            self.dns = dns

    async def stop(self) -> None:
        if self.ingress is not None:
            await self.ingress.stop()
        if self.dns is not None:
            await self.dns.stop()


async def _bind(starting: object, field: str, value: str) -> None:
    try:
        await starting  # type: ignore[misc]
    except OSError as exc:
        raise FailedPrecondition(
            f"{field}: cannot listen on {value}: {exc.strerror or exc} "
            f"(choose another with --{field.replace('_', '-')}, or 'off')"
        ) from None
