"""The PKI directory, ``<data_dir>/pki/``: what each file is and how it is written.

| file      | mode | what |
|-----------|------|------|
| ca.crt    | 0644 | the cluster CA certificate (what clients pass as ``--ca-file``) |
| ca.key    | 0600 | the CA private key: every member holds it, to sign its own renewals |
| node.key  | 0600 | this node's private key (kept across renewals) |
| node.crt  | 0644 | this node's certificate (``CN=node:<name>``), replaced on renewal |

Files are written to a temp file with the final mode and renamed over the
old one, so a reader never sees a half-written key. Keys are never logged;
errors name the file, never its contents.
"""

from __future__ import annotations

import os
from pathlib import Path

from jacod.errors import FailedPrecondition

DIRNAME = "pki"
CA_CERT = "ca.crt"
CA_KEY = "ca.key"
NODE_KEY = "node.key"
NODE_CERT = "node.crt"
SECRET_FILES = (CA_KEY, NODE_KEY)


def pki_dir(data_dir: Path | str) -> Path:
    return Path(data_dir) / DIRNAME


def exists(directory: Path) -> bool:
    return all((directory / f).exists() for f in (CA_CERT, NODE_KEY, NODE_CERT))


def write(directory: Path, name: str, data: bytes) -> Path:
    """Atomically replace ``directory/name``; 0600 for keys, 0644 otherwise."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    mode = 0o600 if name in SECRET_FILES else 0o644
    path = directory / name
    tmp = directory / f".{name}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)  # O_CREAT's mode is filtered by the umask
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
    return path


def read(directory: Path, name: str) -> bytes:
    path = directory / name
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise FailedPrecondition(f"{path} is missing; this node's PKI is incomplete") from None
    except PermissionError:
        raise FailedPrecondition(f"{path} is not readable by jacod") from None
