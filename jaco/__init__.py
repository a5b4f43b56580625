"""JACO: the operator CLI and triage console (``jaco``) and shared client code."""

__version__ = "0.1.0"
