"""Tests for the peer runner (``fastframe.testing.peer``) and its pytest plugin.

No network here: the runner's pytest runs and outcome parsing are tested on a
small synthetic suite written to ``tmp_path``, each run on one fastframe
backend (the plugin reports which one the patch would build on).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import textwrap

import pytest

from fastframe import integrations
from fastframe.integrations._patching import IntegrationError
from fastframe.testing import peer, plugin

pytest_plugins = ("pytester",)

SYNTHETIC = textwrap.dedent(
    """
    import os
    import pytest

    FLIP = os.environ.get("SYNTHETIC_FLIP") == "1"

    def test_passes():
        pass

    def test_fails():
        assert 1 + 1 == 3

    def test_skipped():
        pytest.skip("not here")

    @pytest.mark.xfail(reason="known")
    def test_xfails():
        raise ValueError

    @pytest.fixture
    def broken():
        raise RuntimeError("setup")

    def test_setup_error(broken):
        pass

    @pytest.fixture
    def teardown_breaks():
        yield
        raise RuntimeError("teardown")

    def test_teardown_error(teardown_breaks):
        pass

    @pytest.mark.parametrize("n", [1, 2])
    def test_param(n):
        assert n == 1

    class TestGroup:
        def test_flips(self):
            assert not FLIP

    if not FLIP:
        def test_only_unflipped():
            pass
    """
)

EXPECTED = {
    "test_synthetic::test_passes": "passed",
    "test_synthetic::test_fails": "failed",
    "test_synthetic::test_skipped": "skipped",
    "test_synthetic::test_xfails": "xfailed",
    "test_synthetic::test_setup_error": "error",
    "test_synthetic::test_teardown_error": "error",
    "test_synthetic::test_param[1]": "passed",
    "test_synthetic::test_param[2]": "failed",
    "test_synthetic.TestGroup::test_flips": "passed",
    "test_synthetic::test_only_unflipped": "passed",
}


def _environment(backend, **extra):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("FASTFRAME_", "PYTEST_"))}
    if backend.name == "python":
        env["FASTFRAME_NO_EXTENSIONS"] = "1"
    env.update(extra)
    return env


@pytest.fixture
def suite(tmp_path):
    root = tmp_path / "suite"
    root.mkdir()
    (root / "test_synthetic.py").write_text(SYNTHETIC)
    return root


def _run(suite, tmp_path, backend, name, **extra):
    workdir = tmp_path / name
    workdir.mkdir()
    return peer.run_suite(suite, ["test_synthetic.py"], workdir=workdir, env=_environment(backend, **extra))


def test_run_suite_records_outcomes_and_compare_lists_differences(suite, tmp_path, backend):
    before = _run(suite, tmp_path, backend, "before")
    assert before.outcomes == EXPECTED
    assert before.returncode == 1
    assert before.plugin["backend"] == backend.name
    assert before.plugin["requested"] == []
    assert before.plugin["patched_at_start"] == before.plugin["patched_at_end"] == []
    assert peer.count(before.outcomes) == {"error": 2, "failed": 2, "passed": 4, "skipped": 1, "xfailed": 1}

    after = _run(suite, tmp_path, backend, "after", SYNTHETIC_FLIP="1")
    assert peer.differences(before.outcomes, after.outcomes) == [
        ("test_synthetic.TestGroup::test_flips", "passed", "failed"),
        ("test_synthetic::test_only_unflipped", "passed", "missing"),
    ]
    out = io.StringIO()
    assert peer.compare(before, after, out=out) == 1
    text = out.getvalue()
    assert "2 tests differ" in text
    assert "test_synthetic.TestGroup::test_flips: passed -> failed" in text
    assert "4 passed" in text and "2 passed" in text

    same = io.StringIO()
    assert peer.compare(before, _run(suite, tmp_path, backend, "again"), out=same) == 0
    assert "every test has the same outcome" in same.getvalue()


def test_compare_refuses_a_patched_run_that_did_not_patch(backend):
    outcomes = {"t::a": "passed"}
    report = {"backend": backend.name, "patched_at_start": [], "patched_at_end": []}
    unpatched = peer.Run((), 0, 0.1, outcomes, report)
    not_patched = peer.Run(("wsproto",), 0, 0.1, outcomes, report)
    out = io.StringIO()
    assert peer.compare(unpatched, not_patched, out=out) == 2
    assert "PROBLEM: patched at start: [], expected ['wsproto']" in out.getvalue()
    # Patched at the start, but something in the suite undid it.
    undone = peer.Run(("wsproto",), 0, 0.1, outcomes, {**report, "patched_at_start": ["wsproto"]})
    assert peer.compare(unpatched, undone, out=io.StringIO()) == 2
    patched = peer.Run(
        ("wsproto",), 0, 0.1, outcomes, {**report, "patched_at_start": ["wsproto"], "patched_at_end": ["wsproto"]}
    )
    assert peer.compare(unpatched, patched, out=io.StringIO()) == 0
    # A run that collected nothing proves nothing.
    assert peer.compare(peer.Run((), 5, 0.1, {}, report), peer.Run((), 5, 0.1, {}, report), out=io.StringIO()) == 2


def test_parse_junit_keeps_the_worst_entry(tmp_path, backend):
    junit = tmp_path / "run.xml"
    junit.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="m" name="t" />'
        '<testcase classname="m" name="t"><error message="teardown" /></testcase>'
        '<testcase classname="m" name="s"><skipped type="pytest.skip" /></testcase>'
        "</testsuite></testsuites>"
    )
    assert peer.parse_junit(junit) == {"m::t": "error", "m::s": "skipped"}


class _FakeIntegrations:
    """Stands in for fastframe.integrations' patch(), is_patched() and LIBRARIES in the plugin."""

    def __init__(self, *, fail=False, lazy=False):
        self.patched = set()
        self.fail = fail
        self.lazy = lazy

    def patch(self, *libraries):
        if self.fail:
            raise IntegrationError("fake 0.1 is not supported; fastframe supports fake>=1,<2")
        new = tuple(library for library in libraries if library not in self.patched)
        if not self.lazy:
            self.patched.update(libraries)
        return new

    def unpatch(self, *libraries):
        restored = tuple(library for library in libraries if library in self.patched)
        self.patched.difference_update(libraries)
        return restored

    def is_patched(self, library):
        return library in self.patched


