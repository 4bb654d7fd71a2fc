"""What the tests of every integration share.

Each ``tests/test_integrations_<library>.py`` names the objects its patch
replaces (``(module or class, attribute) -> the library's own object``) and
builds a :class:`PatchCheck` from them. The checks are the same for every
library: patching replaces each object and a second ``patch()`` is a no-op;
unpatching puts back the very same objects; a release outside
``SUPPORTED_VERSIONS`` is refused before anything is touched; the patch takes
effect whether the library was imported before or after it, in a fresh
interpreter. :data:`ECHO_MESSAGES` is what the echo tests send over loopback.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from types import ModuleType
from typing import Any

import pytest

from fastframe.integrations import IntegrationError, _patching
from support.encoder import encode_frame

#: Messages of every size class (RFC 6455 §5.2: 7-bit, 16-bit and 64-bit
#: lengths, on both sides of each boundary), empty ones, and text in several
#: scripts, emoji included. Random payloads differ from run to run.
ECHO_MESSAGES: list[Any] = [
    "hello",
    "",
    "héllo wörld — Ελληνικά, 日本語, русский",
    "🙂🚀👩‍💻" * 50,
    b"",
    bytes(range(256)) * 4,
    os.urandom(125),
    os.urandom(126),
    os.urandom(65535),
    os.urandom(65536),
    os.urandom(300_000),
]

#: Messages sent as fragments (RFC 6455 §5.4): a list of a message's pieces.
FRAGMENTED_MESSAGES: list[Any] = [["frag", "ment", "ed 🙂"], [b"\x01" * 10, b"\x02" * 70_000]]


def _masked(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    """A frame as a client sends it, masked (RFC 6455 §5.3), by the independent encoder."""
    return encode_frame(opcode, payload, fin=fin, key=b"\x37\xfa\x21\x3d")


#: Streams a server receives, each read patched and unpatched in chunks of
#: every size: large frames, a code point split across fragments, and the
#: UTF-8 errors (§8.1) a library must answer with 1007.
MASKED_STREAMS: list[Any] = [
    pytest.param(_masked(2, os.urandom(70_000)), id="big-binary"),
    pytest.param(_masked(1, "héllo wörld 🙂".encode() * 3000), id="big-text"),
    pytest.param(_masked(1, "🙂".encode()[:3], fin=False) + _masked(0, "🙂".encode()[3:]), id="split-emoji"),
    pytest.param(_masked(1, b"abc\xed\xa0\x80def"), id="surrogate"),
    pytest.param(_masked(1, b"ok", fin=False) + _masked(0, b"\xf4\x90\x80\x80"), id="above-u10ffff"),
    pytest.param(_masked(1, b"trunc\xe2\x82"), id="truncated"),
    pytest.param(_masked(8, b"\x03\xe8bad \xff"), id="close-reason-invalid"),
    pytest.param(_masked(9, b"ping") + _masked(8, b"\x03\xe8bye"), id="ping-close"),
]


def joined(message: Any) -> Any:
    """The message a list of fragments makes; any other message as it is."""
    if isinstance(message, list):
        return "".join(message) if isinstance(message[0], str) else b"".join(message)
    return message


def current(target: Any, name: str) -> Any:
    """What ``target`` holds under ``name``: a class's own attribute, not an inherited one."""
    return target.__dict__[name] if isinstance(target, type) else getattr(target, name)


class PatchCheck:
    """One integration module and the library objects its patch replaces.

    Args:
        integration: the ``fastframe.integrations`` module.
        originals: ``(module or class, attribute) -> object`` for everything
            the patch replaces, taken before any patch.
        distribution: the library's name on PyPI, as ``SUPPORTED_VERSIONS`` is checked.
        clean: an extra check that nothing of the patch is left (an import
            hook, say), run wherever the originals are checked.
    """

    def __init__(
        self,
        integration: ModuleType,
        originals: Mapping[tuple[Any, str], Any],
        distribution: str,
        clean: Callable[[], None] = lambda: None,
    ) -> None:
        self.integration = integration
        self.originals = dict(originals)
        self.distribution = distribution
        self.clean = clean

    def unpatched_fixture(self) -> Any:
        """An autouse fixture: each test starts unpatched and leaves nothing patched."""

        @pytest.fixture(autouse=True)
        def _unpatched() -> Iterator[None]:
            assert not self.integration.is_patched()
            yield
            self.integration.unpatch()

        return _unpatched

    @contextlib.contextmanager
    def patched(self, backend: Any) -> Iterator[None]:
        """The library patched on ``backend`` inside the block."""
        with _patching.using_backend(backend.name):
            assert self.integration.patch()
        try:
            yield
        finally:
            self.integration.unpatch()

    def assert_replaced(self) -> None:
        for (target, name), original in self.originals.items():
            assert current(target, name) is not original, name

    def assert_restored(self) -> None:
        for (target, name), original in self.originals.items():
            assert current(target, name) is original, name
        self.clean()

    @contextlib.contextmanager
    def round_trip(self, backend: Any) -> Iterator[None]:
        """Patch twice, check inside the block that every object is replaced; unpatch twice, check each is back.

        The second ``patch()`` and ``unpatch()`` must be no-ops that say so (return False).
        """
        with _patching.using_backend(backend.name):
            assert self.integration.patch() is True
            assert self.integration.patch() is False
        try:
            assert self.integration.is_patched()
            self.assert_replaced()
            yield
        finally:
            assert self.integration.unpatch() is True
        assert self.integration.unpatch() is False
        assert not self.integration.is_patched()
        self.assert_restored()

    def check_round_trip(self, backend: Any) -> None:
        """:meth:`round_trip` with nothing more to check inside."""
        with self.round_trip(backend):
            pass

    def check_refused(self, backend: Any, monkeypatch: pytest.MonkeyPatch, version: str, supported: str) -> None:
        """With the library's version reported as ``version``, ``patch()`` raises and touches nothing.

        ``supported`` is the range the test expects, written out: the error must name it.
        """
        real = importlib.metadata.version
        monkeypatch.setattr(
            importlib.metadata, "version", lambda name: version if name == self.distribution else real(name)
        )
        with (
            _patching.using_backend(backend.name),
            pytest.raises(IntegrationError, match=re.escape(self.distribution + supported)),
        ):
            self.integration.patch()
        assert not self.integration.is_patched()
        self.assert_restored()
        assert self.integration.SUPPORTED_VERSIONS == supported


def run_fresh(script: str, backend: Any, *args: str) -> str:
    """Run ``script`` in a fresh interpreter on ``backend`` with ``args`` after ``backend.name``; return its output.

    The script sees ``sys.argv[1:] == [*args, backend.name]``.
    """
    env = {key: value for key, value in os.environ.items() if key != "FASTFRAME_NO_EXTENSIONS"}
    if backend.name == "python":
        env["FASTFRAME_NO_EXTENSIONS"] = "1"
    result = subprocess.run(
        [sys.executable, "-c", script, *args, backend.name],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout
