"""wsaccel's API on fastframe: stateful maskers and an incremental UTF-8 validator.

Code written for wsaccel (``from wsaccel.xormask import createXorMasker``)
can import the same names from here::

    from fastframe.compat.wsaccel import XorMaskerSimple, Utf8Validator

- ``XorMaskerNull(mask=None)`` and ``XorMaskerSimple(mask)``: maskers
  (RFC 6455 §5.3) that remember how many bytes they have processed, so a
  payload can be (un)masked in pieces; ``process(data) -> bytes``,
  ``pointer()`` (bytes processed so far), ``reset()``.  ``createXorMasker(mask,
  length=None)`` returns an ``XorMaskerSimple``; ``create_xor_masker`` is the
  same under autobahn's name.
- ``Utf8Validator``: ``validate(data)`` returns the quadruple of autobahn's
  and wsaccel's validators, ``(valid, ends_on_codepoint, current_index,
  total_index)``: once a byte makes the stream invalid (RFC 3629 §4), the
  first is False and the indexes point at that byte, in the chunk and in the
  whole stream, and it stays invalid until ``reset()``.
- ``patch_autobahn()`` and ``patch_ws4py()``: wsaccel's helpers, here
  :func:`fastframe.integrations.autobahn.patch` and
  :func:`fastframe.integrations.ws4py.patch`, which rebind the names the
  current releases look up.

The classes are built on the backend ``import fastframe`` selects; the same
results on either.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Optional

from .._backend import select_backend

__all__ = [
    "Utf8Validator",
    "XorMaskerNull",
    "XorMaskerSimple",
    "createXorMasker",
    "create_xor_masker",
    "patch_autobahn",
    "patch_ws4py",
]


def _build(api: Any, *, key_error: type[Exception] = ValueError) -> SimpleNamespace:
    """wsaccel's classes on ``api`` (a fastframe backend namespace).

    ``key_error`` is what a masking key that is not 4 bytes long raises:
    ``ValueError`` as in wsaccel, ``AssertionError`` as in autobahn.
    """
    apply_mask = api.apply_mask
    validator_type = api.Utf8Validator

    class XorMaskerNull:
        """A masker for unmasked frames: ``process()`` returns its input and counts it."""

        __slots__ = ("_ptr",)

        def __init__(self, mask: Optional[bytes] = None) -> None:
            self._ptr = 0

        def pointer(self) -> int:
            """How many bytes were processed since creation or :meth:`reset`."""
            return self._ptr

        def reset(self) -> None:
            """Start a new payload."""
            self._ptr = 0

        def process(self, data: Any) -> Any:
            """Return ``data`` as it is (an unmasked frame, RFC 6455 §5.1)."""
            self._ptr += len(data)
            return data

    class XorMaskerSimple:
        """Masks a payload processed in pieces (RFC 6455 §5.3), on fastframe's ``apply_mask``."""

        __slots__ = ("_key", "_ptr")

        def __init__(self, mask: Any) -> None:
            key = mask if type(mask) is bytes else bytes(mask)
            if len(key) != 4:
                raise key_error("mask should be 4byte.")
            self._key = key
            self._ptr = 0

        def pointer(self) -> int:
            """How many bytes were processed since creation or :meth:`reset`."""
            return self._ptr

        def reset(self) -> None:
            """Start a new payload: the next byte is masked with the key's first byte."""
            self._ptr = 0

        def process(self, data: Any) -> bytes:
            """(Un)mask the next piece of the payload; any C-contiguous buffer in, bytes out."""
            ptr = self._ptr
            key = self._key
            phase = ptr & 3
            if phase:
                # The piece starts mid-key: rotate it rather than build all four
                # rotations per masker, since most frames arrive in one piece.
                key = key[phase:] + key[:phase]
            out: bytes = apply_mask(data, key)
            self._ptr = ptr + len(out)
            return out

    def createXorMasker(mask: Any, length: Optional[int] = None) -> XorMaskerSimple:
        """A masker for a payload of ``length`` bytes (the length is not needed: one masker fits all)."""
        return XorMaskerSimple(mask)

    class Utf8Validator:
        """Incremental UTF-8 validation (RFC 3629 §4) with autobahn's and wsaccel's results."""

        __slots__ = ("_validator",)

        def __init__(self) -> None:
            self._validator = validator_type()

        def reset(self) -> None:
            """Start a new stream."""
            self._validator.reset()

        def validate(self, data: Any) -> tuple[bool, bool, int, int]:
            """Validate the next chunk of the stream.

            Returns:
                ``(valid, ends_on_codepoint, current_index, total_index)``:
                valid, the stream so far is (or can still become) valid UTF-8;
                then whether it ends on a code point boundary, ``len(data)``
                and the bytes validated since :meth:`reset`.  Invalid: False,
                False, and the position of the first invalid byte in ``data``
                and in the stream (0 and unchanged once it was invalid before).
            """
            validator = self._validator
            before = validator.accepted
            if not len(data):
                # Nothing to read: the DFA keeps its state, and says "valid" even after a failure.
                return True, validator.finish(), 0, before
            if validator.feed(data):
                total = validator.accepted
                return True, validator.finish(), total - before, total
            total = validator.accepted
            return False, False, total - before, total

    return SimpleNamespace(
        XorMaskerNull=XorMaskerNull,
        XorMaskerSimple=XorMaskerSimple,
        createXorMasker=createXorMasker,
        Utf8Validator=Utf8Validator,
    )


_classes = _build(select_backend())
XorMaskerNull: Any = _classes.XorMaskerNull
XorMaskerSimple: Any = _classes.XorMaskerSimple
createXorMasker: Any = _classes.createXorMasker
create_xor_masker: Any = _classes.createXorMasker
Utf8Validator: Any = _classes.Utf8Validator


def patch_autobahn() -> bool:
    """Make autobahn's WebSocket protocol mask and validate with fastframe (RFC 6455 §5.3, §8.1).

    Returns:
        True if this call patched autobahn, False if it already was.

    Raises:
        IntegrationError: autobahn is not installed, or not at a supported version.
    """
    from ..integrations import autobahn

    return autobahn.patch()


def patch_ws4py() -> bool:
    """Make ws4py's frames mask and its stream validate UTF-8 with fastframe (RFC 6455 §5.3, §8.1).

    Returns:
        True if this call patched ws4py, False if it already was.

    Raises:
        IntegrationError: ws4py is not installed, or not at a supported version.
    """
    from ..integrations import ws4py

    return ws4py.patch()
