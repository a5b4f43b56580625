"""The node agent: runs this node's assigned replicas, checks their health and
reports their states to raft. ``env`` documents what a replica sees (its
environment and host ports)."""

from jacod.agent.agent import Agent, desired_on
from jacod.agent.backoff import Backoff, should_restart
from jacod.agent.health import HealthMonitor
from jacod.agent.replica import Desired
from jacod.agent.report import Reporter
from jacod.agent.store import AgentStore

__all__ = [
    "Agent",
    "AgentStore",
    "Backoff",
    "Desired",
    "HealthMonitor",
    "Reporter",
    "desired_on",
    "should_restart",
]
