"""The README is part of the product: its findings table and its two set-up commands must stay true."""

from __future__ import annotations

import re
from pathlib import Path

from envcheck.rules.codes import CODES

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
CI = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text(encoding="utf-8")


def table_codes() -> dict:
    rows = re.findall(r"^\| `([a-z0-9-]+)` \| (error|warning|info) \| (\w+) \|", README, flags=re.M)
    return {code: (severity, section) for code, severity, section in rows}


def test_every_code_is_documented_once_and_matches_the_catalogue():
    documented = table_codes()
    assert set(documented) == set(CODES)
    for code, entry in CODES.items():
        assert documented[code] == (entry.severity, entry.section), code
    assert len(re.findall(r"^\| `driver-too-old` \|", README, flags=re.M)) == 1


def test_ci_runs_the_readme_test_command():
    blocks = re.findall(r"```sh\n(.*?)\n```", README, flags=re.S)
    test_cmd = next(b for b in blocks if "pytest" in b)
    assert test_cmd.replace("python3", "python") in CI.replace("python3", "python")
