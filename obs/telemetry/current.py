"""The process's telemetry: a ``Telemetry`` once :func:`obs.telemetry.setup`
enabled it, else None. Every facade call reads it first."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # never imported when telemetry is off
    from obs.telemetry.sdk import Telemetry

tel: Telemetry | None = None
