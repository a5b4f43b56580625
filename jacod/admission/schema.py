"""The deployment file's schema, in the file's own terms.

Each field's type says what msgspec accepts; its `Meta.description` is the
expected form an error shows (`must be an integer ≥ 0`), so the schema and its
error messages cannot drift apart. Every field defaults to None ("not set"):
required fields and defaults that depend on other fields (a health check's port
defaults to the first of `ports`) are decided in `build.py`.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

DNS_LABEL = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
DNS_FORM = "a DNS label (lowercase letters, digits, '-'; ≤ 63 chars)"
_HOST = r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"

Text = Annotated[str, Meta(description="must be a string (quote numbers and booleans)")]
Label = Annotated[str, Meta(pattern=r"^[^\x00]+$", description="must not be empty")]
EnvName = Annotated[
    str,
    Meta(pattern=r"^[^=\x00]+$", description="variable names must be non-empty and contain no '='"),
]
EnvValue = Annotated[
    str, Meta(pattern=r"^[^\x00]*$", description="must be a string (quote numbers and booleans)")
]
Name = Annotated[str, Meta(pattern=DNS_LABEL, description=f"must be {DNS_FORM}")]
ServiceName = Annotated[
    str, Meta(pattern=DNS_LABEL, description=f"service name must be {DNS_FORM}")
]
Count = Annotated[int, Meta(ge=0, description="must be an integer ≥ 0")]
Retries = Annotated[int, Meta(ge=1, description="must be an integer ≥ 1")]
Port = Annotated[int, Meta(ge=1, le=65535, description="must be a port number 1–65535")]
Ports = Annotated[list[Port], Meta(description="must be a list of port numbers like [8080]")]
Command = Annotated[
    str | list[Text],
    Meta(description='must be a list of strings like ["python3", "app.py"] or one string'),
]
Image = Annotated[str, Meta(min_length=1, description="must be an image like busybox:latest")]
Env = Annotated[dict[EnvName, EnvValue], Meta(description="must be a table of strings")]
Labels = Annotated[dict[Label, Text], Meta(description="must be a table of node labels")]
Restart = Annotated[
    Literal["always", "on-failure", "never"],
    Meta(description="must be one of always, on-failure, never"),
]
AbsPath = Annotated[str, Meta(pattern="^/", description="must be an absolute path like /srv")]
UrlPath = Annotated[str, Meta(pattern="^/", description="must be a URL path like /healthz")]
Host = Annotated[str, Meta(pattern=_HOST, description="must be a host name like shop.example.com")]
Cpu = Annotated[int | float | str, Meta(description="expected cores like 0.5 or 500m")]
Size = Annotated[int | str, Meta(description="expected a size like 256Mi or 1Gi")]
Duration = Annotated[
    int | float | str, Meta(description="expected a duration like 500ms, 10s or 1m")
]


class _In(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    pass


class ResourcesIn(_In, frozen=True):
    cpu: Cpu | None = None
    memory: Size | None = None


class HealthIn(_In, frozen=True):
    http: UrlPath | None = None
    tcp: Port | None = None
    exec: Command | None = None
    port: Port | None = None
    interval: Duration | None = None
    timeout: Duration | None = None
    retries: Retries | None = None


class IngressIn(_In, frozen=True):
    host: Host | None = None
    path: UrlPath | None = None
    port: Port | None = None


class ServiceIn(_In, frozen=True):
    command: Command | None = None
    image: Image | None = None
    replicas: Count | None = None
    env: Env | None = None
    ports: Ports | None = None
    restart: Restart | None = None
    workdir: AbsPath | None = None
    placement: Labels | None = None
    resources: ResourcesIn | None = None
    health: HealthIn | None = None
    ingress: IngressIn | None = None


Services = Annotated[
    dict[ServiceName, ServiceIn],
    Meta(description="must be a table of services like [services.web]"),
]


class DeploymentIn(_In, frozen=True):
    name: Name | None = None
    services: Services | None = None
