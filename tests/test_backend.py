"""Tests for backend selection (``_backend``) and the facade (``fastframe``).

Three kinds of test:

- ``load_backend`` on one backend at a time, through the ``backend`` fixture:
  each name of the namespace comes from that backend's own modules.
- What ``import fastframe`` selects, in fresh interpreters (the choice is
  made once, at import): ``FASTFRAME_NO_EXTENSIONS`` forces the pure twins,
  the compiled modules are the default, and compiled modules that are not
  installed or fail to import make the facade fall back to the pure twins
  silently and as a whole, never a mix of the two.
- The twins side by side (marked ``compiled``, no ``backend`` fixture, which
  on the python run would compare the pure twins with themselves): the same
  public names, constants and ``inspect.signature`` for every public
  function, class and method.  The compiled modules are built with
  ``binding=False`` and clinic-format ``embedsignature``, which is what keeps
  ``inspect.signature`` working on them.
"""

from __future__ import annotations

import ast
import importlib
import importlib.machinery
import inspect
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any, Optional

import pytest

import fastframe
from fastframe import enums, errors
from fastframe._backend import API, BACKENDS, INTERNAL, MODULES, load_backend, select_backend

#: Everything the backend provides, in the facade's reading order.
BACKEND_NAMES = tuple(name for module in MODULES for name in API[module])
#: What the facade adds to the backend's names: the same objects on both backends.
FACADE_EXTRAS = ("BACKEND", "KERNELS", "Message", "Opcode", "CloseCode", "ProtocolError", "patch", "unpatch")

PACKAGE_DIR = Path(fastframe.__file__).resolve().parent


def pure_module(module: str) -> ModuleType:
    return importlib.import_module(f"fastframe.{module}_py")


def compiled_module(module: str) -> ModuleType:
    # Fails (does not skip) when the compiled modules were not built.
    return importlib.import_module(f"fastframe.{module}")


# Parameters collected from the pure twins, which every platform has; the
# compiled twin must match them, in the public names and the internal ones.
FUNCTIONS_AND_CLASSES = [(module, name) for module in MODULES for name in (*API[module], *INTERNAL.get(module, ()))]
CLASSES = [
    (module, name) for module, name in FUNCTIONS_AND_CLASSES if inspect.isclass(getattr(pure_module(module), name))
]
METHODS = [
    (module, cls, name)
    for module, cls in CLASSES
    for name in dir(getattr(pure_module(module), cls))
    if not name.startswith("_") and inspect.isfunction(inspect.getattr_static(getattr(pure_module(module), cls), name))
]


# ---------------------------------------------------------------------------
# load_backend


def test_load_backend(backend):
    """Every name of the namespace comes from the backend's own modules, none from the other twin."""
    suffix = "" if backend.name == "cython" else "_py"
    assert backend.name in BACKENDS
    for module in MODULES:
        loaded = importlib.import_module(f"fastframe.{module}{suffix}")
        for name in API[module]:
            obj = getattr(backend, name)
            assert obj is getattr(loaded, name), name
            # A compiled module that re-exported a pure class would pass the
            # identity check above: its __module__ gives it away.
            assert obj.__module__ == f"fastframe.{module}{suffix}", name
    mask_module = importlib.import_module(f"fastframe._mask{suffix}")
    utf8_module = importlib.import_module(f"fastframe._utf8{suffix}")
    assert backend.kernels == {"mask": mask_module.KERNEL, "utf8": utf8_module.KERNEL}
    if backend.name == "python":
        assert backend.kernels == {"mask": "python", "utf8": "python"}
    else:
        # A compiled module always runs a C kernel, scalar at worst.
        assert "python" not in backend.kernels.values()


def test_load_backend_twice(backend):
    """Both calls give the same objects: tests mix namespaces from separate calls."""
    again = load_backend(backend.name)
    for name in BACKEND_NAMES:
        assert getattr(again, name) is getattr(backend, name), name


@pytest.mark.parametrize("name", ["", "pure", "Cython", "pypy", "_py"])
def test_load_backend_unknown_name(name):
    with pytest.raises(ValueError):
        load_backend(name)


@pytest.mark.compiled
def test_modules_are_the_compiled_extensions():
    """``MODULES`` (from ``API``) is every extension setup.py built from a ``.pyx``, each with a pure twin."""
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    built = {path.name.split(".")[0] for path in PACKAGE_DIR.iterdir() if path.name.endswith(suffixes)}
    assert built == set(MODULES)
    for module in MODULES:
        assert pure_module(module).__all__, module


# ---------------------------------------------------------------------------
# What `import fastframe` selects, in a fresh interpreter

# Prints where each name of the facade comes from: "cython", "python" or None
# (neither twin).  {setup} runs first, before anything imports fastframe.
_PROBE = """\
import json
import sys

{setup}

import fastframe
from fastframe._backend import API, MODULES


def origin(module, name):
    obj = getattr(fastframe, name)
    for backend, suffix in (("cython", ""), ("python", "_py")):
        loaded = sys.modules.get("fastframe." + module + suffix)
        if loaded is not None and getattr(loaded, name, None) is obj:
            return backend
    return None


print(json.dumps({{
    "backend": fastframe.BACKEND,
    "kernels": fastframe.KERNELS,
    "origins": {{name: origin(module, name) for module, names in API.items() for name in names}},
    "compiled_imported": sorted(m for m in MODULES if sys.modules.get("fastframe." + m) is not None),
    "pure_imported": sorted(m for m in MODULES if sys.modules.get("fastframe." + m + "_py") is not None),
    "file": fastframe.__file__,
}}))
"""


def probe(
    tmp_path: Path, *, no_extensions: Optional[str] = None, setup: str = "", package_root: Optional[Path] = None
) -> dict[str, Any]:
    """Import fastframe in a fresh interpreter and report what the facade chose.

    The import must be silent: ``-W error`` turns any warning into a failed
    import, and nothing may be written to stderr.

    Args:
        tmp_path: the child's working directory (so that nothing is imported from the checkout by accident).
        no_extensions: the value of ``FASTFRAME_NO_EXTENSIONS``, or None to leave it unset.
        setup: Python code the child runs before importing fastframe.
        package_root: where the child imports fastframe from; by default, where this process does.
    """
    env = dict(os.environ)
    env.pop("FASTFRAME_NO_EXTENSIONS", None)
    if no_extensions is not None:
        env["FASTFRAME_NO_EXTENSIONS"] = no_extensions
    root = package_root or PACKAGE_DIR.parent
    env["PYTHONPATH"] = os.pathsep.join([str(root), *filter(None, [env.get("PYTHONPATH")])])
    script = _PROBE.format(setup=textwrap.dedent(setup))
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr == "", "importing fastframe was not silent"
    result = json.loads(proc.stdout)
    assert Path(result["file"]).resolve().parent == root.resolve() / "fastframe", result["file"]
    return result


def assert_pure(result: dict[str, Any]) -> None:
    assert result["backend"] == "python"
    assert result["kernels"] == {"mask": "python", "utf8": "python"}
    # All or nothing: a compiled parser under a pure assembler, say, would be a
    # combination no test runs.
    assert result["origins"] == dict.fromkeys(BACKEND_NAMES, "python")


@pytest.mark.parametrize("value", ["1", "true", "yes", "2"])
def test_no_extensions_forces_pure(tmp_path, value):
    """``FASTFRAME_NO_EXTENSIONS`` set to anything but ``0`` selects the pure twins."""
    result = probe(tmp_path, no_extensions=value)
    assert_pure(result)
    # The escape hatch must work even when a compiled module crashes or
    # misbehaves at import, so the compiled modules are not imported at all.
    assert result["compiled_imported"] == []


