"""The type stubs (``_x.pyi``) describe the compiled modules as they are built.

Type checkers read a compiled module's names and signatures from its stub
alone, so a stub that drifts from the module misleads every caller silently.
Each stub is executed as Python (they re-export the pure twins' annotated
objects, or could declare their own) and what it defines is compared with
the installed compiled module: the same public names, and for every
function, class, constructor and method the same parameters (names, kinds,
defaults).  ``python -m mypy.stubtest`` in .ci/run checks the names a stub
declares itself (``KERNEL``, ``__all__``); it skips re-exported names, which
this module covers.

Marked ``compiled``: it reads the compiled modules, which the pure backend
does not have.
"""

from __future__ import annotations

import builtins
import importlib
import inspect
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import fastframe
from fastframe._backend import MODULES

pytestmark = pytest.mark.compiled


def stub_namespace(module: str) -> dict[str, Any]:
    """Run the installed ``fastframe/<module>.pyi`` and return what it defines."""
    path = Path(fastframe.__file__).parent / f"{module}.pyi"
    namespace: dict[str, Any] = {"__name__": f"fastframe.{module}__stub", "__package__": "fastframe"}
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)
    return namespace


def stub_names(namespace: dict[str, Any]) -> set[str]:
    """Public names the stub gives the module, also those only annotated (``KERNEL: str``)."""
    names = set(namespace.get("__annotations__", {})) | set(namespace)
    return {name for name in names if not name.startswith("_")}


def compiled_module(module: str) -> ModuleType:
    return importlib.import_module(f"fastframe.{module}")


def parameters(obj: Any, *, method: bool = False) -> list[tuple[str, Any, Any]]:
    """Names, kinds and defaults of the parameters (annotations left out: the compiled ones have none)."""
    params = list(inspect.signature(obj).parameters.values())
    if method:
        # A compiled method's self is positional-only, a Python one's is not.
        assert params and params[0].name == "self", obj
        params = params[1:]
    return [(p.name, p.kind, p.default) for p in params]


def public_members(cls: type) -> dict[str, str]:
    def kind(name: str) -> str:
        raw = inspect.getattr_static(cls, name)
        if inspect.isdatadescriptor(raw):
            return "attribute"
        return "method" if callable(raw) else type(raw).__name__

    return {name: kind(name) for name in dir(cls) if not name.startswith("_")}


@pytest.mark.parametrize("module", MODULES)
def test_stub_names_are_the_module_names(module: str) -> None:
    namespace = stub_namespace(module)
    compiled = compiled_module(module)
    assert stub_names(namespace) == set(compiled.__all__)
    assert sorted(namespace["__all__"]) == sorted(compiled.__all__)


@pytest.mark.parametrize("module", MODULES)
def test_stub_signatures_are_the_module_signatures(module: str) -> None:
    namespace = stub_namespace(module)
    compiled = compiled_module(module)
    annotations = namespace.get("__annotations__", {})
    checked = 0
    for name in sorted(stub_names(namespace)):
        runtime = getattr(compiled, name)
        if name not in namespace:
            # Only annotated in the stub: the value has the declared builtin type.
            assert isinstance(runtime, getattr(builtins, annotations[name])), name
        elif isinstance(namespace[name], type):
            stub_cls = namespace[name]
            assert public_members(runtime) == public_members(stub_cls), name
            assert parameters(runtime) == parameters(stub_cls), name
            for member, kind in public_members(stub_cls).items():
                if kind == "method":
                    stub_method, runtime_method = getattr(stub_cls, member), getattr(runtime, member)
                    assert parameters(runtime_method, method=True) == parameters(stub_method, method=True), member
        elif callable(namespace[name]):
            assert parameters(runtime) == parameters(namespace[name]), name
        else:
            assert type(runtime) is type(namespace[name]) and runtime == namespace[name], name
        checked += 1
    assert checked == len(compiled.__all__)
