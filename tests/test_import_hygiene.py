"""What `jaco` imports: never textual, never the OpenTelemetry SDK (telemetry
is off), never the daemon; `jaco --help` not even grpc. Each check runs in a
fresh interpreter so nothing this test process imported leaks in."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import pytest

import jaco.commands
from tests.helpers import Jacod, clean_env

FORBIDDEN = ("textual", "opentelemetry", "opentelemetry.sdk", "jacod", "systemd")


def loaded_after(code: str, env: dict[str, str] | None = None) -> tuple[set[str], str]:
    script = code + "\nimport json, sys\nprint('\\n' + json.dumps(sorted(sys.modules)))\n"
    proc = subprocess.run([sys.executable, "-c", script], env=env or clean_env(),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    *head, last = proc.stdout.rstrip("\n").split("\n")
    return set(json.loads(last)), "\n".join(head)


def roots(modules: set[str], *names: str) -> set[str]:
    return {m for m in modules if any(m == n or m.startswith(n + ".") for n in names)}


@pytest.mark.parametrize("output", ["text", "json"])
def test_jaco_status_imports(shared_jacod: Jacod, output: str) -> None:
    code = (
        "from jaco.cli import run\n"
        f"rc = run(['--server', {shared_jacod.server!r}, 'status', '-o', {output!r}])\n"
        "assert rc == 0, rc\n"
    )
    modules, out = loaded_after(code)
    assert "shared-node" in out  # it really talked to the daemon
    assert "grpc" in modules and "jaco.client" in modules
    assert roots(modules, *FORBIDDEN) == set()


def test_jaco_status_console_script_imports(shared_jacod: Jacod) -> None:
    # Through the real entry point (jaco.__main__.main -> sys.exit).
    code = (
        "import sys\n"
        "from jaco.__main__ import main\n"
        f"sys.argv = ['jaco', '--server', {shared_jacod.server!r}, '-v', 'status']\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
    )
    modules, _ = loaded_after(code)
    assert roots(modules, *FORBIDDEN) == set()


def test_help_imports_no_grpc() -> None:
    code = (
        "from jaco.cli import run\n"
        "import contextlib, io\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n        run(['--help'])\n    except SystemExit:\n        pass\n"
    )
    modules, _ = loaded_after(code)
    assert roots(modules, "grpc", *FORBIDDEN) == set()


def command_modules() -> list[str]:
    return sorted(f"jaco.commands.{m.name}" for m in pkgutil.iter_modules(jaco.commands.__path__))


def test_there_are_command_modules() -> None:
    assert "jaco.commands.status" in command_modules()


@pytest.mark.parametrize(
    "module", ["obs", "obs.logging", "jaco.client", "jaco.cli", *command_modules()]
)
def test_headless_module_imports(module: str) -> None:
    modules, _ = loaded_after(f"import {module}")
    assert roots(modules, "textual", "opentelemetry.sdk", "jacod") == set(), module
