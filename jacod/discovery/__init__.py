"""Service discovery: which replicas of which service are healthy, and where.

``registry`` is the pure view (endpoints, ingress routes, replica environment);
``live`` keeps one current on a node for the ingress, DNS and the agent.
"""

from jacod.discovery.registry import Endpoint, Route, Snapshot, build, environment, match

__all__ = ["Endpoint", "Route", "Snapshot", "build", "environment", "match"]
