"""fastframe under websocket-client (import name ``websocket``): its mask and its UTF-8 validation.

websocket-client (the ``websocket-client`` distribution, imported as
``websocket``; ``fastframe.patch("websocket")``) masks every frame it sends,
and unmasks what it receives, by copying both key and payload into
``array.array`` objects and XORing them as two big integers (or with wsaccel
when that is installed); it validates the UTF-8 of every text message and
close reason with a byte-at-a-time state machine in Python
(``websocket._utils._validate_utf8``).  The patch replaces:

- ``websocket._abnf.ABNF.mask`` and ``websocket._abnf._mask`` with fastframe's
  ``apply_mask`` behind websocket-client's signatures: a ``str`` key or
  payload is encoded to Latin-1 first, as it does; what fastframe refuses (a
  key that is not 4 bytes, a list of ints) goes to the function replaced, so
  its results and errors for those are its own.
- ``validate_utf8`` (in ``websocket._utils`` and, imported by name, in
  ``websocket._abnf``) and ``websocket._utils._validate_utf8`` with
  fastframe's validators, keeping websocket-client's semantics exactly: the
  result is False only if the bytes can no longer be valid UTF-8 (RFC 3629
  §4), so data that stops inside an unfinished but possible sequence
  (``b"\\xe2\\x82"``) is valid, as its state machine, which returns on the
  last byte without checking that it ended in its accepting state, says.
  A ``str`` is encoded with ``surrogatepass`` first, by its own code.

Frame reading (``websocket._abnf.frame_buffer``) is left as it is: it reads
each header, key and payload with its own ``recv`` call on the socket, so the
time per frame is in those calls and in websocket-client's own Python, not
in work fastframe does faster (bench/test_bench_integrations_websocket.py
measures the receive path patched and unpatched).

websocket-client's own tests reload ``websocket._abnf`` (and re-import
``websocket._utils``), which would put its functions back: while patched, a
finder on ``sys.meta_path`` re-applies the patch to a module of websocket-client
whenever it is executed again, and :func:`unpatch` leaves each module with the
functions its latest execution defined.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any, Optional

from . import _patching

__all__ = ["SUPPORTED_VERSIONS", "PATCHED_BY_DEFAULT", "patch", "unpatch", "is_patched"]

#: The modules the patch touches, re-patched whenever they are executed again.
_MODULES = ("websocket._utils", "websocket._abnf")


def _build_validators(api: Any, original: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """websocket-client's UTF-8 check over ``api``: False only where no continuation could make it valid."""
    validate = api.validate_utf8
    validator = api.Utf8Validator

    def validate_utf8(utfbytes: Any) -> bool:
        """Whether ``utfbytes`` is UTF-8 or a truncation of it (RFC 3629 §4), as websocket-client decides.

        Args:
            utfbytes: the bytes of a text message or close reason (RFC 6455 §5.6, §7.1.6).

        Returns:
            False if some byte can no longer be part of valid UTF-8; True
            otherwise, also when the data ends inside an unfinished sequence.
        """
        kind = type(utfbytes)
        if kind is bytes or kind is bytearray:
            # Whole-data validation is the fast common case; only invalid data
            # needs the incremental validator's "still possible" answer.
            return bool(validate(utfbytes) or validator().feed(utfbytes))
        # A str (encoded by websocket-client's own code) or anything else.
        return original(utfbytes)

    validate_utf8.__wrapped__ = original  # type: ignore[attr-defined]
    validate_utf8._fastframe = True  # type: ignore[attr-defined]
    return validate_utf8


def _build_masks(api: Any, mask_array: Callable[[Any, Any], bytes], mask_method: Callable[[Any, Any], bytes]) -> Any:
    """websocket-client's ``_mask(mask, data)`` and ``ABNF.mask(mask_key, data)`` (RFC 6455 §5.3) over ``api``."""
    apply_mask = api.apply_mask

    def _mask(mask_value: Any, data_value: Any) -> bytes:
        """XOR ``data_value`` with the 4-byte ``mask_value`` (arrays of bytes, or any buffer) (RFC 6455 §5.3)."""
        try:
            return apply_mask(data_value, mask_value)  # type: ignore[no-any-return]
        except (TypeError, ValueError):
            return mask_array(mask_value, data_value)

    def mask(mask_key: Any, data: Any) -> bytes:
        """Mask or unmask ``data`` with ``mask_key`` (RFC 6455 §5.3), as ``ABNF.mask`` does.

        Args:
            mask_key: the 4-byte key, ``bytes`` or a Latin-1 ``str``.
            data: the payload, ``bytes`` or a Latin-1 ``str`` (``None`` is empty).

        Returns:
            The (un)masked payload.
        """
        if data is None:
            data = b""
        if isinstance(mask_key, str):
            mask_key = mask_key.encode("latin-1")
        if isinstance(data, str):
            data = data.encode("latin-1")
        try:
            return apply_mask(data, mask_key)  # type: ignore[no-any-return]
        except (TypeError, ValueError):
            # websocket-client's answer for what fastframe refuses (its array
            # conversion takes lists of ints; a short key is not an error there).
            return mask_method(mask_key, data)

    _mask.__wrapped__ = mask_array  # type: ignore[attr-defined]
    mask.__wrapped__ = mask_method  # type: ignore[attr-defined]
    _mask._fastframe = mask._fastframe = True  # type: ignore[attr-defined]
    return _mask, mask


def _own(function: Any) -> Any:
    """websocket-client's function behind one of ours (a reloaded ``_abnf`` imports our ``validate_utf8``)."""
    while getattr(function, "_fastframe", False):
        function = function.__wrapped__
    return function


def _patch_module(module: ModuleType, api: Any, replace: Callable[[Any, str, Any], None]) -> None:
    """Replace, in one of websocket-client's modules, what it defines that fastframe does faster."""
    if module.__name__ == "websocket._utils":
        replace(module, "_validate_utf8", _build_validators(api, _own(module._validate_utf8)))
        replace(module, "validate_utf8", _build_validators(api, _own(module.validate_utf8)))
    elif module.__name__ == "websocket._abnf":
        abnf = module.ABNF
        fast_array, fast_method = _build_masks(api, _own(module._mask), _own(abnf.__dict__["mask"].__func__))
        replace(module, "_mask", fast_array)
        replace(abnf, "mask", staticmethod(fast_method))
        replace(module, "validate_utf8", _build_validators(api, _own(module.validate_utf8)))


class _Loader(importlib.abc.Loader):
    """A websocket-client module's own loader, re-patching the module after it runs."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> Optional[ModuleType]:
        return self._loader.create_module(spec)  # type: ignore[no-any-return]

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        _Reapply.executed(module)

    def __getattr__(self, name: str) -> Any:
        # get_source, get_filename, is_package, resource readers: the real loader's.
        return getattr(self._loader, name)


class _Reapply(importlib.abc.MetaPathFinder):
    """Finds websocket-client's patched modules again for ``importlib.reload`` and re-imports.

    It asks the finders after it on ``sys.meta_path``, and wraps the loader
    they return, so the module is executed by its own loader and then
    patched again.  Other modules it leaves to the other finders.
    """

    #: The backend the patch was made with, while patched.
    api: Any = None
    #: What the re-executions of the modules defined, by (module, attribute): restored by unpatch.
    fresh: dict[tuple[int, str], tuple[Any, str, Any]] = {}  # noqa: RUF012  (one shared registry)

    def find_spec(
        self, fullname: str, path: Optional[Sequence[str]], target: Optional[ModuleType] = None
    ) -> Optional[importlib.machinery.ModuleSpec]:
        if fullname not in _MODULES or _Reapply.api is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and not isinstance(spec.loader, _Loader):
                    spec.loader = _Loader(spec.loader)
                return spec
        return None

    @staticmethod
    def executed(module: ModuleType) -> None:
        api = _Reapply.api
        if api is None:
            return  # executed after unpatch: websocket-client's own functions stay

        def replace(target: Any, name: str, value: Any) -> None:
            current = target.__dict__[name]
            if isinstance(current, staticmethod):
                current = staticmethod(_own(current.__func__))
            else:
                current = _own(current)
            _Reapply.fresh[id(target), name] = (target, name, current)
            setattr(target, name, value)

        _patch_module(module, api, replace)

    @staticmethod
    def restore() -> None:
        """After the patch set is undone: each re-executed module gets its latest definitions back."""
        for target, name, value in _Reapply.fresh.values():
            setattr(target, name, value)
        _Reapply.fresh.clear()


_FINDER = _Reapply()


class _Installed:
    """``installed``: whether the finder is on ``sys.meta_path``; a PatchSet target, so undo removes it."""

    @property
    def installed(self) -> bool:
        return _FINDER in sys.meta_path

    @installed.setter
    def installed(self, value: bool) -> None:
        if value and _FINDER not in sys.meta_path:
            sys.meta_path.insert(0, _FINDER)
        elif not value and _FINDER in sys.meta_path:
            sys.meta_path.remove(_FINDER)
            _Reapply.api = None


def _apply(patches: _patching.PatchSet) -> None:
    modules = _patching.import_modules(*_MODULES)
    api = _patching.api()
    for module in modules:
        _patch_module(module, api, patches.replace)
    _Reapply.api = api
    patches.replace(_Installed(), "installed", True)


_integration = _patching.Integration("websocket-client", "1.0", "2", _apply)

#: The websocket-client releases this integration supports.
SUPPORTED_VERSIONS: str = _integration.supported_versions

#: Whether fastframe.patch() with no names patches websocket-client: yes, its
#: masking and UTF-8 validation are faster patched
#: (bench/test_bench_integrations_websocket.py).
PATCHED_BY_DEFAULT = True


def patch() -> bool:
    """Make websocket-client mask (RFC 6455 §5.3) and validate UTF-8 (RFC 3629) with fastframe.

    Returns:
        True if this call patched websocket-client, False if it already was.

    Raises:
        IntegrationError: websocket-client is not installed, or not at a supported version.
    """
    return _integration.patch()


def unpatch() -> bool:
    """Restore websocket-client's own mask and UTF-8 functions; True if it was patched.

    A module that was executed again while patched (``importlib.reload``)
    gets the functions that execution defined.
    """
    with _patching._LOCK:
        patched = _integration.unpatch()
        _Reapply.restore()
        return patched


def is_patched() -> bool:
    """Whether websocket-client is patched now."""
    return _integration.is_patched()
