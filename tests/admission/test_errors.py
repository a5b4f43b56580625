"""Deployment files that admission rejects: every message checked exactly."""

from __future__ import annotations

import pytest

from jacod.admission import AdmissionError, FieldError, admit
from jacod.admission.parse import MAX_BYTES

from .helpers import rejected

DNS = "a DNS label (lowercase letters, digits, '-'; ≤ 63 chars)"
SERVICE_FIELDS = ("command, image, replicas, env, ports, restart, workdir, placement, resources, "
                  "health, ingress")


def svc(body: str, name: str = "web") -> str:
    """A deployment `shop` with one service whose table is `body`."""
    return f'name = "shop"\n[services.{name}]\n{body}\n'


CMD = 'command = ["x"]\n'

CASES: list[tuple[str, str, list[str]]] = [
    # --- the deployment ---
    ("name-not-dns", 'name = "Shop_1"\n[services.web]\n' + CMD,
     [f'name: must be {DNS}, got "Shop_1"']),
    ("name-too-long", f'name = "{"a" * 64}"\n[services.web]\n' + CMD,
     [f'name: must be {DNS}, got "{"a" * 58}…']),
    ("name-trailing-dash", 'name = "shop-"\n[services.web]\n' + CMD,
     [f'name: must be {DNS}, got "shop-"']),
    ("name-missing", "[services.web]\n" + CMD,
     [f'name: required: {DNS} like "shop"']),
    ("name-not-string", "name = 7\n[services.web]\n" + CMD,
     [f"name: must be {DNS}, got 7"]),
    ("services-missing", 'name = "shop"\n',
     ["services: at least one service is required"]),
    ("services-empty", 'name = "shop"\nservices = {}\n',
     ["services: at least one service is required"]),
    ("services-not-table", 'name = "shop"\nservices = ["web"]\n',
     ['services: must be a table of services like [services.web], got ["web"]']),
    ("service-not-table", 'name = "shop"\nservices = { web = 3 }\n',
     ["services.web: expected a table, got 3"]),
    ("service-name", svc(CMD, "Web_1"),
     [f'services.Web_1: service name must be {DNS}, got "Web_1"']),
    ("top-level-unknown", 'name = "shop"\nservice = {}\n[services.web]\n' + CMD,
     ['service: unknown field; did you mean "services"? valid fields: name, services']),
    # --- a service ---
    ("replicas-word", svc(CMD + 'replicas = "three"'),
     ['services.web.replicas: must be an integer ≥ 0, got "three"']),
    ("replicas-negative", svc(CMD + "replicas = -1"),
     ["services.web.replicas: must be an integer ≥ 0, got -1"]),
    ("replicas-float", svc(CMD + "replicas = 1.5"),
     ["services.web.replicas: must be an integer ≥ 0, got 1.5"]),
    ("replicas-bool", svc(CMD + "replicas = true"),
     ["services.web.replicas: must be an integer ≥ 0, got true"]),
    ("no-runtime", svc("replicas = 2"),
     ["services.web: set command (process runtime) or image (docker runtime)"]),
    ("command-empty-list", svc("command = []"),
     ["services.web.command: must not be empty"]),
    ("command-empty-string", svc('command = "  "'),
     ["services.web.command: must not be empty"]),
    ("command-unbalanced-quote", svc("""command = "sh -c 'echo hi" """),
     ["services.web.command: cannot split like a shell (no closing quotation)"]),
    ("command-item", svc('command = ["sleep", 60]'),
     ["services.web.command[1]: must be a string (quote numbers and booleans), got 60"]),
    ("command-type", svc("command = 60"),
     ['services.web.command: must be a list of strings like ["python3", "app.py"] or one '
      "string, got 60"]),
    ("image-empty", svc('image = ""'),
     ['services.web.image: must be an image like busybox:latest, got ""']),
    ("env-number", svc(CMD + "env = { PORT = 8080, DEBUG = true }"),
     ["services.web.env.PORT: must be a string (quote numbers and booleans), got 8080",
      "services.web.env.DEBUG: must be a string (quote numbers and booleans), got true"]),
    ("env-name", svc(CMD + 'env = { "A=B" = "x" }'),
     ["services.web.env.A=B: variable names must be non-empty and contain no '=', got \"A=B\""]),
    ("env-not-table", svc(CMD + 'env = ["A=B"]'),
     ['services.web.env: must be a table of strings, got ["A=B"]']),
    ("ports-range", svc(CMD + "ports = [0, 8080, 70000]"),
     ["services.web.ports[0]: must be a port number 1–65535, got 0",
      "services.web.ports[2]: must be a port number 1–65535, got 70000"]),
    ("ports-twice", svc(CMD + "ports = [8080, 8080]"),
     ["services.web.ports[1]: port 8080 is listed twice"]),
    ("ports-not-list", svc(CMD + "ports = 8080"),
     ["services.web.ports: must be a list of port numbers like [8080], got 8080"]),
    ("restart", svc(CMD + 'restart = "sometimes"'),
     ['services.web.restart: must be one of always, on-failure, never, got "sometimes"']),
    ("workdir-relative", svc(CMD + 'workdir = "srv"'),
     ['services.web.workdir: must be an absolute path like /srv, got "srv"']),
    ("env-date", svc(CMD + "env = { SINCE = 2024-05-01 }"),
     ["services.web.env.SINCE: must be a string (quote numbers and booleans), got 2024-05-01"]),
    ("placement-bool", svc(CMD + "placement = { ssd = true }"),
     ["services.web.placement.ssd: must be a string (quote numbers and booleans), got true"]),
    ("unknown-with-suggestion", svc(CMD + "replica = 2"),
     ['services.web.replica: unknown field; did you mean "replicas"? valid fields: '
      + SERVICE_FIELDS]),
    ("unknown-without-suggestion", svc(CMD + 'colour = "blue"'),
     ["services.web.colour: unknown field; valid fields: " + SERVICE_FIELDS]),
    ("unknown-name-in-service", svc(CMD + 'name = "web"'),
     ["services.web.name: unknown field; valid fields: " + SERVICE_FIELDS]),
    # --- resources ---
    ("memory-word", svc(CMD + '[services.web.resources]\nmemory = "lots"'),
     ['services.web.resources.memory: expected a size like 256Mi or 1Gi, got "lots"']),
    ("memory-zero", svc(CMD + "[services.web.resources]\nmemory = 0"),
     ["services.web.resources.memory: expected a size like 256Mi or 1Gi, got 0"]),
    ("memory-float", svc(CMD + "[services.web.resources]\nmemory = 1.5"),
     ["services.web.resources.memory: expected a size like 256Mi or 1Gi, got 1.5"]),
    ("cpu-zero", svc(CMD + "[services.web.resources]\ncpu = 0"),
     ["services.web.resources.cpu: expected cores like 0.5 or 500m, got 0"]),
    ("cpu-word", svc(CMD + '[services.web.resources]\ncpu = "half"'),
     ['services.web.resources.cpu: expected cores like 0.5 or 500m, got "half"']),
    ("resources-unknown", svc(CMD + '[services.web.resources]\nmem = "1Gi"'),
     ['services.web.resources.mem: unknown field; did you mean "memory"? valid fields: '
      "cpu, memory"]),
    # --- health ---
    ("health-two-kinds", svc(CMD + 'ports = [80]\n[services.web.health]\nhttp = "/"\ntcp = 80'),
     ["services.web.health: set exactly one of http, tcp, exec"]),
    ("health-no-kind", svc(CMD + '[services.web.health]\ninterval = "5s"'),
     ["services.web.health: set exactly one of http, tcp, exec"]),
    ("health-http-no-port", svc(CMD + '[services.web.health]\nhttp = "/healthz"'),
     ["services.web.health.port: required for an http check when the service lists no ports"]),
    ("health-http-path", svc(CMD + 'ports = [80]\n[services.web.health]\nhttp = "healthz"'),
     ['services.web.health.http: must be a URL path like /healthz, got "healthz"']),
    ("health-port-with-tcp", svc(CMD + "[services.web.health]\ntcp = 80\nport = 81"),
     ["services.web.health.port: only used by http checks (use tcp = … for a tcp check)"]),
    ("health-tcp-port", svc(CMD + "[services.web.health]\ntcp = 0"),
     ["services.web.health.tcp: must be a port number 1–65535, got 0"]),
    ("health-exec-empty", svc(CMD + "[services.web.health]\nexec = []"),
     ["services.web.health.exec: must not be empty"]),
    ("health-durations", svc(
        CMD + '[services.web.health]\ntcp = 80\ninterval = "soon"\ntimeout = -1'),
     ['services.web.health.interval: expected a duration like 500ms, 10s or 1m, got "soon"',
      "services.web.health.timeout: expected a duration like 500ms, 10s or 1m, got -1"]),
    ("health-timeout-over-interval", svc(
        CMD + '[services.web.health]\ntcp = 80\ninterval = "1s"\ntimeout = "2s"'),
     ['services.web.health.timeout: must not exceed interval (1s), got "2s"']),
    ("health-timeout-over-default-interval", svc(
        CMD + '[services.web.health]\ntcp = 80\ntimeout = "30s"'),
     ['services.web.health.timeout: must not exceed interval (10s), got "30s"']),
    ("health-retries", svc(CMD + "[services.web.health]\ntcp = 80\nretries = 0"),
     ["services.web.health.retries: must be an integer ≥ 1, got 0"]),
    ("health-unknown", svc(CMD + '[services.web.health]\nhttp_path = "/"'),
     ['services.web.health.http_path: unknown field; did you mean "http"? valid fields: '
      "http, tcp, exec, port, interval, timeout, retries",
      "services.web.health: set exactly one of http, tcp, exec"]),
    ("health-not-table", svc(CMD + 'health = "/healthz"'),
     ['services.web.health: expected a table, got "/healthz"']),
    # --- ingress ---
    ("ingress-host", svc(CMD + 'ports = [80]\ningress = { host = "Shop.Example.com" }'),
     ['services.web.ingress.host: must be a host name like shop.example.com, '
      'got "Shop.Example.com"']),
    ("ingress-no-host-no-port", svc(CMD + 'ingress = { path = "/shop" }'),
     ['services.web.ingress.host: required: the host name to route, like "shop.example.com"',
      "services.web.ingress.port: required for an ingress when the service lists no ports"]),
]


