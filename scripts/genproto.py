"""Generate the gRPC/protobuf stubs in jaco/v1/ from proto/jaco/v1/*.proto.

`make proto` runs this into the tree; tests/test_stubs.py runs it into a
temporary directory and fails when the checked-in stubs differ.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "proto"


def generate(out: Path) -> list[Path]:
    from grpc_tools import protoc  # dev dependency, pinned in pyproject.toml

    protos = sorted(PROTO_ROOT.glob("jaco/v1/*.proto"))
    plugin = Path(sys.executable).parent / "protoc-gen-mypy_grpc"
    well_known = Path(protoc.__file__).parent / "_proto"
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        f"--plugin=protoc-gen-mypy_grpc={plugin}",
        f"--mypy_grpc_out={out}",
        *[str(p.relative_to(PROTO_ROOT)) for p in protos],
    ]
    (out / "jaco" / "v1").mkdir(parents=True, exist_ok=True)
    rc = protoc.main(args)
    if rc != 0:
        raise SystemExit(f"protoc failed with exit code {rc}")
    return sorted((out / "jaco" / "v1").glob("*_pb2*"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=os.fspath(ROOT), help="output root (default: repo)")
    ns = parser.parse_args()
    for path in generate(Path(ns.out)):
        print(path)


if __name__ == "__main__":
    main()