@pytest.fixture
def fake(monkeypatch, backend):
    from fastframe.integrations import _patching

    monkeypatch.setattr(_patching, "_selected", backend)
    fake = _FakeIntegrations()
    monkeypatch.setattr(integrations, "LIBRARIES", ("fake", "other"))
    for name in ("patch", "unpatch", "is_patched"):
        monkeypatch.setattr(integrations, name, getattr(fake, name))
    return fake


def test_plugin_patches_before_the_suite_and_reports(pytester, monkeypatch, fake, backend):
    report = pytester.path / "report.json"
    monkeypatch.setenv(plugin.PATCH_ENV, " fake, ,fake")
    monkeypatch.setenv(plugin.REPORT_ENV, str(report))
    pytester.makepyfile(
        test_seen="""
        from fastframe import integrations

        def test_patched_during_the_suite():
            assert integrations.is_patched("fake")
            assert not integrations.is_patched("other")
        """
    )
    result = pytester.runpytest_inprocess("-p", "fastframe.testing.plugin")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"fastframe {backend.name} backend; patched: fake"])
    state = json.loads(report.read_text())
    assert state["requested"] == ["fake"]
    assert state["patched_by_plugin"] == ["fake"]
    assert state["patched_at_start"] == state["patched_at_end"] == ["fake"]
    assert state["backend"] == backend.name
    # What the plugin patched, it undoes when the session ends.
    assert fake.patched == set()


def test_plugin_without_libraries_patches_nothing(pytester, monkeypatch, fake):
    report = pytester.path / "report.json"
    monkeypatch.delenv(plugin.PATCH_ENV, raising=False)
    monkeypatch.setenv(plugin.REPORT_ENV, str(report))
    pytester.makepyfile(test_one="def test_one():\n    pass\n")
    pytester.runpytest_inprocess("-p", "fastframe.testing.plugin").assert_outcomes(passed=1)
    assert json.loads(report.read_text())["patched_at_start"] == []


@pytest.mark.parametrize("failure", ["refused", "silently unpatched"])
def test_plugin_stops_a_run_it_cannot_patch(pytester, monkeypatch, fake, failure):
    if failure == "refused":
        fake.fail = True
    else:
        fake.lazy = True
    monkeypatch.setenv(plugin.PATCH_ENV, "fake")
    monkeypatch.delenv(plugin.REPORT_ENV, raising=False)
    pytester.makepyfile(test_one="def test_one():\n    pass\n")
    result = pytester.runpytest_inprocess("-p", "fastframe.testing.plugin")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    expected = "*fake>=1,<2*" if failure == "refused" else "*left fake unpatched*"
    result.stderr.fnmatch_lines([expected])


