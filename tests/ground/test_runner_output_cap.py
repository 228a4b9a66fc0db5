"""The runner keeps at most MAX_OUTPUT_BYTES of a child's stream: a tool that prints 100 MB costs no 100 MB."""

from __future__ import annotations

import os
import resource
import sys

import pytest

from envcheck import runner

pytestmark = pytest.mark.skipif(os.name != "posix", reason="a shell script as the fake tool")


def _fake_tool(tmp_path, body: str) -> dict:
    tool = tmp_path / "faketool"
    tool.write_text("#!/bin/sh\n" + body + "\n")
    tool.chmod(0o755)
    return {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}"}


def test_a_tool_printing_100_mb_keeps_the_head_and_says_truncated(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "MAX_OUTPUT_BYTES", 4 << 20)  # the same code path, a smaller head to keep
    env = _fake_tool(tmp_path, "echo first-line; head -c 100000000 /dev/zero | tr '\\0' x; echo done >&2")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    result = runner.run(["faketool"], timeout=60, env=env)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert result.returncode == 0 and not result.timed_out
    assert result.truncated
    assert len(result.stdout) == 4 << 20 and result.stdout.startswith("first-line\nxxx")
    assert result.stderr == "done\n"  # the other stream is whole
    if sys.platform.startswith("linux"):
        assert grown_mib < 60, grown_mib  # not the 100 MB (nor a copy of it)


def test_output_under_the_cap_is_whole_and_not_truncated(tmp_path):
    env = _fake_tool(tmp_path, "head -c 300000 /dev/zero | tr '\\0' y; exit 3")
    result = runner.run(["faketool"], timeout=30, env=env)
    assert (result.returncode, len(result.stdout), result.truncated) == (3, 300000, False)
