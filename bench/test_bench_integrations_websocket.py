"""websocket-client (import name ``websocket``), unpatched and patched by ``fastframe.patch("websocket")``, in one run.

* ``websocket-client validate_utf8 64KiB mixed``: ``websocket._utils.validate_utf8``
  on 64 KiB of mixed-script text (what it runs on every text message and
  close reason it receives). The issue's target: patched (fastframe-cython)
  at least 50x faster than websocket-client's own (pure Python) validator.
* ``websocket-client validate_utf8 30B token``: the same on one 30-byte AI token.
* ``websocket-client ABNF.mask 16B`` / ``1KiB`` / ``64KiB``: ``ABNF.mask(key, data)``,
  which masks every frame it sends and unmasks masked frames it receives.
* ``websocket-client recv 1000 tokens``: its receive path (``frame_buffer.recv_frame``,
  then ``continuous_frame`` as ``WebSocket.recv_data_frame`` runs it) on 1000
  unmasked text frames of 1-30 bytes from a buffer; reported per frame.

Implementations: ``websocket-client`` (its own code without wsaccel, the
pure-Python fallback it runs by default), ``websocket-client+wsaccel`` (its
code with wsaccel's C routines, which it uses when wsaccel is installed;
in all of it), and ``websocket-client+fastframe-cython`` /
``-python`` (patched, on each fastframe backend). The unpatched copies are
private copies of websocket-client's modules, executed with wsaccel hidden
or not, so the installed modules are never changed by the benchmark.
"""

from __future__ import annotations

import array
import importlib
import importlib.util
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any
from unittest import mock

import pytest

from _support import (
    MASK,
    _missing,
    encode_frame,
    label,
    patched,
    peer,
    random_bytes,
    run_fresh,
    text,
    tokens,
)

OP_TEXT = 0x1
N_FRAMES = 1000
IMPLS = (
    "websocket-client",
    "websocket-client+wsaccel",
    "websocket-client+fastframe-cython",
    "websocket-client+fastframe-python",
)
_HIDE_WSACCEL = {"wsaccel": None, "wsaccel.xormask": None, "wsaccel.utf8validator": None}


def _private_copy(name: str, *, wsaccel: bool) -> ModuleType:
    """websocket-client's module ``name`` executed again under another name, with or without wsaccel."""
    real = peer(name)
    spec = importlib.util.spec_from_file_location(f"_bench_{name}_{wsaccel}", real.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "websocket"  # its relative imports find the installed package
    with mock.patch.dict(sys.modules, {} if wsaccel else _HIDE_WSACCEL):
        spec.loader.exec_module(module)
    return module


@pytest.fixture
def modules(request: pytest.FixtureRequest) -> Iterator[tuple[ModuleType, ModuleType]]:
    """``(websocket._utils, websocket._abnf)`` as ``impl`` has them."""
    impl = request.node.callspec.params["impl"]
    with patched(impl, "websocket") as on:
        if on:
            utils, abnf = peer("websocket._utils"), peer("websocket._abnf")
            assert utils.validate_utf8.__module__ == "fastframe.integrations.websocket"
            yield utils, abnf
            return
        wsaccel = impl.endswith("wsaccel")
        if wsaccel and importlib.util.find_spec("wsaccel") is None:
            _missing("wsaccel is not installed")
        utils = _private_copy("websocket._utils", wsaccel=wsaccel)
        abnf = _private_copy("websocket._abnf", wsaccel=wsaccel)
        # The copy of _abnf validates with the copy of _utils, not the installed one.
        abnf.validate_utf8 = utils.validate_utf8
        yield utils, abnf


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize(("case", "size"), [("64KiB mixed", 65536), ("30B token", 30)])
def test_validate_utf8(benchmark: Any, impl: str, modules: Any, case: str, size: int) -> None:
    """``validate_utf8`` on valid mixed-script text."""
    utils, _ = modules
    data = text("mixed", size)
    assert utils.validate_utf8(data) is True
    assert utils.validate_utf8(data[:-1] + b"\xff") is False, "the validator accepts invalid UTF-8"
    label(benchmark, f"websocket-client validate_utf8 {case}", impl, nbytes=len(data))
    benchmark(utils.validate_utf8, data)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize(("case", "size"), [("16B", 16), ("1KiB", 1024), ("64KiB", 65536)])
def test_mask(benchmark: Any, impl: str, modules: Any, case: str, size: int) -> None:
    """``ABNF.mask(key, data)`` (what ``ABNF.format`` calls for every frame sent)."""
    _, abnf = modules
    data = random_bytes(size)
    expected = bytes(b ^ MASK[i % 4] for i, b in enumerate(data))
    assert abnf.ABNF.mask(MASK, data) == expected, "masked wrongly"
    assert abnf._mask(array.array("B", MASK), array.array("B", data)) == expected
    label(benchmark, f"websocket-client ABNF.mask {case}", impl, nbytes=size)
    benchmark(abnf.ABNF.mask, MASK, data)


@pytest.mark.parametrize("impl", IMPLS)
def test_receive_tokens(benchmark: Any, request: pytest.FixtureRequest, impl: str, modules: Any) -> None:
    """A client receives 1000 unmasked 1-30 byte text frames (an AI response) through websocket-client's path."""
    _, abnf = modules
    expected = tokens(30 * N_FRAMES)[:N_FRAMES]
    data = b"".join(encode_frame(OP_TEXT, token, mask=None) for token in expected)

    def setup() -> Any:
        position = [0]

        def recv(bufsize: int) -> bytes:
            # A socket that holds the whole stream: recv returns what is asked, at most.
            start = position[0]
            position[0] = start + bufsize
            return data[start : start + bufsize]

        return abnf.frame_buffer(recv, False), abnf.continuous_frame(False, False)

    def receive(state: Any) -> list[bytes]:
        frames, cont = state
        out = []
        for _ in range(N_FRAMES):
            frame = frames.recv_frame()
            cont.validate(frame)
            cont.add(frame)
            if cont.is_fire(frame):
                out.append(cont.extract(frame)[1].data)
        return out

    assert receive(setup()) == expected, "the frames were read wrongly"
    label(benchmark, f"websocket-client recv {N_FRAMES} tokens", impl, nbytes=len(data), frames=N_FRAMES)
    run_fresh(benchmark, request.config, receive, setup)
