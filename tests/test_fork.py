"""Masking keys after fork(): the key pool's lock must not stay held in the child.

A child forked while another thread held the pool's lock inherits it held,
by a thread that does not exist in the child: without a fork handler that
re-creates it, the child's first ``build_frame(mask=True)`` waits forever.
Each scenario runs in its own interpreter (forking the test runner, which
has threads of its own, is not safe), and the child is killed by an alarm
if it hangs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or not hasattr(os, "register_at_fork"), reason="needs fork()")

# Runs in a fresh interpreter: a thread takes the pool's lock and keeps it
# while the main thread forks; the child must then build a masked frame.
SCENARIO = textwrap.dedent(
    """
    import os, signal, sys, threading, warnings
    warnings.simplefilter("ignore")  # fork() with threads: that is the point
    from fastframe._backend import load_backend
    backend = load_backend(sys.argv[1])
    hold, release = _hooks(sys.argv[1])
    taken, done = threading.Event(), threading.Event()

    def holder():
        hold()
        taken.set()
        done.wait()
        release()

    thread = threading.Thread(target=holder)
    thread.start()
    taken.wait()
    pid = os.fork()
    if pid == 0:
        signal.alarm(TIMEOUT)  # default action: the child dies if it hangs
        frames = [backend.build_frame(1, b"abc", mask=True) for _ in range(3000)]
        keys = {frame[2:6] for frame in frames}
        # Fresh keys, not the parent's pool: a 4 KiB pool holds 1024 keys.
        os._exit(0 if len(frames) == 3000 and len(keys) > 2900 else 3)
    done.set()
    thread.join()
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        print("child killed by signal", os.WTERMSIG(status), "(hung in build_frame)")
        sys.exit(1)
    print("child exit", os.WEXITSTATUS(status))
    sys.exit(os.WEXITSTATUS(status))
    """
)

HOOKS = textwrap.dedent(
    """
    def _hooks(name):
        if name == "python":
            from fastframe import _frames_py
            return _frames_py._keys._lock.acquire, _frames_py._keys._lock.release
        from fastframe import _frames
        return _frames._hold_key_lock, _frames._release_key_lock
    """
)

TIMEOUT = 10


def run_scenario(name: str) -> subprocess.CompletedProcess[str]:
    code = f"TIMEOUT = {TIMEOUT}\n" + HOOKS + SCENARIO
    return subprocess.run(
        [sys.executable, "-c", code, name], capture_output=True, text=True, timeout=TIMEOUT * 3, check=False
    )


def test_child_builds_masked_frames_while_parent_thread_holds_key_lock(backend):
    result = run_scenario(backend.name)
    assert result.returncode == 0, result.stdout + result.stderr


def test_child_and_parent_keys_differ(backend):
    """After fork the child draws new keys: it never repeats the parent's next ones."""
    code = textwrap.dedent(
        """
        import os, sys
        from fastframe._backend import load_backend
        backend = load_backend(sys.argv[1])
        backend.build_frame(2, b"", mask=True)  # fills the pool
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.write(write, b"".join(backend.build_frame(2, b"", mask=True)[2:6] for _ in range(64)))
            os._exit(0)
        os.waitpid(pid, 0)
        child = os.read(read, 4096)
        parent = b"".join(backend.build_frame(2, b"", mask=True)[2:6] for _ in range(64))
        sys.exit(0 if len(child) == 256 and child != parent else 1)
        """
    )
    result = subprocess.run([sys.executable, "-c", code, backend.name], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
