"""Scheduling: reconcile (leader), rebalance (leader, pressure), pressure (every node)."""
