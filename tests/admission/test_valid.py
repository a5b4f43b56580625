"""Deployment files that admission accepts, and what they become."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jacod.admission import AdmissionError, admit, format_for_filename
from jacod.admission.units import parse_cpu, parse_duration, parse_size
from jacod.state.spec import HealthCheck, Ingress, Resources, ServiceSpec, service_errors

from .helpers import ok

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

FULL_TOML = """
    name = "shop"

    [services.web]
    command = ["python3", "-m", "http.server", "8080"]
    replicas = 3
    env = { GREETING = "hi" }
    ports = [8080]
    restart = "always"
    workdir = "/srv"
    placement = { zone = "a" }

    [services.web.resources]
    cpu = 0.5
    memory = "256Mi"

    [services.web.health]
    http = "/healthz"
    interval = "10s"
    timeout = "2s"
    retries = 3

    [services.web.ingress]
    host = "shop.example.com"
    path = "/"
"""

FULL_TREE = {
    "name": "shop",
    "services": {
        "web": {
            "command": ["python3", "-m", "http.server", "8080"],
            "replicas": 3,
            "env": {"GREETING": "hi"},
            "ports": [8080],
            "restart": "always",
            "workdir": "/srv",
            "placement": {"zone": "a"},
            "resources": {"cpu": 0.5, "memory": "256Mi"},
            "health": {"http": "/healthz", "interval": "10s", "timeout": "2s", "retries": 3},
            "ingress": {"host": "shop.example.com", "path": "/"},
        }
    },
}

FULL_YAML = """
    name: shop
    services:
      web:
        command: [python3, -m, http.server, "8080"]
        replicas: 3
        env: {GREETING: hi}
        ports: [8080]
        restart: always
        workdir: /srv
        placement: {zone: a}
        resources: {cpu: 0.5, memory: 256Mi}
        health:
          http: /healthz
          interval: 10s
          timeout: 2s
          retries: 3
        ingress:
          host: shop.example.com
          path: /
