"""The benchmark script runs and prints a ratio for every workload.

Speed itself is not asserted here (timed tests flake on shared machines):
`python -m course.bench` prints the ratios; the README records them.
"""

import re

import pytest

from course import bench

pytestmark = pytest.mark.train


def test_bench_quick_prints_every_workload(capsys):
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for name, _, target in bench.WORKLOADS:
        line = next(line for line in out.splitlines() if line.startswith(name))
        assert re.search(r"\s\d+\.\d\dx", line), line  # the ratio column
    assert "test accuracy" in out
