"""What every integration shares: version checks, reversible patches, the backend in use.

An integration replaces attributes of a peer library's modules with faster
equivalents built on fastframe.  Each replacement is recorded with the value
it displaced, so :meth:`PatchSet.undo` restores exactly what was there, in
reverse order, even when several replacements touch the same attribute.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import re
import threading
from collections.abc import Callable, Iterator
from types import ModuleType, SimpleNamespace
from typing import Any, Optional

from .._backend import load_backend, select_backend

__all__ = [
    "Integration",
    "IntegrationError",
    "PatchSet",
    "api",
    "require_version",
    "using_backend",
]

_MISSING = object()
_selected: Optional[SimpleNamespace] = None
# One lock for every integration: patch() and unpatch() of one library may
# import another (aiohttp imports nothing of ours, but a library could), and
# one lock cannot deadlock against itself through that.
_LOCK = threading.RLock()


class IntegrationError(ImportError):
    """A library cannot be patched: it is not installed, or its version is not supported.

    A subclass of :class:`ImportError`, because that is what the user meets:
    the library (at a version fastframe knows) cannot be found.
    """


def api() -> SimpleNamespace:
    """The fastframe backend integrations build on: the one the facade selected.

    Tests swap it with :func:`using_backend` to run an integration on each twin.
    """
    global _selected
    if _selected is None:
        _selected = select_backend()
    return _selected


@contextlib.contextmanager
def using_backend(name: str) -> Iterator[SimpleNamespace]:
    """Within the block, patches made build on backend ``name`` ("cython" or "python")."""
    global _selected
    previous = _selected
    _selected = load_backend(name)
    try:
        yield _selected
    finally:
        _selected = previous


def _version_tuple(version: str) -> tuple[int, ...]:
    # "17.0.1", "3.14.0rc1", "1.3.0.post1": the leading release numbers decide.
    match = re.match(r"\d+(?:\.\d+)*", version)
    if match is None:
        return ()
    return tuple(int(part) for part in match.group().split("."))


def require_version(distribution: str, minimum: str, below: str) -> str:
    """Check that ``distribution`` is installed at a version in ``[minimum, below)``.

    Returns:
        The installed version.

    Raises:
        IntegrationError: not installed, or outside the range; the message names the range.
    """
    supported = f"{distribution}>={minimum},<{below}"
    try:
        version = importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        raise IntegrationError(f"{distribution} is not installed; fastframe supports {supported}") from None
    if not _version_tuple(minimum) <= _version_tuple(version) < _version_tuple(below):
        raise IntegrationError(f"{distribution} {version} is not supported; fastframe supports {supported}")
    return version


class PatchSet:
    """Attribute replacements on modules or classes, recorded so that they can be undone."""

    def __init__(self) -> None:
        self._undo: list[tuple[Any, str, Any]] = []

    def __bool__(self) -> bool:
        return bool(self._undo)

    def replace(self, target: Any, name: str, value: Any) -> None:
        """Set ``target.name = value``; :meth:`undo` restores the old value (or deletes the attribute).

        ``target`` may be a module, a class, or the dotted name of a module to import.
        """
        if isinstance(target, str):
            target = importlib.import_module(target)
        # A class attribute is read from the class's own dict, so that undo
        # does not copy an inherited value onto the subclass.
        if isinstance(target, type):
            old = target.__dict__.get(name, _MISSING)
        else:
            old = getattr(target, name, _MISSING)
        self._undo.append((target, name, old))
        setattr(target, name, value)

    def undo(self) -> None:
        """Restore every replaced attribute, newest first."""
        while self._undo:
            target, name, old = self._undo.pop()
            if old is _MISSING:
                delattr(target, name)
            else:
                setattr(target, name, old)


def import_modules(*names: str) -> list[ModuleType]:
    """Import the library's modules to patch; an import failure leaves nothing patched."""
    return [importlib.import_module(name) for name in names]


class Integration:
    """The patch(), unpatch() and is_patched() of one library, built around its ``apply`` function.

    ``apply(patches)`` imports the library's modules and records every
    replacement in ``patches``; if it raises, what it had replaced is
    restored, so a library is never left half-patched.

    Args:
        distribution: the library's name on PyPI, whose installed version is checked.
        minimum: the oldest supported version.
        below: the first version no longer supported.
        apply: makes the replacements.
    """

    def __init__(self, distribution: str, minimum: str, below: str, apply: Callable[[PatchSet], None]) -> None:
        self.distribution = distribution
        self.minimum = minimum
        self.below = below
        self.supported_versions = f">={minimum},<{below}"
        self._apply = apply
        self._patches = PatchSet()

    def patch(self) -> bool:
        """Patch the library; True if this call patched it, False if it already was.

        Raises:
            IntegrationError: the library is not installed or its version is not supported.
        """
        with _LOCK:
            if self._patches:
                return False
            require_version(self.distribution, self.minimum, self.below)
            try:
                self._apply(self._patches)
            except BaseException:
                self._patches.undo()
                raise
            return True

    def unpatch(self) -> bool:
        """Restore what :meth:`patch` replaced; True if it was patched."""
        with _LOCK:
            patched = bool(self._patches)
            self._patches.undo()
            return patched

    def is_patched(self) -> bool:
        """Whether the library is patched now."""
        return bool(self._patches)