def _tarball(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_fetch_sdist_extracts_once_and_reuses_the_cache(tmp_path, monkeypatch, backend):
    cache = tmp_path / "cache"
    downloads = cache / "downloads"
    downloads.mkdir(parents=True)
    _tarball(downloads / "peer_lib-1.0.tar.gz", {"peer_lib-1.0/tests/test_x.py": b"def test_x(): pass\n"})
    commands = []
    monkeypatch.setattr(peer.subprocess, "run", lambda command, **kwargs: commands.append(command))
    root = peer.fetch_sdist("peer-lib", "1.0", cache)
    assert (root / "tests" / "test_x.py").read_bytes() == b"def test_x(): pass\n"
    assert commands[0][-1] == "peer-lib==1.0"
    assert "--no-binary" in commands[0]
    assert peer.fetch_sdist("peer-lib", "1.0", cache) == root
    assert len(commands) == 1


@pytest.mark.parametrize("member", ["../escape.py", "/abs/path.py"])
def test_fetch_sdist_refuses_members_outside_the_archive(tmp_path, monkeypatch, member, backend):
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    _tarball(downloads / "peer_lib-1.0.tar.gz", {member: b"x"})
    monkeypatch.setattr(peer.subprocess, "run", lambda command, **kwargs: None)
    with pytest.raises(RuntimeError, match="outside the archive"):
        peer.fetch_sdist("peer-lib", "1.0", tmp_path)
    assert not (tmp_path.parent / "escape.py").exists()


def test_install_requirements_installs_only_what_is_missing(monkeypatch, backend):
    commands = []
    monkeypatch.setattr(peer.subprocess, "run", lambda command, **kwargs: commands.append(command))
    assert peer.install_requirements(["pytest>=7", "no-such-distribution-fastframe==1"]) == [
        "no-such-distribution-fastframe==1"
    ]
    assert commands[0][-1] == "no-such-distribution-fastframe==1"
    assert peer.install_requirements(["pytest"]) == []
    assert len(commands) == 1


def test_tests_of_an_installed_package_run_by_module_name_from_an_empty_directory(monkeypatch, capsys, backend):
    runs = []

    def run_suite(root, paths, *, patch=(), pytest_args=(), workdir, env=None):
        # The runner's scratch directory, as the run sees it.
        runs.append((sorted(path.name for path in root.iterdir()), (root / "conftest.py").read_text(), list(paths)))
        runs[-1] += (list(pytest_args),)
        outcomes = {"pkg.test.mod::test_x": "passed"}
        report = {"patched_at_start": list(patch), "patched_at_end": list(patch), "backend": backend.name}
        return peer.Run(tuple(patch), 0, 0.1, outcomes, report)

    def no_sdist(*args):
        raise AssertionError("an installed package's tests need no sdist")

    table = {"pytest": peer.Peer("pytest", tests=("pkg.test.mod",), installed_tests=True, conftest="SETUP = 1\n")}
    monkeypatch.setattr(peer, "PEERS", table)
    monkeypatch.setattr(peer, "run_suite", run_suite)
    monkeypatch.setattr(peer, "fetch_sdist", no_sdist)
    assert peer.main(["pytest", "--no-install", "-q"]) == 0
    assert [run[:3] for run in runs] == [(["conftest.py"], "SETUP = 1\n", ["pkg.test.mod"])] * 2
    assert all(run[3] == ["-q", "--pyargs"] for run in runs)
    assert "tests from the installed pytest" in capsys.readouterr().out


def test_plugin_patches_wsproto_before_the_suite_imports_it(pytester, monkeypatch, backend):
    from fastframe.integrations import _patching

    monkeypatch.setattr(_patching, "_selected", backend)
    report = pytester.path / "report.json"
    monkeypatch.setenv(plugin.PATCH_ENV, "wsproto")
    monkeypatch.setenv(plugin.REPORT_ENV, str(report))
    pytester.makepyfile(
        test_peer="""
        from wsproto.connection import FrameProtocol

        def test_the_suite_sees_the_patched_protocol():
            assert FrameProtocol.__module__ == "fastframe.integrations.wsproto"
        """
    )
    pytester.runpytest_inprocess("-p", "fastframe.testing.plugin").assert_outcomes(passed=1)
    state = json.loads(report.read_text())
    assert state["patched_at_start"] == state["patched_at_end"] == ["wsproto"]
    assert state["backend"] == backend.name
    # The plugin undid its patch when the session ended.
    assert not integrations.is_patched("wsproto")


def test_the_runner_imports_without_pytest(backend):
    # pytest may be one of the suite's requirements that the runner installs first.
    env = _environment(backend)
    code = "import sys, fastframe.testing.peer; assert 'pytest' not in sys.modules, 'pytest imported'"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
