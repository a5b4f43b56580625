"""The CLI level: `--log-level` > `--verbose` > `JACO_LOG` > warn, as a table on
resolve_level and end to end through the real `jaco`."""

from __future__ import annotations

import logging

import pytest

from obs.logging import InvalidLevel, resolve_level
from tests.helpers import Jacod, clean_env, run_jaco, text_records

D, INFO, W, E = logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR


@pytest.mark.parametrize(
    ("flag", "verbose", "env", "expected"),
    [
        # nothing set: warn
        (None, False, None, W),
        (None, False, "", W),
        # JACO_LOG alone
        (None, False, "debug", D),
        (None, False, "info", INFO),
        (None, False, "warn", W),
        (None, False, "error", E),
        # --verbose beats JACO_LOG
        (None, True, None, D),
        (None, True, "error", D),
        (None, True, "bogus", D),  # a lower-precedence source is not consulted
        # --log-level beats everything
        ("error", True, None, E),
        ("info", False, "debug", INFO),
        ("warn", True, "debug", W),
        ("debug", False, "error", D),
        ("error", False, "bogus", E),
    ],
)
def test_precedence(flag: str | None, verbose: bool, env: str | None, expected: int) -> None:
    assert resolve_level(flag, verbose, env) == expected


def test_daemon_default_is_its_own() -> None:
    assert resolve_level(None, False, None, logging.INFO) == INFO


@pytest.mark.parametrize(
    ("flag", "env", "source"),
    [("loud", None, "--log-level"), ("warning", None, "--log-level"),
     ("critical", None, "--log-level"), (None, "loud", "JACO_LOG"), (None, "trace", "JACO_LOG")],
)
def test_invalid_level_names_the_valid_ones(flag: str | None, env: str | None, source: str) -> None:
    with pytest.raises(InvalidLevel) as info:
        resolve_level(flag, False, env)
    message = str(info.value)
    assert source in message
    for level in ("debug", "info", "warn", "error"):
        assert level in message


# ------------------------------------------------------------ through the real CLI

DIAL = "dialing jacod"


def _levels(err: str) -> set[str]:
    return {r["level"] for r in text_records(err)}


@pytest.mark.parametrize(
    ("args", "env", "dial_shown", "debug_shown"),
    [
        ([], {}, False, False),  # default warn: silent
        ([], {"JACO_LOG": "info"}, True, False),
        ([], {"JACO_LOG": "debug"}, True, True),
        (["--log-level", "error"], {"JACO_LOG": "info"}, False, False),
        (["--log-level", "info"], {}, True, False),
        (["-v"], {}, True, True),
        (["--verbose"], {"JACO_LOG": "error"}, True, True),
        (["-v", "--log-level", "info"], {}, True, False),
        (["--log-level", "warn"], {"JACO_LOG": "debug"}, False, False),
    ],
)
def test_cli_precedence_end_to_end(
    shared_jacod: Jacod, args: list[str], env: dict[str, str], dial_shown: bool,
    debug_shown: bool,
) -> None:
    rc, out, err = run_jaco("--server", shared_jacod.server, *args, "status", env=clean_env(env))
    assert rc == 0, err
    assert "shared-node" in out
    assert (DIAL in err) == dial_shown, err
    assert ("debug" in _levels(err)) == debug_shown, err
    if not dial_shown:
        assert err == ""


@pytest.mark.parametrize("where", ["before", "after"])
def test_cli_level_flags_after_the_verb(shared_jacod: Jacod, where: str) -> None:
    flags = ["--log-level", "info"]
    argv = [*flags, "status"] if where == "before" else ["status", *flags]
    rc, _, err = run_jaco("--server", shared_jacod.server, *argv)
    assert rc == 0, err
    assert DIAL in err
    rc, _, err = run_jaco("--server", shared_jacod.server, *(["status", "-v"] if where == "after"
                                                               else ["-v", "status"]))
    assert rc == 0 and "debug" in _levels(err)


@pytest.mark.parametrize(
    ("args", "env", "source"),
    [
        (["--log-level", "loud", "status"], {}, "--log-level"),
        (["status", "--log-level", "loud"], {}, "--log-level"),
        (["status"], {"JACO_LOG": "loud"}, "JACO_LOG"),
        (["-v", "--log-level", "verbose", "status"], {}, "--log-level"),
    ],
)
def test_cli_invalid_level_is_a_usage_error(
    args: list[str], env: dict[str, str], source: str
) -> None:
    # No daemon needed: the level is checked before anything is dialled.
    rc, out, err = run_jaco("--server", "unix:///nonexistent/jacod.sock", *args,
                            env=clean_env(env))
    assert rc == 2, err
    errors = [line for line in err.splitlines() if line.startswith("jaco: error:")]
    assert len(errors) == 1, err
    assert source in errors[0]
    for level in ("debug", "info", "warn", "error"):
        assert level in errors[0]
    assert "Traceback" not in err
    assert DIAL not in err
