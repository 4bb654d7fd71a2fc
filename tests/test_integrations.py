"""Tests for the integration machinery (``fastframe.integrations`` and its ``_patching``).

Each library's integration has its own test module (``test_integrations_<library>.py``).
"""

from __future__ import annotations

import threading
import types

import pytest

import fastframe
from fastframe import integrations
from fastframe.integrations import _patching
from fastframe.integrations._patching import Integration, IntegrationError, PatchSet, require_version


def test_patchset_restores_in_reverse_order():
    module = types.ModuleType("peer")
    module.f = "original"
    patches = PatchSet()
    patches.replace(module, "f", "first")
    patches.replace(module, "f", "second")
    patches.replace(module, "g", "new")
    assert (module.f, module.g) == ("second", "new")
    patches.undo()
    assert module.f == "original"
    assert not hasattr(module, "g")
    assert not patches


def test_patchset_leaves_inherited_class_attributes_inherited():
    class Base:
        def method(self) -> str:
            return "base"

    class Child(Base):
        pass

    patches = PatchSet()
    patches.replace(Child, "method", lambda self: "patched")
    assert Child().method() == "patched"
    patches.undo()
    assert "method" not in Child.__dict__
    assert Child().method() == "base"


def test_require_version_names_the_range():
    installed = require_version("pytest", "1", "1000")
    assert installed == pytest.__version__
    with pytest.raises(IntegrationError, match=r"pytest>=1000,<2000"):
        require_version("pytest", "1000", "2000")
    with pytest.raises(IntegrationError, match="not installed"):
        require_version("no-such-distribution-fastframe", "1", "2")


@pytest.mark.parametrize(
    ("version", "expected"),
    [("17.0.1", (17, 0, 1)), ("3.14.0rc1", (3, 14, 0)), ("1.3.0.post1", (1, 3, 0)), ("dev", ())],
)
def test_version_tuple(version, expected):
    assert _patching._version_tuple(version) == expected


def _integration(apply, below="1000"):
    return Integration("pytest", "1", below, apply)


def test_integration_is_idempotent_and_reversible():
    module = types.ModuleType("peer")
    module.f = "original"
    calls = []

    def apply(patches):
        calls.append(1)
        patches.replace(module, "f", "fast")

    integration = _integration(apply)
    assert integration.patch() is True
    assert integration.patch() is False
    assert calls == [1]
    assert integration.is_patched()
    assert module.f == "fast"
    assert integration.unpatch() is True
    assert integration.unpatch() is False
    assert module.f == "original"
    assert not integration.is_patched()


def test_integration_failure_leaves_nothing_patched():
    module = types.ModuleType("peer")
    module.f = "original"

    def apply(patches):
        patches.replace(module, "f", "fast")
        raise AttributeError("the hook point moved")

    integration = _integration(apply)
    with pytest.raises(AttributeError):
        integration.patch()
    assert module.f == "original"
    assert not integration.is_patched()


def test_integration_refuses_unsupported_versions_before_touching_anything():
    touched = []
    integration = _integration(lambda patches: touched.append(1), below="2")
    with pytest.raises(IntegrationError, match=r"pytest>=1,<2"):
        integration.patch()
    assert touched == []


def test_integration_patches_once_across_threads():
    calls = []
    barrier = threading.Barrier(8)

    def apply(patches):
        calls.append(1)
        patches.replace(types.ModuleType("peer"), "f", "fast")

    integration = _integration(apply)
    results = []

    def worker():
        barrier.wait()
        results.append(integration.patch())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == [1]
    assert sorted(results) == [False] * 7 + [True]


def test_unknown_library_is_a_value_error():
    with pytest.raises(ValueError, match="no integration for 'no-such-library'"):
        fastframe.patch("no-such-library")
    with pytest.raises(ValueError):
        fastframe.unpatch("no-such-library")
    with pytest.raises(ValueError):
        integrations.is_patched("no-such-library")


def test_libraries_are_the_integration_modules():
    for library in integrations.LIBRARIES:
        module = __import__(f"fastframe.integrations.{library}", fromlist=["patch"])
        for name in ("patch", "unpatch", "is_patched", "SUPPORTED_VERSIONS", "PATCHED_BY_DEFAULT"):
            assert hasattr(module, name), (library, name)


def test_using_backend_swaps_and_restores(backend):
    before = _patching.api()
    with _patching.using_backend(backend.name) as chosen:
        assert _patching.api() is chosen
        assert chosen.name == backend.name
    assert _patching.api() is before


def test_patch_with_no_names_patches_the_default_libraries(backend, monkeypatch):
    patched = []
    for library in integrations.LIBRARIES:
        module = __import__(f"fastframe.integrations.{library}", fromlist=["patch"])
        monkeypatch.setattr(module, "patch", lambda library=library: patched.append(library) or True)
    monkeypatch.setattr(integrations, "installed", lambda: integrations.LIBRARIES)
    # An integration not faster than its library would say so: it is left out.
    left_out = integrations.LIBRARIES[0]
    left_out_module = __import__(f"fastframe.integrations.{left_out}", fromlist=["patch"])
    monkeypatch.setattr(left_out_module, "PATCHED_BY_DEFAULT", False)
    expected = tuple(
        library
        for library in integrations.LIBRARIES
        if __import__(f"fastframe.integrations.{library}", fromlist=["patch"]).PATCHED_BY_DEFAULT
    )
    assert left_out not in expected and len(expected) == len(integrations.LIBRARIES) - 1
    with _patching.using_backend(backend.name):
        result = fastframe.patch()
    if backend.name == "python":
        # The pure twins are slower than the libraries' own C code: nothing by default.
        assert result == () and patched == []
    else:
        assert result == expected
        assert tuple(patched) == expected


def test_patch_by_name_on_the_pure_backend(backend, monkeypatch):
    library = integrations.LIBRARIES[0]
    module = __import__(f"fastframe.integrations.{library}", fromlist=["patch"])
    monkeypatch.setattr(module, "patch", lambda: True)
    with _patching.using_backend(backend.name):
        assert fastframe.patch(library) == (library,)