@pytest.mark.parametrize(("src", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rejected(src: str, expected: list[str]) -> None:
    assert rejected(src) == expected


def test_all_errors_at_once_in_file_order() -> None:
    assert rejected("""
        name = "Shop_1"
        colour = "blue"

        [services.web]
        replicas = "three"
        replica = 2
        ports = [8080]

        [services.web.health]
        http = "/healthz"
        tcp = 8080

        [services.api]
        command = "python3 app.py"
        [services.api.resources]
        memory = "lots"
        cpu = "2"

        [services.worker]
        image = "busybox:latest"
        restart = "sometimes"
    """) == [
        f'name: must be {DNS}, got "Shop_1"',
        "colour: unknown field; valid fields: name, services",
        'services.web.replicas: must be an integer ≥ 0, got "three"',
        'services.web.replica: unknown field; did you mean "replicas"? valid fields: '
        + SERVICE_FIELDS,
        "services.web: set command (process runtime) or image (docker runtime)",
        "services.web.health: set exactly one of http, tcp, exec",
        'services.api.resources.memory: expected a size like 256Mi or 1Gi, got "lots"',
        'services.worker.restart: must be one of always, on-failure, never, got "sometimes"',
    ]


def test_bad_service_name_still_checks_its_body() -> None:
    assert rejected(svc('replicas = "x"\nimage = "a"', "Web")) == [
        f'services.Web: service name must be {DNS}, got "Web"',
        'services.Web.replicas: must be an integer ≥ 0, got "x"',
    ]


def test_error_is_structured() -> None:
    with pytest.raises(AdmissionError) as info:
        admit(svc('replicas = "three"\nimage = "a"').encode())
    assert info.value.errors == [
        FieldError("services.web.replicas", 'must be an integer ≥ 0, got "three"')]


# --- syntax and file-level errors ----------------------------------------

@pytest.mark.parametrize(
    ("data", "fmt", "expected"),
    [
        (b'name = "shop"\n[services.web]\nreplicas = = 3\n', "",
         ["line 3, column 12: invalid value"]),
        (b'name = "shop"\nname = "b"\n', "", ["line 2, column 11: cannot overwrite a value"]),
        (b'name = "shop"\n[services', "",
         ["end of file: expected ']' at the end of a table declaration"]),
        (b'{"name": "shop",\n  "services": {,}}', "",
         ["line 2, column 16: expecting property name enclosed in double quotes"]),
        (b'  {"name": "a", "name": "b", "services": {}}', "",
         ['duplicate key "name": each key may appear once per object']),
        (b'[{"name": "shop"}]', "json",
         ['the file must be a table with name and [services.<name>], got [{"name": "shop"}]']),
        (b'name = "caf\xe9"\n', "", ["line 1: not UTF-8 text (byte 0xe9)"]),
        (b"", "xml", ['format: expected one of toml, yaml, json, got "xml"']),
        (b"#" * (MAX_BYTES + 1), "",
         [f"the file is {MAX_BYTES + 1} bytes; deployment files are limited to {MAX_BYTES}"]),
    ],
    ids=["toml", "toml-duplicate", "toml-truncated", "json", "json-duplicate", "json-not-object",
         "not-utf8", "unknown-format", "too-big"],
)
def test_file_errors(data: bytes, fmt: str, expected: list[str]) -> None:
    assert rejected(data, fmt) == expected


def test_empty_file() -> None:
    assert rejected(b"") == [
        f'name: required: {DNS} like "shop"',
        "services: at least one service is required",
    ]


def test_yaml_errors() -> None:
    import yaml  # noqa: F401 - a runtime dependency: YAML must work
    assert rejected("""
        name: shop
        services:
          web: {command: x
    """, "yaml") == [
        "line 5, column 1: expected ',' or '}', but got '<stream end>' "
        "(while parsing a flow mapping)",
    ]
    assert rejected("""
        name: shop
        services:
          web:
            command: x
            replicas: yes
          1: {}
          db:
    """, "yaml") == [
        "services.web.replicas: must be an integer ≥ 0, got true",
        "services.1: keys must be strings, got 1",
        "services.db: expected a table, got null",
    ]
    assert rejected("- a\n- b\n", "yaml") == [
        'the file must be a table with name and [services.<name>], got ["a", "b"]']


def test_state_machine_check_runs_last(monkeypatch: pytest.MonkeyPatch) -> None:
    # Should the FSM ever reject more than admission does, the file is still
    # rejected, with the FSM's message in the file's terms.
    import jacod.admission.build as build

    monkeypatch.setattr(build, "service_errors",
                        lambda services: "services[1].replicas must not be negative")
    assert rejected(svc(CMD) + '[services.api]\nimage = "a"\n') == [
        "services.api.replicas: must not be negative"]
