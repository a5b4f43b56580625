"""Whatever the input, admission answers Admitted or AdmissionError — and what
it admits, the state machine accepts."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jacod.admission import AdmissionError, admit
from jacod.state.spec import service_errors

# Real field names and values near the valid ones, so generated files get deep
# into the checks instead of stopping at the first unknown field.
KEYS = ["name", "services", "web", "command", "image", "replicas", "env", "ports", "restart",
        "workdir", "placement", "resources", "cpu", "memory", "health", "http", "tcp", "exec",
        "port", "interval", "timeout", "retries", "ingress", "host", "path", "Web", "x"]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-2, 70000), st.floats(allow_nan=True),
    st.sampled_from(["", "shop", "/", "/healthz", "256Mi", "500m", "10s", "always", "a b 'c",
                     "busybox:latest", "shop.example.com", "Shop_1", "0"]),
    st.text(max_size=8),
)
TREES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS), inner,
                                                               max_size=6),
    max_leaves=30,
)
SETTINGS = settings(max_examples=300, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _check(data: bytes, fmt: str = "") -> None:
    try:
        admitted = admit(data, fmt)
    except AdmissionError as e:
        assert e.errors and str(e).count("\n") == len(e.errors) - 1
    else:
        assert service_errors(admitted.services) is None


@SETTINGS
@given(TREES)
def test_any_json_tree(tree: object) -> None:
    _check(json.dumps(tree).encode(), "json")


@SETTINGS
@given(st.dictionaries(st.sampled_from(KEYS), TREES, max_size=4), TREES)
def test_any_services_table(services: dict[str, object], name: object) -> None:
    _check(json.dumps({"name": name, "services": {"web": services}}).encode())


@SETTINGS
@given(st.binary(max_size=200), st.sampled_from(["", "toml", "json", "yaml"]))
def test_any_bytes(data: bytes, fmt: str) -> None:
    _check(data, fmt)
