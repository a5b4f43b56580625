"""diff(): what `jaco apply --dry-run` prints."""

from __future__ import annotations

import pytest

from jacod.admission import diff
from jacod.state.spec import HealthCheck, Ingress, Resources, ServiceSpec

WEB = ServiceSpec(name="web", command=["python3", "-m", "http.server"], replicas=2,
                  env={"GREETING": "hi"}, ports=[8080])
WORKER = ServiceSpec(name="worker", image="busybox:latest")


def change(**fields: object) -> list[ServiceSpec]:
    return [ServiceSpec(**{**{f: getattr(WEB, f) for f in WEB.__struct_fields__}, **fields})]


@pytest.mark.parametrize(
    ("current", "new", "expected"),
    [
        ([WEB], [WEB], ""),
        ([WEB, WORKER], [WORKER, WEB], ""),  # order of services does not matter
        (None, [WEB, WORKER], "+ service web (2 replicas)\n+ service worker (1 replica)"),
        ([], [WEB], "+ service web (2 replicas)"),
        ([WEB, WORKER], [WEB], "- service worker"),
        ([WEB], change(replicas=3), "~ web.replicas: 2 → 3"),
        ([WEB], change(env={"GREETING": "hello"}), '~ web.env.GREETING: "hi" → "hello"'),
        ([WEB], change(env={"GREETING": "hi", "LANG": "C"}), '+ web.env.LANG: "C"'),
        ([WEB], change(env={}), '- web.env.GREETING: "hi"'),
        ([WEB], change(command=["sleep", "1"]),
         '~ web.command: ["python3", "-m", "http.server"] → ["sleep", "1"]'),
        ([WEB], change(replicas=0, restart="never"),
         '~ web.replicas: 2 → 0\n~ web.restart: "always" → "never"'),
        ([WEB], change(resources=Resources(cpu=0.5, memory_bytes=256 << 20)),
         "~ web.resources.cpu: 0.0 → 0.5\n~ web.resources.memory: 0 → 256Mi"),
        ([WEB], change(health=HealthCheck(kind="tcp", port=8080)),
         '+ web.health.kind: "tcp"\n+ web.health.port: 8080\n+ web.health.interval: 10s\n'
         "+ web.health.timeout: 2s\n+ web.health.retries: 3"),
        (change(health=HealthCheck(kind="http", path="/", port=8080, interval_s=0.5)),
         change(health=HealthCheck(kind="http", path="/", port=8080, interval_s=60.0)),
         "~ web.health.interval: 500ms → 1m"),
        (change(ingress=Ingress(host="a.example.com", port=8080)), [WEB],
         '- web.ingress.host: "a.example.com"\n- web.ingress.path: "/"\n'
         "- web.ingress.port: 8080"),
        ([WEB, WORKER], [change(replicas=1)[0], ServiceSpec(name="db", image="postgres:16")],
         "~ web.replicas: 2 → 1\n+ service db (1 replica)\n- service worker"),
    ],
    ids=["identical", "reordered", "new-deployment", "first-service", "removed", "replicas",
         "env-changed", "env-added", "env-removed", "command", "several", "resources",
         "health-added", "health-interval", "ingress-removed", "mixed"],
)
def test_diff(current: list[ServiceSpec] | None, new: list[ServiceSpec], expected: str) -> None:
    assert diff(current, new) == expected