"""

FULL_SPEC = ServiceSpec(
    name="web",
    command=["python3", "-m", "http.server", "8080"],
    replicas=3,
    env={"GREETING": "hi"},
    ports=[8080],
    resources=Resources(cpu=0.5, memory_bytes=256 << 20),
    health=HealthCheck(kind="http", path="/healthz", port=8080, interval_s=10.0,
                       timeout_s=2.0, retries=3),
    restart="always",
    placement={"zone": "a"},
    ingress=Ingress(host="shop.example.com", path="/", port=8080),
    workdir="/srv",
)


@pytest.mark.parametrize(
    ("src", "fmt"),
    [
        (FULL_TOML, ""),
        (FULL_TOML, "toml"),
        (json.dumps(FULL_TREE, indent=2), ""),
        (json.dumps(FULL_TREE), "json"),
        (FULL_YAML, "yaml"),
    ],
    ids=["toml-sniffed", "toml", "json-sniffed", "json", "yaml"],
)
def test_full_spec_in_every_format(src: str, fmt: str) -> None:
    if fmt == "yaml":
        import yaml  # noqa: F401 - a runtime dependency: YAML must work
    admitted = ok(src, fmt)
    assert admitted.name == "shop"
    assert admitted.services == [FULL_SPEC]
    assert service_errors(admitted.services) is None


def test_source_is_kept_verbatim() -> None:
    data = b'name = "a"\n[services.w]\nimage = "busybox:latest"\n'
    assert admit(data).source == data.decode()


def test_defaults() -> None:
    [svc] = ok("""
        name = "a"
        [services.w]
        image = "busybox:latest"
    """).services
    assert svc == ServiceSpec(name="w", image="busybox:latest")
    assert (svc.replicas, svc.restart, svc.health, svc.ingress) == (1, "always", None, None)


@pytest.mark.parametrize(
    ("line", "field", "expected"),
    [
        ('command = "python3 -m http.server 8080"', "command",
         ["python3", "-m", "http.server", "8080"]),
        ("""command = "sh -c 'echo hi; sleep 1'" """, "command", ["sh", "-c", "echo hi; sleep 1"]),
        ('image = "busybox:latest"\ncommand = ["sleep", "60"]', "command", ["sleep", "60"]),
        ("replicas = 0", "replicas", 0),
        ('restart = "on-failure"', "restart", "on-failure"),
        ('restart = "never"', "restart", "never"),
        ("ports = [80, 443]", "ports", [80, 443]),
        ("placement = { disk = \"ssd\", zone = \"b\" }", "placement", {"disk": "ssd", "zone": "b"}),
    ],
)
def test_service_fields(line: str, field: str, expected: object) -> None:
    body = line if "command" in line else f'command = ["true"]\n{line}'
    [svc] = ok(f'name = "a"\n[services.w]\n{body}\n').services
    assert getattr(svc, field) == expected


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ('http = "/up"', HealthCheck(kind="http", path="/up", port=8080)),
        ('http = "/up"\nport = 9090', HealthCheck(kind="http", path="/up", port=9090)),
        ("tcp = 5432", HealthCheck(kind="tcp", port=5432)),
        ('exec = ["pg_isready"]', HealthCheck(kind="exec", command=["pg_isready"])),
        ('exec = "pg_isready -q"', HealthCheck(kind="exec", command=["pg_isready", "-q"])),
        ('tcp = 80\ninterval = "500ms"\ntimeout = 0.25\nretries = 1',
         HealthCheck(kind="tcp", port=80, interval_s=0.5, timeout_s=0.25, retries=1)),
        ('tcp = 80\ninterval = "1s"',  # the default timeout shrinks to the interval
         HealthCheck(kind="tcp", port=80, interval_s=1.0, timeout_s=1.0)),
        ('tcp = 80\ninterval = "1m30s"\ntimeout = 5', HealthCheck(
            kind="tcp", port=80, interval_s=90.0, timeout_s=5.0)),
    ],
)
def test_health(table: str, expected: HealthCheck) -> None:
    [svc] = ok(f'name = "a"\n[services.w]\ncommand = ["x"]\nports = [8080, 9000]\n'
               f"[services.w.health]\n{table}\n").services
    assert svc.health == expected


def test_ingress_port_defaults_to_first_port() -> None:
    [svc] = ok("""
        name = "a"
        [services.w]
        command = ["x"]
        ports = [8080, 9000]
        ingress = { host = "a.example.com" }
    """).services
    assert svc.ingress == Ingress(host="a.example.com", path="/", port=8080)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(268435456, 268435456), ("256Mi", 256 << 20), ("1Gi", 1 << 30), ("512M", 512_000_000),
     ("100k", 100_000), ("1.5Gi", 3 << 29), ("64", 64), ("0", None), (0, None), ("lots", None),
     ("1GB", None), ("-1Mi", None)],
)
def test_sizes(value: int | str, expected: int | None) -> None:
    assert parse_size(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.5, 0.5), (2, 2.0), ("500m", 0.5), ("1.5", 1.5), ("0", None), (0, None), (-1, None),
     (float("inf"), None), (float("nan"), None), ("half", None)],
)
def test_cpu(value: float | str, expected: float | None) -> None:
    assert parse_cpu(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("500ms", 0.5), ("10s", 10.0), ("1m", 60.0), ("1h", 3600.0), ("1m30s", 90.0), (10, 10.0),
     (0.5, 0.5), ("0s", None), (0, None), ("10", None), ("soon", None), ("10 s", None),
     ("s", None)],
)
def test_durations(value: float | str, expected: float | None) -> None:
    assert parse_duration(value) == expected


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("shop.toml", "toml"), ("a/b/shop.TOML", "toml"), ("shop.yaml", "yaml"), ("shop.yml", "yaml"),
     ("shop.json", "json"), ("shop", ""), ("shop.txt", ""), ("-", "")],
)
def test_format_for_filename(name: str, fmt: str) -> None:
    assert format_for_filename(name) == fmt


def test_yaml_is_never_sniffed() -> None:
    # Without format="yaml" a YAML file is read as TOML and rejected as such.
    with pytest.raises(AdmissionError, match=r"^line 1, column"):
        admit(b"name: shop\n")


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_examples_admit_cleanly(path: Path) -> None:
    admitted = admit(path.read_bytes(), format_for_filename(path.name))
    assert admitted.name == path.stem
    assert len(admitted.services) == 2
    assert service_errors(admitted.services) is None


def test_examples_exist() -> None:
    assert {p.name for p in EXAMPLES.glob("*.toml")} >= {"hello.toml", "shop.toml"}


def test_docs_example_admits() -> None:
    doc = (EXAMPLES.parent / "docs" / "deployments.md").read_text()
    example = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    admitted = admit(example.encode())
    assert [(s.name, s.replicas) for s in admitted.services] == [("web", 3), ("worker", 1)]
    assert admitted.services[0] == FULL_SPEC
