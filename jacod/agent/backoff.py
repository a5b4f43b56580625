"""Restart decisions: the restart policy and the exponential backoff (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from jacod.runtime import ContainerInfo


@dataclass(frozen=True)
class Backoff:
    """Delay before the n-th quick restart in a row: initial, 2x, 4x … capped.

    A run that lasted ``reset_after_s`` or more was not a crash loop: the
    streak starts over and the next restart waits ``initial_s`` again."""

    initial_s: float = 1.0
    max_s: float = 30.0
    reset_after_s: float = 60.0

    def delay(self, streak: int) -> float:
        return min(self.initial_s * 2.0 ** min(max(streak, 0), 32), self.max_s)

    def streak_after(self, streak: int, ran_s: float) -> int:
        """The streak to back off with, given how long the last run lasted."""
        return 0 if ran_s >= self.reset_after_s else streak


def should_restart(policy: str, exit_code: int) -> bool:
    """``always``, ``on-failure`` (non-zero exit) or ``never``."""
    if policy == "always":
        return True
    if policy == "on-failure":
        return exit_code != 0
    return False


def exit_code_of(info: ContainerInfo) -> int:
    """The exit code, -1 when unknown (the supervisor vanished)."""
    return -1 if info.exit_code is None else info.exit_code


def describe_exit(info: ContainerInfo) -> str:
    """Why the replica is not running, for operators (``last_error``)."""
    if info.error:
        return info.error  # "killed by SIGKILL", "exec failed: command not found: x", …
    if info.exit_code is None:
        return "exited with an unknown code"
    return f"exited with code {info.exit_code}"


def ran_for_s(info: ContainerInfo) -> float:
    if info.started_at_ns and info.finished_at_ns > info.started_at_ns:
        return (info.finished_at_ns - info.started_at_ns) / 1e9
    return 0.0
