"""``python -m fastframe.bench``: fastframe side by side with the Python WebSocket libraries.

One module per job: :mod:`.inputs` builds the bytes every implementation is
given, :mod:`.peers` adapts each library's calls, :mod:`.cases` (kernels at
sizes from 16 B to 1 MiB) and :mod:`.scenarios` (workload streams, patched
and unpatched libraries) say what is measured, :mod:`.timing` checks and
times, :mod:`.report` prints the table and writes JSON, :mod:`.plot` draws
the figure. The pytest-benchmark suites under ``bench/`` in the repository
stay for regression tracking; this package is the comparison users run.
"""
