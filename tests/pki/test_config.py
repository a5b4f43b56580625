"""--cert-lifetime / --cert-renew-before and their config-file keys."""

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
