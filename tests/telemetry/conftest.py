"""Fixtures: real OTLP receivers, and telemetry enabled in this process.

``telemetry_on`` sets ``JACO_OTLP_ENDPOINT`` (and short export intervals) to
the ``otlp`` receiver, calls ``obs.telemetry.setup``, and shuts it down at
teardown, resetting the process-wide binding state.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from obs import telemetry
from obs.telemetry import binding
from tests.helpers.otlp import OtlpHttpReceiver, OtlpReceiver


@pytest.fixture
def otlp() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as rx:
        yield rx


@pytest.fixture
def otlp_http() -> Iterator[OtlpHttpReceiver]:
    with OtlpHttpReceiver() as rx:
        yield rx


def reset_telemetry() -> None:
    telemetry.shutdown()
    binding.Process.cluster_id = binding.Process.node = ""
    binding.Process.identity_source = None
    binding.Process.default_identity = ""


@pytest.fixture
def telemetry_on(otlp: OtlpReceiver, monkeypatch: pytest.MonkeyPatch) -> Iterator[OtlpReceiver]:
    reset_telemetry()
    for key in [k for k in os.environ if k.startswith(("OTEL_", "JACO_"))]:
        monkeypatch.delenv(key)
    for key, value in otlp.env().items():
        monkeypatch.setenv(key, value)
    assert telemetry.setup("jacod", cluster_id="c-1", node="node-a") is not None
    try:
        yield otlp
    finally:
        reset_telemetry()


def flush() -> None:
    tel = telemetry.get()
    assert tel is not None
    tel.force_flush()