@pytest.mark.compiled
@pytest.mark.parametrize("value", [None, "", "0"], ids=["unset", "empty", "0"])
def test_compiled_by_default(tmp_path, value):
    """With the compiled modules installed, the facade uses them (and says so)."""
    result = probe(tmp_path, no_extensions=value)
    assert result["backend"] == "cython"
    assert result["kernels"] == load_backend("cython").kernels
    assert result["origins"] == dict.fromkeys(BACKEND_NAMES, "cython")
    assert result["compiled_imported"] == sorted(MODULES)
    # Nothing of the compiled backend or the facade leans on a pure twin:
    # what both share lives in _shared.
    assert result["pure_imported"] == []


# Each compiled module in turn fails to import (as a build for another CPU or
# a missing symbol would): those before it in MODULES are already imported,
# and the facade must still be all pure.
_BROKEN = """
import importlib.abc

class Broken(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "fastframe.{module}":
            raise ImportError("fastframe/{module}.so: undefined symbol: ff_kernel (simulated)")
        return None

sys.meta_path.insert(0, Broken())
"""

# sys.modules entries set to None: "import fastframe._mask" raises ModuleNotFoundError.
_MISSING = f"sys.modules.update(dict.fromkeys({['fastframe.' + m for m in MODULES]!r}))"


@pytest.mark.parametrize(
    "setup",
    [_MISSING, *(_BROKEN.format(module=m) for m in MODULES)],
    ids=["all-missing", *(f"{m}-broken" for m in MODULES)],
)
def test_fallback_when_compiled_modules_fail_to_import(tmp_path, setup):
    assert_pure(probe(tmp_path, setup=setup))


def test_fallback_when_compiled_modules_not_installed(tmp_path):
    """A copy of the installed package without its extension modules, as a pure wheel installs it."""
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    root = tmp_path / "site"
    shutil.copytree(
        PACKAGE_DIR,
        root / "fastframe",
        ignore=lambda _, names: [n for n in names if n.endswith(suffixes) or n == "__pycache__"],
    )
    result = probe(tmp_path, package_root=root)
    assert_pure(result)
    assert result["compiled_imported"] == []


# ---------------------------------------------------------------------------
# The facade in this process


def test_facade_all():
    """``__all__`` is exactly the backend's names and the shared extras, each once, each present."""
    assert len(fastframe.__all__) == len(set(fastframe.__all__))
    assert set(fastframe.__all__) == {*BACKEND_NAMES, *FACADE_EXTRAS}
    for name in fastframe.__all__:
        assert hasattr(fastframe, name), name


def test_facade_reexports_selected_backend():
    selected = select_backend()
    assert fastframe.BACKEND == selected.name
    assert fastframe.KERNELS == selected.kernels
    for name in BACKEND_NAMES:
        assert getattr(fastframe, name) is getattr(selected, name), name


