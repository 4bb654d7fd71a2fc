"""fastframe under ws4py: ``Frame.mask`` / ``Frame.unmask`` and its stream's UTF-8 validator.

ws4py (``ws4py.framing``, ``ws4py.streaming``) masks and unmasks payloads one
byte at a time in Python, and validates text with a pure-Python DFA, one byte
at a time too.  The patch replaces:

- ``Frame.mask`` and ``Frame.unmask`` (one function, as in ws4py) with
  fastframe's ``mask_inplace`` on a ``bytearray`` copy: the same
  ``bytearray`` out, masked with the first 4 bytes of ``masking_key`` as
  ws4py's loop does (RFC 6455 §5.3).  A key ws4py's loop would trip over
  (shorter than 4 bytes, ``None``, not bytes) goes to ws4py's own method, so
  it fails as it does there.
- ``Utf8Validator`` in ``ws4py.streaming`` (which looks it up by name for
  every stream) with a validator on fastframe's ``Utf8Validator`` returning
  ws4py's quadruple exactly, including its indexes: on a valid chunk
  ``current_index`` is ``len(data) - 1`` (0 for an empty one) and
  ``total_index`` adds that up, as its ``enumerate`` loop leaves them.
  ``ws4py.utf8validator.Utf8Validator`` stays: its own methods read their
  DFA table through that module-level name.

ws4py's asyncio module (``ws4py.async_websocket``) does not import on Python
3.11+ (it uses ``asyncio.coroutine``); its threaded client, its WSGI server
and the sans-I/O ``Stream`` do, and use the patched code.
"""

from __future__ import annotations

from typing import Any

from . import _patching

__all__ = ["SUPPORTED_VERSIONS", "PATCHED_BY_DEFAULT", "patch", "unpatch", "is_patched"]


def _build(api: Any, original_mask: Any, dfa_validator: type) -> tuple[Any, type]:
    """The replacement ``Frame.mask`` and ``Utf8Validator`` on ``api``'s functions."""
    mask_inplace = api.mask_inplace
    validator_type = api.Utf8Validator

    def mask(self: Any, data: Any) -> Any:
        """Mask or unmask ``data`` with the frame's key (RFC 6455 §5.3); a new ``bytearray``."""
        key = self.masking_key
        if type(key) not in (bytes, bytearray) or len(key) < 4:
            return original_mask(self, data)
        masked = bytearray(data)
        mask_inplace(masked, key if len(key) == 4 else key[:4])
        return masked

    class Utf8Validator:
        """ws4py's incremental UTF-8 validator (RFC 3629 §4), on fastframe's."""

        UTF8_ACCEPT = dfa_validator.UTF8_ACCEPT  # type: ignore[attr-defined]
        UTF8_REJECT = dfa_validator.UTF8_REJECT  # type: ignore[attr-defined]

        __slots__ = ("_validator", "i")

        def __init__(self) -> None:
            self._validator = validator_type()
            self.i = 0

        def reset(self) -> None:
            """Start a new stream."""
            self._validator.reset()
            self.i = 0

        def validate(self, ba: Any) -> tuple[bool, bool, int, int]:
            """Validate the next chunk: ``(valid, ends_on_codepoint, current_index, total_index)`` as ws4py's."""
            validator = self._validator
            length = len(ba)
            if not length:
                return True, validator.finish(), 0, self.i
            before = validator.accepted
            if validator.feed(ba):
                # ws4py's loop leaves its index at the last byte, not past it.
                self.i += length - 1
                return True, validator.finish(), length - 1, self.i
            index = validator.accepted - before
            self.i += index
            return False, False, index, self.i

    return mask, Utf8Validator


def _apply(patches: _patching.PatchSet) -> None:
    framing, streaming, utf8validator = _patching.import_modules(
        "ws4py.framing", "ws4py.streaming", "ws4py.utf8validator"
    )
    frame = framing.Frame
    original = frame.__dict__["mask"]
    mask, validator = _build(_patching.api(), original, utf8validator.Utf8Validator)
    patches.replace(frame, "mask", mask)
    patches.replace(frame, "unmask", mask)
    patches.replace(streaming, "Utf8Validator", validator)


_integration = _patching.Integration("ws4py", "0.6", "0.7", _apply)

#: The ws4py releases this integration supports.
SUPPORTED_VERSIONS: str = _integration.supported_versions

#: Whether fastframe.patch() with no names patches ws4py: yes, its masking and
#: validation are pure Python (bench/test_bench_integrations_ws4py.py).
PATCHED_BY_DEFAULT = True


def patch() -> bool:
    """Make ws4py mask (RFC 6455 §5.3) and validate UTF-8 (§8.1) with fastframe.

    Returns:
        True if this call patched ws4py, False if it already was.

    Raises:
        IntegrationError: ws4py is not installed, or not at a supported version.
    """
    return _integration.patch()


def unpatch() -> bool:
    """Restore ws4py's own ``Frame.mask``, ``Frame.unmask`` and ``Utf8Validator``; True if it was patched."""
    return _integration.unpatch()


def is_patched() -> bool:
    """Whether ws4py is patched now."""
    return _integration.is_patched()
