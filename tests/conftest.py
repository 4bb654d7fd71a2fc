"""Shared fixtures: every test that takes ``backend`` runs on both backends.

If the compiled backend failed to build, its tests fail (ImportError), they
do not skip: a broken build must not pass CI.  ``--backend python`` (or
``cython``) deselects the other one explicitly, together with the tests
marked ``compiled`` (those that import the compiled modules directly), e.g.
on PyPy.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from fastframe._backend import BACKENDS, load_backend


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        action="append",
        choices=BACKENDS,
        help="run the backend-parametrized tests on this backend only (repeatable; default: both)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("--backend") or list(BACKENDS)
        metafunc.parametrize("backend", chosen, indirect=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "cython" in (config.getoption("--backend") or BACKENDS):
        return
    deselected = [item for item in items if item.get_closest_marker("compiled")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("compiled")]


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> SimpleNamespace:
    """The public API of one backend: ``backend.apply_mask``, ``backend.FrameParser``, ..."""
    return load_backend(request.param)
