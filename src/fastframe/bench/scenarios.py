"""Workload scenarios: one stream per workload, built once, received as a server or client would.

Each stream arrives in socket-sized reads (64 KiB) and is parsed, unmasked,
validated and assembled into messages (text decoded to ``str``) by every
receive path: fastframe's ``MessageAssembler`` over its ``FrameParser``, and
each peer's own (aiohttp's ``WebSocketReader``, websockets' sans-I/O
``Protocol``, wsproto's ``FrameProtocol``). Where ``fastframe.patch()``
supports an installed library, that library's receive path also runs
patched (``<library>+fastframe``) on the same stream: the drop-in speedup.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from .cases import receive
from .inputs import OP_BINARY, OP_TEXT, chunks, random_bytes, stream, text, tokens
from .peers import Adapter
from .timing import Case, Impl

#: The size of one socket read.
READ = 64 * 1024


@dataclass(frozen=True)
class Workload:
    """What a scenario streams: how many messages of which kind, and who receives."""

    description: str
    client: bool  # a client receives unmasked frames; a server, masked ones
    full: int  # messages in a full run
    quick: int  # messages with --quick


#: Scenario name -> its workload (DESIGN.md, "Workloads that matter").
SCENARIOS = {
    "tokens": Workload(
        "AI token streaming: 5-30 byte text frames, mixed scripts and emoji, to a client", True, 20000, 2000
    ),
    "chat": Workload("chat: small masked text frames (20-300 bytes, mixed scripts) to a server", False, 10000, 1000),
    "telemetry": Workload("telemetry: small masked binary frames (8-64 bytes) to a server", False, 20000, 2000),
    "file": Workload("file transfer: one masked binary message of 16 MiB (quick: 1 MiB)", False, 16, 1),
}


def payloads(name: str, count: int) -> tuple[list[bytes], int]:
    """The messages of scenario ``name`` (``count`` of them; MiB for ``file``) and their opcode."""
    rng = random.Random(12)
    if name == "tokens":
        return tokens(count), OP_TEXT
    if name == "chat":
        return [text("mixed", rng.randint(20, 300), seed=i) for i in range(count)], OP_TEXT
    if name == "telemetry":
        return [random_bytes(rng.randint(8, 64), seed=i) for i in range(count)], OP_BINARY
    if name == "file":
        return [random_bytes(count << 20)], OP_BINARY
    raise ValueError(f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)}")


def scenario_case(name: str, adapters: Sequence[Adapter], *, quick: bool) -> Case:
    """Scenario ``name`` with each adapter's receive path, and the patched libraries'."""
    workload = SCENARIOS[name]
    messages, opcode = payloads(name, workload.quick if quick else workload.full)
    data = stream(messages, opcode, masked=not workload.client)
    reads = chunks(data, READ)
    impls: list[Impl] = []
    patched: list[Impl] = []
    for adapter in adapters:
        try:
            receiver = adapter.receiver(client=workload.client)
            if receiver is None:
                continue
            impls.append(receive(adapter.name, receiver, reads))
            context = adapter.patched()
            if context is not None:
                patched.append(receive(f"{adapter.name}+fastframe", receiver, reads, context))
        except Exception as exc:  # e.g. a peer's API changed: reported, not fatal
            error = exc

            def fail(_arg: object, error: Exception = error) -> None:
                raise error

            impls.append(Impl(adapter.name, fail, lambda: None))
    copy = Impl("copy", bytearray, lambda: data, expect=data)
    nbytes = sum(map(len, messages))
    label = "16 MiB" if name == "file" and not quick else "1 MiB" if name == "file" else f"{len(messages)} messages"
    return Case("scenario", name, label, nbytes, nbytes, len(messages), [*impls, *patched, copy], workload.description)
