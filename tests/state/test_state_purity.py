"""`jacod/state` stays pure: it imports only msgspec and pure stdlib modules."""

from __future__ import annotations

import ast
from pathlib import Path

import jacod.state

# No I/O, clock, randomness, threads, networking, grpc/protobuf or pysyncobj.
ALLOWED = {
    "__future__",
    "array",
    "bisect",
    "collections",
    "enum",
    "heapq",
    "math",
    "msgspec",
    "re",
    "typing",
}

PACKAGE = Path(jacod.state.__file__).parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_state_imports_nothing_impure() -> None:
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) > 5
    for path in modules:
        assert _imports(path) <= ALLOWED, f"{path.name} imports {_imports(path) - ALLOWED}"
