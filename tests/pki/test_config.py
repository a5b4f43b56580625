"""--cert-lifetime / --cert-renew-before, --node-listen and their config-file keys."""

from __future__ import annotations

import pytest

from jacod import config
from jacod.errors import InvalidArgument


def build(**flags: object) -> config.DaemonConfig:
    return config.build({}, {"dev": True, "data_dir": "/tmp/x", **flags})


def test_defaults_and_durations() -> None:
    cfg = build()
    assert (cfg.cert_lifetime, cfg.cert_renew_before) == (90 * 86400.0, 30 * 86400.0)
    cfg = build(cert_lifetime="6s", cert_renew_before="3s")
    assert (cfg.cert_lifetime, cfg.cert_renew_before) == (6.0, 3.0)
    # The config file may give seconds as numbers (keys with - or _).
    file_values = {"cert_lifetime": 3600, "cert_renew_before": 600}
    cfg = config.build(file_values, {"dev": True, "data_dir": "/tmp/x"})
    assert (cfg.cert_lifetime, cfg.cert_renew_before) == (3600.0, 600.0)


@pytest.mark.parametrize(
    ("flags", "field"),
    [
        ({"cert_lifetime": "soon"}, "cert_lifetime"),
        ({"cert_lifetime": "1s"}, "cert_lifetime"),
        ({"cert_renew_before": "0s"}, "cert_renew_before"),
        ({"cert_lifetime": "1h", "cert_renew_before": "2h"}, "cert_renew_before"),
    ],
)
def test_bad_values_name_the_field(flags: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgument, match=f"^{field}:"):
        build(**flags)


def node(**flags: object) -> config.DaemonConfig:
    return config.build({}, {"data_dir": "/tmp/x", "node_name": "a", **flags})


@pytest.mark.parametrize(
    ("flags", "node_listen", "node_address"),
    [
        ({"listen": "10.0.0.1:7400"}, "10.0.0.1:7402", "10.0.0.1:7402"),
        ({"listen": "10.0.0.1:7400", "node_listen": "10.0.0.1:9000"}, "10.0.0.1:9000",
         "10.0.0.1:9000"),
        # A wildcard bind is dialled at the advertised (else the listen) host.
        ({"listen": "0.0.0.0:7400", "advertise": "node-a.example:7400"}, "0.0.0.0:7402",
         "node-a.example:7402"),
        ({"listen": "10.0.0.1:7400", "node_listen": "0.0.0.0:7500"}, "0.0.0.0:7500",
         "10.0.0.1:7500"),
        ({"listen": "[::1]:7400"}, "[::1]:7402", "[::1]:7402"),
        ({}, "", ""),  # no TCP at all: no node port
        ({"dev": True, "listen": "127.0.0.1:7400"}, "", ""),  # --dev: node calls over --listen
    ],
)  # fmt: skip
def test_node_port_defaults_to_the_api_port_plus_two(
    flags: dict[str, object], node_listen: str, node_address: str
) -> None:
    cfg = node(**flags)
    assert (cfg.node_listen, cfg.node_address()) == (node_listen, node_address)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"listen": "10.0.0.1:7400", "raft_listen": "10.0.0.1:7402"},
         r"--node-listen \(default 10.0.0.1:7402\) is the same port as --raft-listen"),
        ({"listen": "10.0.0.1:7400", "raft_listen": "0.0.0.0:7402"}, "same port as --raft-listen"),
        ({"listen": "10.0.0.1:7400", "node_listen": "0.0.0.0:7400"}, "same port as --listen"),
        ({"listen": "10.0.0.1:65534"}, "no default above port 65534"),
        ({"node_listen": "10.0.0.1:7402"}, "needs --listen"),
        ({"dev": True, "listen": "127.0.0.1:7400", "node_listen": "127.0.0.1:7402"},
         "a --dev node has no cluster CA"),
        ({"listen": "10.0.0.1:7400", "node_listen": "7402"}, "expected HOST:PORT"),
    ],
)  # fmt: skip
def test_node_port_mistakes_name_the_flag(flags: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgument, match=f"^node_listen: .*{message}"):
        node(**flags)


def test_a_different_host_may_reuse_the_port() -> None:
    cfg = node(listen="10.0.0.1:7400", raft_listen="10.0.0.2:7402")
    assert cfg.node_listen == "10.0.0.1:7402"
