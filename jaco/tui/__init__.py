"""The triage console (`jaco` on a terminal, `jaco tui`). Importing this
package imports nothing heavy; ``run_console`` pulls textual in."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jaco.client import Client
    from jaco.tui.client_source import ClientSource

BUFFER_LINES = 10_000
CONTEXT = "context "  # choices the palette offers: "context NAME" or a server address


def choices(current: str) -> list[str]:
    """Where the palette can switch to: every context of the config file, the
    local sockets that exist, $JACO_SERVER."""
    from jaco import contexts
    from jaco.targets import UsageError, local_sockets

    out = [f"unix://{path}" for path in local_sockets() if os.path.exists(path)]
    if os.environ.get("JACO_SERVER"):
        out.insert(0, os.environ["JACO_SERVER"])
    try:
        found = contexts.load(contexts.config_path())
    except (UsageError, OSError):  # no usable config file: no contexts to offer
        found = None
    if found is not None:
        out = [CONTEXT + name for name in sorted(found.contexts)] + out
    return [c for c in dict.fromkeys(out) if c != current]


def connect(choice: str) -> ClientSource:
    """A source for a palette choice, resolved as the CLI resolves its flags."""
    from jaco.client import Client
    from jaco.targets import resolve
    from jaco.tui.client_source import ClientSource

    if choice.startswith(CONTEXT):
        target = resolve(None, context=choice.removeprefix(CONTEXT))
    else:
        target = resolve(choice)
    client = Client(target)
    client.connect()
    return ClientSource(client)


async def run_console(client: Client, args: Any = None) -> int:
    """Run the console on ``client``'s target inside the CLI's event loop (the
    one its gRPC channel lives on). ``args``: the CLI's namespace; reads
    ``buffer_lines`` and ``target`` (DEP/SVC to open on) when present."""
    from jaco.tui.app import JacoApp
    from jaco.tui.client_source import ClientSource

    source = ClientSource(client)
    initial = getattr(args, "target", None)
    app = JacoApp(
        source,
        buffer_lines=getattr(args, "buffer_lines", None) or BUFFER_LINES,
        targets=choices(source.target),
        switch=connect,
        initial=(initial.deployment, initial.service) if initial else None,
    )
    await app.run_async()
    return app.return_code or 0
