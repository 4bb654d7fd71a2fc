"""Tests for ``fastframe.integrations.websocket``: websocket-client (import name ``websocket``), faster.

- Differential: random and mutated texts through websocket-client's UTF-8
  validators, random keys and payloads through its masks, and random and
  mutated frame streams, cut in random chunks, through its own receive path
  (``frame_buffer.recv_frame`` and ``continuous_frame``), unpatched and
  patched: the same results, frames and exceptions.
- Its UTF-8 semantics: a truncated final sequence is valid, as its state machine says.
- The patch survives ``importlib.reload`` of ``websocket._abnf`` and a fresh
  import of ``websocket._utils`` (its own tests do both), and unpatch leaves
  the reloaded module's own functions.
- Patch/unpatch round trip, import order (fresh interpreters), version refusal.
- An echo over loopback, a websocket-client client and a tornado server.

websocket-client's own test suite runs patched with ``python -m fastframe.testing.peer websocket``.
"""

from __future__ import annotations

import array
import importlib
import importlib.metadata
import sys
import textwrap
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from support.chunking import cut
from support.encoder import mask
from support.integration import ECHO_MESSAGES, FRAGMENTED_MESSAGES, PatchCheck, run_fresh
from support.strategies import byte_mutations, keys, streams, texts
from support.tornado_echo import echo
from support.utf8_oracle import utf8_extendable

# Where the test extra is not installed (the wheel builds' smoke test).
pytest.importorskip("websocket")
pytest.importorskip("tornado")

from websocket import _abnf, _exceptions, _utils

from fastframe.integrations import websocket as integration

#: What the patch replaces, as websocket-client defines it.
ORIGINALS = {
    (_utils, "_validate_utf8"): _utils._validate_utf8,
    (_utils, "validate_utf8"): _utils.validate_utf8,
    (_abnf, "validate_utf8"): _abnf.validate_utf8,
    (_abnf, "_mask"): _abnf._mask,
    (_abnf.ABNF, "mask"): _abnf.ABNF.__dict__["mask"],
}


def _no_import_hook() -> None:
    assert not any(isinstance(finder, integration._Reapply) for finder in sys.meta_path)


PATCH = PatchCheck(integration, ORIGINALS, "websocket-client", clean=_no_import_hook)
_unpatched = PATCH.unpatched_fixture()
patched = PATCH.patched


def _outcome(function: Any, *args: Any) -> Any:
    try:
        result = function(*args)
    except Exception as exc:
        return ("raised", type(exc), str(exc))
    return (type(result), result)


SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)

#: Texts, their bytes cut anywhere, mutated, or random bytes.
utf8_inputs = st.one_of(
    texts.map(str.encode),
    texts.map(str.encode).flatmap(lambda data: st.integers(0, len(data)).map(lambda end: data[:end])),
    texts.map(str.encode).flatmap(byte_mutations),
    st.binary(max_size=40),
)


def _validators() -> list[Any]:
    return [_utils.validate_utf8, _utils._validate_utf8, _abnf.validate_utf8]


@SETTINGS
@given(data=utf8_inputs, as_bytearray=st.booleans())
def test_utf8_validation_gives_the_same_answers(backend, data, as_bytearray):
    value = bytearray(data) if as_bytearray else data
    expected = [_outcome(validator, value) for validator in _validators()]
    with patched(backend):
        got = [_outcome(validator, value) for validator in _validators()]
    assert got == expected
    # websocket-client's answer is "can this still become UTF-8": the oracle's.
    assert expected[0] == (bool, utf8_extendable(data))


