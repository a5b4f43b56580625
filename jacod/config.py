"""jacod's configuration: defaults < ``--config FILE`` (TOML) < flags."""

from __future__ import annotations

import os
import socket
import tomllib
from pathlib import Path

import msgspec

from jacod.errors import InvalidArgument

SYSTEM_SOCKET = "/run/jaco/jacod.sock"
SYSTEM_DATA_DIR = "/var/lib/jaco"
OFF = "off"
# The node port's default: --listen's port + 2 (7400 API, 7401 raft, 7402 node
# in the documented layout).
NODE_PORT_OFFSET = 2
WILDCARDS = ("0.0.0.0", "::", "")


def default_dev_data_dir() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return Path(state) / "jaco"


class DaemonConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    dev: bool = False
    data_dir: str = ""
    node_name: str = ""
    socket: str = ""
    socket_group: str = ""
    listen: str = ""  # gRPC TCP listener, host:port ("" = unix socket only)
    raft_listen: str = ""  # raft host:port
    advertise: str = ""  # gRPC address peers use to reach this node
    # NodeService over mutual TLS (nodes with a cluster CA); "" = --listen's
    # port + NODE_PORT_OFFSET (filled by resolved()), none with --dev.
    node_listen: str = ""
    bootstrap: bool = False
    join: str = ""
    join_token: str = ""
    join_token_file: str = ""  # read at start; keeps the token out of `ps` and the journal
    restore: str = ""  # backup file to start a new cluster from (with bootstrap)
    backup_interval: float = 0  # seconds between periodic backups on the leader; 0 = off
    backup_keep: int = 24
    runtime: str = "process"
    docker_host: str = "unix:///var/run/docker.sock"  # with runtime docker
    pressure_interval: float = 5.0  # seconds between PSI samples; 0 = no sampler
    pressure_source: str = "/proc/pressure"  # a directory with cpu, memory, io (tests)
    rebalance_threshold: float = 60.0  # % stalled (avg10) that makes a node pressured; 0 = off
    rebalance_window: float = 60.0  # … for this long before replicas move off it
    rebalance_interval: float = 15.0
    rebalance_max_moves: int = 1  # per interval
    rebalance_cooldown: float = 60.0  # between two moves off one node
    rebalance_target_max: float = 30.0  # a node receiving a replica must be below this
    # Traffic (docs/ingress.md, docs/dns.md): "off" disables a listener.
    ingress_listen: str = "0.0.0.0:8480"
    ingress_connect_timeout: float = 2.0  # seconds to connect to a replica before trying another
    ingress_timeout: float = 60.0  # seconds a replica may stay silent mid-request
    dns_listen: str = "127.0.0.1:8600"
    log_level: str = "info"
    log_format: str = "auto"  # auto | journald | json | text
    shutdown_grace: float = 10.0
    labels: dict[str, str] = {}
    # Node certificates (not with --dev): lifetime of each one, and how long
    # before expiry it is replaced. Seconds, or a duration string ("90d").
    cert_lifetime: float | str = "90d"
    cert_renew_before: float | str = "30d"

    def resolved(self) -> DaemonConfig:
        """Fill derived defaults; raise InvalidArgument naming the bad field."""
        data_dir = self.data_dir or (str(default_dev_data_dir()) if self.dev else SYSTEM_DATA_DIR)
        sock = self.socket or (str(Path(data_dir) / "jacod.sock") if self.dev else SYSTEM_SOCKET)
        if self.runtime not in ("process", "docker"):
            raise InvalidArgument(f"runtime: must be process or docker, got {self.runtime!r}")
        for name in ("listen", "raft_listen", "join", "advertise", "node_listen"):
            value = getattr(self, name)
            if value:
                check_hostport(value, name)
        for name in ("ingress_listen", "dns_listen"):
            value = getattr(self, name)
            if value != OFF:
                check_hostport(value, name, also=' or "off"')
        for name in ("ingress_connect_timeout", "ingress_timeout"):
            seconds(getattr(self, name), name)
        join_token = self.join_token
        if self.join_token_file:
            if join_token:
                raise InvalidArgument("join_token_file: give either a token or a token file")
            join_token = read_secret(self.join_token_file, "join_token_file")
        if self.join and not join_token:
            raise InvalidArgument(
                "join_token: required with --join (get one with `jaco node join-token`)"
            )
        if self.restore and not self.bootstrap:
            raise InvalidArgument("restore: needs --bootstrap (a restore starts a new cluster)")
        if self.join and self.bootstrap:
            raise InvalidArgument("bootstrap: cannot be combined with --join")
        lifetime = seconds(self.cert_lifetime, "cert_lifetime")
        renew_before = seconds(self.cert_renew_before, "cert_renew_before")
        if lifetime < 2:
            raise InvalidArgument(f"cert_lifetime: at least 2s, got {self.cert_lifetime!r}")
        if renew_before >= lifetime:
            raise InvalidArgument(
                f"cert_renew_before: must be shorter than cert_lifetime ({self.cert_lifetime!r}), "
                f"got {self.cert_renew_before!r}"
            )
        return msgspec.structs.replace(
            self,
            join_token=join_token,
            data_dir=data_dir,
            socket=sock,
            node_name=self.node_name or socket.gethostname(),
            cert_lifetime=lifetime,
            cert_renew_before=renew_before,
            node_listen=self._node_listen(),
        )

    def _node_listen(self) -> str:
        if self.dev:
            if self.node_listen:
                raise InvalidArgument(
                    "node_listen: a --dev node has no cluster CA, so no mutual-TLS node port "
                    "(its node calls go over --listen)"
                )
            return ""
        if not self.listen:
            if self.node_listen:
                raise InvalidArgument("node_listen: needs --listen too (the node's API address)")
            return ""
        value = self.node_listen or default_node_listen(self.listen)
        flag = "--node-listen" if self.node_listen else f"--node-listen (default {value})"
        host, port = check_hostport(value, "node_listen")
        for name in ("listen", "raft_listen"):
            other = getattr(self, name)
            if port and other and _same_socket((host, port), check_hostport(other, name)):
                raise InvalidArgument(
                    f"node_listen: {flag} is the same port as --{name.replace('_', '-')} "
                    f"{other}; pass --node-listen HOST:PORT with a port of its own"
                )
        return value

    def node_address(self) -> str:
        """The node port as peers dial it: ``node_listen``, its wildcard host
        replaced by the --advertise (else --listen) host; "" without one."""
        if not self.node_listen:
            return ""
        host, port = check_hostport(self.node_listen, "node_listen")
        if host in WILDCARDS:
            host = check_hostport(self.advertise or self.listen, "advertise")[0]
        return join_hostport(host, port)


