"""Observability shared by ``jacod`` and ``jaco``: logging and (opt-in) telemetry.

Never imports ``textual``; never imports ``opentelemetry.sdk`` unless telemetry
is enabled.
"""
