"""The ingress proxy on every node: routes HTTP by host and path to healthy replicas."""

from jacod.ingress.proxy import Ingress, IngressConfig
from jacod.ingress.thread import IngressThread

__all__ = ["Ingress", "IngressConfig", "IngressThread"]