def seconds(value: float | str, field: str = "duration") -> float:
    """A duration: seconds as a number, or ``30s``, ``10m``, ``1h``, ``90d``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        result = float(value)
    else:
        from jaco.durations import parse_duration

        try:
            result = parse_duration(str(value))
        except ValueError as exc:
            raise InvalidArgument(f"{field}: {exc}") from None
    if result <= 0:
        raise InvalidArgument(f"{field}: must be positive, got {value!r}")
    return result


def read_secret(path: str, field: str) -> str:
    """The first line of ``path`` (a token file); the error never shows the content."""
    try:
        with open(path, encoding="utf-8") as fh:
            value = fh.readline().strip()
    except OSError as exc:
        raise InvalidArgument(f"{field}: cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InvalidArgument(f"{field}: {path} is not a text file") from None
    if not value:
        raise InvalidArgument(f"{field}: {path} is empty")
    return value


def check_hostport(value: str, field: str, also: str = "") -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise InvalidArgument(
            f"{field}: expected HOST:PORT (e.g. 127.0.0.1:7400){also}, got {value!r}"
        )
    return host.strip("[]"), int(port)


def join_hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def default_node_listen(listen: str) -> str:
    """The node port that goes with API address ``listen`` (same host)."""
    host, port = check_hostport(listen, "listen")
    if port and port + NODE_PORT_OFFSET > 65535:
        raise InvalidArgument(f"node_listen: no default above port {port}; pass --node-listen")
    return join_hostport(host, port + NODE_PORT_OFFSET if port else 0)


def _same_socket(a: tuple[str, int], b: tuple[str, int]) -> bool:
    return a[1] == b[1] and (a[0] == b[0] or a[0] in WILDCARDS or b[0] in WILDCARDS)


def load_file(path: str) -> dict[str, object]:
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise InvalidArgument(f"--config: no such file: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidArgument(f"--config {path}: not valid TOML: {exc}") from None
    return {k.replace("-", "_"): v for k, v in data.items()}


def build(file_values: dict[str, object], flag_values: dict[str, object]) -> DaemonConfig:
    merged = {**file_values, **{k: v for k, v in flag_values.items() if v is not None}}
    try:
        return msgspec.convert(merged, DaemonConfig).resolved()
    except msgspec.ValidationError as exc:
        raise InvalidArgument(f"config: {exc}") from None