def type_checking_imports() -> dict[str, set[str]]:
    """The names the facade's ``if TYPE_CHECKING:`` block imports, by the compiled module they stand for."""
    tree = ast.parse(Path(fastframe.__file__).read_text(encoding="utf-8"))
    blocks = [node for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"]
    assert len(blocks) == 1, "the facade has one TYPE_CHECKING block"
    imported: dict[str, set[str]] = {}
    for node in ast.walk(blocks[0]):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 1 and node.module and node.module.endswith("_py"), ast.unparse(node)
            names = imported.setdefault(node.module[: -len("_py")], set())
            names.update(alias.asname or alias.name for alias in node.names)
    return imported


def test_facade_type_checking_names_are_api():
    """What type checkers read (the pure twins' names) is exactly ``API``, module by module (with public names)."""
    assert type_checking_imports() == {module: set(names) for module, names in API.items() if names}


def test_facade_shared_names():
    """Names with one implementation for both backends: the same objects everywhere."""
    assert fastframe.Message is pure_module("_messages").Message
    assert fastframe.Opcode is enums.Opcode
    assert fastframe.CloseCode is enums.CloseCode
    assert fastframe.ProtocolError is errors.ProtocolError


# ---------------------------------------------------------------------------
# The twins side by side


def plain_signature(obj: Any, *, method: bool = False) -> list[tuple[str, Any, Any]]:
    """Names, kinds and defaults of ``obj``'s parameters; annotations left out.

    The pure twins are annotated and the compiled ones are not, and a compiled
    method's ``self`` is positional-only, so for methods ``self`` is dropped.
    """
    try:
        signature = inspect.signature(obj)
    except (ValueError, TypeError) as exc:
        error = f"{obj!r} has no signature: {exc}"
    else:
        error = ""
    if error:
        pytest.fail(error, pytrace=False)
    params = list(signature.parameters.values())
    if method:
        assert params and params[0].name == "self", signature
        params = params[1:]
    return [(p.name, p.kind, p.default) for p in params]


def member_kind(cls: type, name: str) -> str:
    raw = inspect.getattr_static(cls, name)
    if inspect.isdatadescriptor(raw):
        return "attribute"  # a property, a slot, a Cython getset
    if callable(raw):
        return "method"
    return type(raw).__name__


@pytest.mark.compiled
@pytest.mark.parametrize("module", MODULES)
def test_same_public_names(module):
    compiled, pure = compiled_module(module), pure_module(module)
    assert sorted(compiled.__all__) == sorted(pure.__all__)
    assert set(API[module]) <= set(pure.__all__)
    for name in pure.__all__:
        assert hasattr(compiled, name), name
        assert hasattr(pure, name), name


@pytest.mark.compiled
@pytest.mark.parametrize("module", MODULES)
def test_same_constants(module):
    """Public constants are equal, except the kernel, which names the implementation."""
    compiled, pure = compiled_module(module), pure_module(module)
    for name in pure.__all__:
        value = getattr(pure, name)
        if callable(value) or name == "KERNEL":
            continue
        assert getattr(compiled, name) == value, name


@pytest.mark.compiled
@pytest.mark.parametrize(("module", "name"), FUNCTIONS_AND_CLASSES)
def test_same_signature(module, name):
    """Functions and constructors take the same parameters, of the same kinds, with the same defaults."""
    compiled = getattr(compiled_module(module), name)
    pure = getattr(pure_module(module), name)
    assert plain_signature(compiled) == plain_signature(pure)


@pytest.mark.compiled
@pytest.mark.parametrize(("module", "cls"), CLASSES)
def test_same_class_members(module, cls):
    compiled = getattr(compiled_module(module), cls)
    pure = getattr(pure_module(module), cls)

    def members(c: type) -> dict[str, str]:
        return {name: member_kind(c, name) for name in dir(c) if not name.startswith("_")}

    assert members(compiled) == members(pure)


@pytest.mark.compiled
@pytest.mark.parametrize(("module", "cls", "name"), METHODS)
def test_same_method_signature(module, cls, name):
    compiled = getattr(getattr(compiled_module(module), cls), name)
    pure = getattr(getattr(pure_module(module), cls), name)
    assert plain_signature(compiled, method=True) == plain_signature(pure, method=True)


def docstring(obj: Any) -> Optional[str]:
    """``obj``'s docstring, indentation cleaned; None when it has none.

    A compiled function or class keeps its signature line ahead of its
    docstring, where ``__doc__`` leaves it out.
    """
    doc = getattr(obj, "__doc__", None)
    return inspect.cleandoc(doc) if doc else None


@pytest.mark.compiled
@pytest.mark.parametrize(("module", "name"), FUNCTIONS_AND_CLASSES)
def test_same_docstrings(module, name):
    """Each public function, class, method and property is documented alike in both twins.

    The docstrings are written twice (the compiled twin cannot borrow the
    pure one's), so this keeps the mirror from drifting silently.
    """
    compiled = getattr(compiled_module(module), name)
    pure = getattr(pure_module(module), name)
    assert docstring(compiled) == docstring(pure)
    assert docstring(pure), f"{module}.{name} has no docstring"
    if inspect.isclass(pure):
        for member in dir(pure):
            if not member.startswith("_"):
                compiled_member = inspect.getattr_static(compiled, member)
                pure_member = inspect.getattr_static(pure, member)
                assert docstring(compiled_member) == docstring(pure_member), f"{name}.{member}"
