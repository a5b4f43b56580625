"""`jacod`: the JACO node daemon."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from jaco import __version__

EXAMPLES = """\
examples:
  jacod --dev                         single node for a laptop; socket in $XDG_STATE_HOME/jaco
  jacod --dev --data-dir /tmp/j1      another dev node with its own state
  jacod --config /etc/jaco/jacod.toml under systemd (see packaging/systemd/jaco.service)

  # a three-node cluster (ports: 7400 API, 7401 raft, 7402 node-to-node mutual TLS)
  jacod --bootstrap --node-name a --listen 10.0.0.1:7400 --raft-listen 10.0.0.1:7401
  jaco node join-token > token.txt    # on a; copy it to b (it is a secret)
  jacod --join 10.0.0.1:7400 --join-token-file token.txt --node-name b \
        --listen 10.0.0.2:7400 --raft-listen 10.0.0.2:7401

logging: under systemd (INVOCATION_ID set) logs go to journald when its socket is
reachable, else JSON lines on stderr; otherwise text. `journalctl -u jaco SUBSYSTEM=raft`.
"""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="jacod",
        description="The JACO node daemon: serves the control API, runs its replicas.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        argument_default=None,
    )
    p.add_argument("--version", action="version", version=f"jacod {__version__}")
    p.add_argument("--config", metavar="FILE", help="TOML file with any of the options below")
    p.add_argument(
        "--dev",
        action="store_true",
        default=None,
        help="single-node development mode (socket and data under the user's state dir)",
    )
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        help="state directory (default: $XDG_STATE_HOME/jaco with --dev, else /var/lib/jaco)",
    )
    p.add_argument("--node-name", metavar="NAME", help="this node's name (default: hostname)")
    p.add_argument(
        "--socket",
        metavar="PATH",
        help="unix socket (default: DIR/jacod.sock with --dev, else /run/jaco/jacod.sock)",
    )
    p.add_argument(
        "--socket-group", metavar="GROUP", help="group that may use the socket (mode 0660)"
    )
    p.add_argument("--listen", metavar="HOST:PORT", help="TCP address for the gRPC API")
    p.add_argument(
        "--advertise", metavar="HOST:PORT", help="gRPC address peers use (default: --listen)"
    )
    p.add_argument("--raft-listen", metavar="HOST:PORT", help="TCP address for raft traffic")
    p.add_argument(
        "--node-listen",
        metavar="HOST:PORT",
        help="TCP address for node-to-node calls over mutual TLS (default: --listen's host, "
        "its port + 2; not with --dev)",
    )
    p.add_argument("--bootstrap", action="store_true", default=None, help="create a new cluster")
    p.add_argument("--join", metavar="HOST:PORT", help="join the cluster of the node at HOST:PORT")
    p.add_argument(
        "--join-token-file", metavar="FILE",
        help="file holding the token from `jaco node join-token` (needed with --join; "
             "or env JACO_JOIN_TOKEN)",
    )  # fmt: skip
    p.add_argument(
        "--join-token", metavar="TOKEN",
        help="the token itself: visible in `ps` and the journal; prefer --join-token-file",
    )  # fmt: skip
    p.add_argument(
        "--restore",
        metavar="FILE",
        help="with --bootstrap: start a new cluster from a `jaco backup` file",
    )
    p.add_argument(
        "--backup-interval",
        metavar="SECONDS",
        type=float,
        help="periodic backups into DIR/backups on the leader (default: off)",
    )
    p.add_argument(
        "--cert-lifetime",
        metavar="DURATION",
        help="lifetime of this node's TLS certificates, e.g. 90d (default: 90d; not with --dev)",
    )
    p.add_argument(
        "--cert-renew-before",
        metavar="DURATION",
        help="renew a certificate this long before it expires (default: 30d)",
    )
    p.add_argument(
        "--runtime", choices=("process", "docker"), help="replica runtime (default: process)"
    )
    p.add_argument(
        "--docker-host",
        metavar="URL",
        help="Docker Engine API with --runtime docker (default: unix:///var/run/docker.sock)",
    )
    p.add_argument(
        "--pressure-interval",
        metavar="SECONDS",
        type=float,
        help="seconds between PSI samples of this node (default: 5; 0: off)",
    )
    p.add_argument(
        "--pressure-source",
        metavar="DIR",
        help="directory holding cpu, memory, io PSI files (default: /proc/pressure)",
    )
    p.add_argument(
        "--rebalance-threshold",
        metavar="PERCENT",
        type=float,
        help="PSI avg10 that makes a node pressured (default: 60; 0: no rebalancing)",
    )
    p.add_argument(
        "--rebalance-window",
        metavar="SECONDS",
        type=float,
        help="how long a node stays pressured before replicas move (default: 60)",
    )
    p.add_argument(
        "--rebalance-interval",
        metavar="SECONDS",
        type=float,
        help="seconds between rebalancing decisions on the leader (default: 15)",
    )
    p.add_argument(
        "--rebalance-max-moves",
        metavar="N",
        type=int,
        help="replicas moved per decision at most (default: 1)",
    )
    p.add_argument(
        "--rebalance-cooldown",
        metavar="SECONDS",
        type=float,
        help="seconds between two moves off one node (default: 60)",
    )
    p.add_argument(
        "--rebalance-target-max",
        metavar="PERCENT",
        type=float,
        help="a node receiving a replica must be below this PSI (default: 30)",
    )
    p.add_argument("--ingress-listen", metavar="HOST:PORT",
                   help="HTTP ingress proxy address, or off (default: 0.0.0.0:8480)")  # fmt: skip
    p.add_argument("--ingress-connect-timeout", metavar="SECONDS", type=float,
                   help="seconds to connect to a replica before trying another "
                        "(default: 2)")  # fmt: skip
    p.add_argument("--ingress-timeout", metavar="SECONDS", type=float,
                   help="longest silence (seconds) from a replica mid-request, then 504 "
                        "(default: 60)")  # fmt: skip
    p.add_argument("--dns-listen", metavar="HOST:PORT",
                   help="DNS server for <service>.<deployment>.jaco, or off "
                        "(default: 127.0.0.1:8600)")  # fmt: skip
    p.add_argument(
        "--log-level", metavar="LEVEL", help="debug|info|warn|error (default: info; env JACO_LOG)"
    )
    p.add_argument(
        "--log-format",
        choices=("auto", "journald", "json", "text"),
        help="override the automatic choice (default: auto)",
    )
    return p


def main(argv: list[str] | None = None) -> None:
    import logging

    import obs.logging as obslog
    from jacod import config, errors

    ns = parser().parse_args(argv)
    flags = {k: v for k, v in vars(ns).items() if k != "config"}
    if ns.join_token is None and ns.join_token_file is None and os.environ.get("JACO_JOIN_TOKEN"):
        flags["join_token"] = os.environ["JACO_JOIN_TOKEN"]
    try:
        file_values = config.load_file(ns.config) if ns.config else {}
        default_level = logging.INFO
        if "log_level" in file_values:  # --log-level > JACO_LOG > the file's log_level > info
            default_level = obslog.parse_level(
                str(file_values["log_level"]), f"{ns.config}: log_level"
            )
        level = obslog.resolve_level(ns.log_level, False, os.environ.get("JACO_LOG"), default_level)
        cfg = config.build(file_values, flags)
    except (obslog.InvalidLevel, errors.InvalidArgument) as exc:
        print(f"jacod: error: {exc}", file=sys.stderr)
        sys.exit(2)
    obslog.setup_daemon(level, cfg.log_format)
    if ns.join_token is not None:
        obslog.get_logger("daemon").warning(
            "--join-token puts the token in the process list and the journal (_CMDLINE) "
            "while it is valid; use --join-token-file or JACO_JOIN_TOKEN"
        )
    # grpc's C core prints INFO lines of its own on stderr (a refused TLS
    # handshake, for one) that are not our log records; keep its errors only.
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    from pathlib import Path

    from jacod import server
    from jacod.api import context as api_context
    from jacod.cluster import clusterfile
    from obs import telemetry

    # Off (and not even imported) unless JACO_OTLP_ENDPOINT is set.
    known = clusterfile.load(Path(cfg.data_dir))  # None on a first start
    telemetry.setup(
        "jacod",
        cluster_id=known.cluster_id if known else "",
        node=known.node_name if known else cfg.node_name,
    )
    telemetry.set_identity_source(api_context.identity.get)
    try:
        asyncio.run(server.serve(cfg))
    except errors.JacoError as exc:
        obslog.get_logger("daemon").error(str(exc))
        telemetry.shutdown()
        obslog.shutdown()
        sys.exit(1)
    telemetry.shutdown()
    obslog.shutdown()


if __name__ == "__main__":
    main()
