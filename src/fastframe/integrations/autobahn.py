"""fastframe under autobahn: its WebSocket protocol's maskers and UTF-8 validator.

autobahn's ``WebSocketProtocol`` (``autobahn.websocket.protocol``, behind its
asyncio and Twisted transports) unmasks each received frame with a stateful
masker from ``create_xor_masker(mask, length)`` -- its ``pointer()`` tells
the protocol how much of the frame's payload has arrived -- and validates
text with an incremental ``Utf8Validator``.  Both are CFFI calls into its NVX
C code when that was built, else pure Python.  The patch rebinds
``create_xor_masker``, ``XorMaskerNull`` and ``Utf8Validator`` where the
protocol looks them up (``autobahn.websocket.protocol`` imports them by name)
and where they are defined (``autobahn.websocket.xormasker``,
``autobahn.websocket.utf8validator``), with the classes of
:mod:`fastframe.compat.wsaccel` built on fastframe's ``apply_mask`` and
``Utf8Validator``.

Behaviour is autobahn's own: maskers return ``bytes`` and count the bytes
they processed, a key that is not 4 bytes long fails its assertion, and
``validate()`` returns its quadruple ``(valid, ends_on_codepoint,
current_index, total_index)`` as its pure-Python DFA does (RFC 3629 §4,
failing at the first byte that cannot start or continue a code point).
Frame parsing stays autobahn's code.
"""

from __future__ import annotations

from ..compat.wsaccel import _build
from . import _patching

__all__ = ["SUPPORTED_VERSIONS", "PATCHED_BY_DEFAULT", "patch", "unpatch", "is_patched"]


def _apply(patches: _patching.PatchSet) -> None:
    protocol, xormasker, utf8validator = _patching.import_modules(
        "autobahn.websocket.protocol", "autobahn.websocket.xormasker", "autobahn.websocket.utf8validator"
    )
    classes = _build(_patching.api(), key_error=AssertionError)
    for module in (protocol, xormasker):
        patches.replace(module, "create_xor_masker", classes.createXorMasker)
        patches.replace(module, "XorMaskerNull", classes.XorMaskerNull)
    for module in (protocol, utf8validator):
        patches.replace(module, "Utf8Validator", classes.Utf8Validator)


_integration = _patching.Integration("autobahn", "26.1", "27", _apply)

#: The autobahn releases this integration supports.
SUPPORTED_VERSIONS: str = _integration.supported_versions

#: Whether fastframe.patch() with no names patches autobahn: yes, its maskers and
#: validator are faster than autobahn's NVX ones (bench/test_bench_integrations_autobahn.py).
PATCHED_BY_DEFAULT = True


def patch() -> bool:
    """Make autobahn's WebSocket protocol unmask (RFC 6455 §5.3) and validate UTF-8 (§8.1) with fastframe.

    Returns:
        True if this call patched autobahn, False if it already was.

    Raises:
        IntegrationError: autobahn is not installed, or not at a supported version.
    """
    return _integration.patch()


def unpatch() -> bool:
    """Restore autobahn's own maskers and validator; True if it was patched."""
    return _integration.unpatch()


def is_patched() -> bool:
    """Whether autobahn is patched now."""
    return _integration.is_patched()