@pytest.mark.parametrize(
    ("data", "valid"),
    [
        (b"", True),
        (b"\xe2\x82", True),  # a truncated euro sign: valid for websocket-client
        (b"abc\xf0\x9f\x99", True),  # a truncated emoji at the end
        (b"\xf4\x8f\xbf", True),  # the start of U+10FFFF
        (b"\xe2\x82abc", False),  # truncated, then more: invalid
        (b"\xed\xa0", False),  # a surrogate, caught at its second byte
        (b"\xf4\x90", False),  # above U+10FFFF
        (b"\xc0\xaf", False),  # overlong
        (b"\xff", False),
        ("κόσμε", True),  # a str is encoded first
        ("\ud800", False),  # a lone surrogate, encoded with surrogatepass
        (b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5" * 10000, True),  # SIMD-sized
        (b"\xce\xba" * 10000 + b"\xce", True),
        (b"\xce\xba" * 10000 + b"\xce\xce", False),
    ],
)
def test_utf8_edges(backend, data, valid):
    expected = [_outcome(validator, data) for validator in _validators()[::2]]
    if isinstance(data, str) and expected[0][0] == "raised":
        # Without wsaccel, websocket-client's own validator takes bytes only
        # (it raises on a str): the patched one must raise the same way.
        assert expected[0][1] is ValueError
    else:
        assert expected == [(bool, valid), (bool, valid)]
    with patched(backend):
        assert [_outcome(validator, data) for validator in _validators()[::2]] == expected
        if not isinstance(data, str):
            assert _utils._validate_utf8(data) is valid


@SETTINGS
@given(key=keys, data=st.binary(max_size=300), as_str=st.booleans())
def test_masks_give_the_same_bytes(backend, key, data, as_str):
    mask_key: Any = key.decode("latin-1") if as_str else key
    payload: Any = data.decode("latin-1") if as_str else data
    expected = (_abnf.ABNF.mask(mask_key, payload), _abnf._mask(array.array("B", key), array.array("B", data)))
    with patched(backend):
        got = (_abnf.ABNF.mask(mask_key, payload), _abnf._mask(array.array("B", key), array.array("B", data)))
        frame = _abnf.ABNF(1, 0, 0, 0, _abnf.ABNF.OPCODE_BINARY, 1, data)
        frame.get_mask_key = lambda n: key
        formatted = frame.format()
    assert got == expected
    assert [type(out) for out in got] == [bytes, bytes]
    assert got[0] == mask(data, key)
    assert formatted.endswith(key + mask(data, key))


@pytest.mark.parametrize(
    ("key", "data"),
    [(b"abc", b"hello"), (b"abcde", b"hello"), ([1, 2, 3, 4], [5, 6, 7]), (b"abcd", None), (b"abcd", "h\xe9")],
)
def test_masks_leave_odd_input_to_websocket_client(backend, key, data):
    expected = _outcome(_abnf.ABNF.mask, key, data)
    with patched(backend):
        assert _outcome(_abnf.ABNF.mask, key, data) == expected


class _Closed(Exception):
    """The scripted socket has no more bytes."""


def trace(data: bytes, sizes: list[int], *, skip_utf8: bool, fire_cont: bool) -> list[Any]:
    """What websocket-client's receive path reads from ``data`` (as ``WebSocket.recv_data_frame`` does)."""
    pieces = list(cut(data, sizes))

    def recv(bufsize: int) -> bytes:
        if not pieces:
            raise _Closed
        piece = pieces.pop(0)
        if len(piece) > bufsize:
            pieces.insert(0, piece[bufsize:])
            piece = piece[:bufsize]
        return piece

    frames = _abnf.frame_buffer(recv, skip_utf8)
    cont = _abnf.continuous_frame(fire_cont, skip_utf8)
    events: list[Any] = []
    for _ in range(64):
        try:
            frame = frames.recv_frame()
            events.append(("frame", frame.fin, frame.opcode, frame.data))
            if frame.opcode in (_abnf.ABNF.OPCODE_TEXT, _abnf.ABNF.OPCODE_BINARY, _abnf.ABNF.OPCODE_CONT):
                cont.validate(frame)
                cont.add(frame)
                if cont.is_fire(frame):
                    opcode, message = cont.extract(frame)
                    events.append(("message", opcode, message.data))
        except _Closed:
            events.append("closed")
            break
        except (_exceptions.WebSocketException, ValueError, TypeError) as exc:
            events.append((type(exc), str(exc)))
            break
    return events


@SETTINGS
@given(
    data=st.data(),
    sizes=st.lists(st.integers(1, 48), max_size=12),
    skip_utf8=st.booleans(),
    fire_cont=st.booleans(),
    masked=st.booleans(),
)
def test_frame_streams_give_the_same_frames_and_errors(backend, data, sizes, skip_utf8, fire_cont, masked):
    # websocket-client is a client, but unmasks masked frames too: both kinds of stream.
    stream = data.draw(streams(client=not masked))
    expected = trace(stream, sizes, skip_utf8=skip_utf8, fire_cont=fire_cont)
    with patched(backend):
        got = trace(stream, sizes, skip_utf8=skip_utf8, fire_cont=fire_cont)
    assert got == expected


def test_patch_and_unpatch_restore_the_exact_objects(backend):
    PATCH.check_round_trip(backend)


@pytest.fixture
def _restores_modules() -> Iterator[None]:
    """Give later tests back websocket-client's _abnf and _utils as they were, whatever the test reloads."""
    saved = dict(vars(_abnf))
    try:
        yield
    finally:
        sys.modules["websocket._utils"] = _utils
        vars(_abnf).update(saved)


@pytest.mark.usefixtures("_restores_modules")
def test_the_patch_survives_reloads_and_reimports(backend):
    with patched(backend):
        # As websocket-client's test_abnf does: reload _abnf without wsaccel.
        with mock.patch.dict(sys.modules, {"wsaccel": None, "wsaccel.xormask": None}):
            reloaded = importlib.reload(_abnf)
        assert reloaded is _abnf
        fresh_mask = _abnf._mask.__wrapped__
        assert fresh_mask is not ORIGINALS[_abnf, "_mask"]  # defined again by the reload
        assert getattr(_abnf._mask, "_fastframe", False)
        assert getattr(_abnf.ABNF.mask, "_fastframe", False)
        assert getattr(_abnf.validate_utf8, "_fastframe", False)
        assert _abnf.ABNF.mask(b"\x01\x02\x03\x04", b"\x05\x06\x07\x08\t") == b"\x04\x04\x04\x0c\x08"
        # As its test_utils does: a fresh import of _utils.
        del sys.modules["websocket._utils"]
        fresh_utils = importlib.import_module("websocket._utils")
        assert fresh_utils is not _utils
        assert getattr(fresh_utils._validate_utf8, "_fastframe", False)
        assert fresh_utils.validate_utf8(b"\xe2\x82") is True
    # Unpatched, each module has what its latest execution defined.
    assert _abnf._mask is fresh_mask
    assert not getattr(_abnf.ABNF.mask, "_fastframe", False)
    assert not getattr(_abnf.validate_utf8, "_fastframe", False)
    assert not getattr(fresh_utils._validate_utf8, "_fastframe", False)
    assert not getattr(fresh_utils.validate_utf8, "_fastframe", False)
    assert not any(isinstance(finder, integration._Reapply) for finder in sys.meta_path)
    # Reloaded after unpatch, nothing of fastframe comes back.
    sys.modules["websocket._utils"] = _utils
    importlib.reload(_abnf)
    assert not getattr(_abnf._mask, "_fastframe", False)
    assert _abnf.validate_utf8 is ORIGINALS[_utils, "validate_utf8"]


@pytest.mark.parametrize("version", ["0.59.0", "2.0.0"])
def test_unsupported_versions_are_refused_and_nothing_is_patched(backend, monkeypatch, version):
    PATCH.check_refused(backend, monkeypatch, version, ">=1.0,<2")


IMPORT_ORDER = textwrap.dedent(
    """
    import sys
    order = sys.argv[1]
    if order == "before":
        import websocket
    import fastframe
    assert fastframe.patch("websocket") == ("websocket",)
    assert fastframe.BACKEND == sys.argv[2], fastframe.BACKEND
    if order == "after":
        import websocket
    from websocket._abnf import ABNF, frame_buffer
    print(ABNF.mask.__module__)
    data = [b"\\x81\\x02\\xc3\\x28"]
    try:
        frame_buffer(lambda n: data.pop(0), False).recv_frame()
    except websocket.WebSocketProtocolException as exc:
        print(exc)
    """
)


@pytest.mark.parametrize("order", ["before", "after"])
def test_patch_takes_effect_whatever_the_import_order(backend, order):
    output = run_fresh(IMPORT_ORDER, backend, order)
    # A text frame's payload is not validated by recv_frame; the invalid
    # close-reason check is, and an invalid text frame is a message error.
    assert output.splitlines()[0] == "fastframe.integrations.websocket"


MESSAGES = [*ECHO_MESSAGES, *FRAGMENTED_MESSAGES]


@pytest.mark.parametrize("compression", [False, True], ids=["plain", "permessage-deflate"])
def test_echo_over_loopback(backend, compression):
    expected = echo(MESSAGES, compression=compression)
    assert len(expected[0]) == len(MESSAGES) + 2
    assert expected[1][-2:] == [("ping", b"are you there"), ("close", 1000, "done")]
    with patched(backend):
        got = echo(MESSAGES, compression=compression)
    assert got == expected
