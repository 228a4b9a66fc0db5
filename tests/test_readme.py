"""The README and docs/ are part of the product: the codes table, the requirement names, the set-up
commands, the example output and every relative link must stay true."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from envcheck.preflight.policy import KINDS
from envcheck.rules.codes import CODES
from envcheck.snapshot import Snapshot

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
REFERENCE = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
CI = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
H100_SNAPSHOT = "tests/fixtures/snapshots/h100-torch2.11-cu130.json"


def table_codes(text: str) -> dict:
    rows = re.findall(r"^\| `([a-z0-9-]+)` \| (error|warning|info) \| (\w+) \|", text, flags=re.M)
    return {code: (severity, section) for code, severity, section in rows}


def test_every_code_is_documented_once_in_the_reference_and_matches_the_catalogue():
    documented = table_codes(REFERENCE)
    assert set(documented) == set(CODES)
    for code, entry in CODES.items():
        assert documented[code] == (entry.severity, entry.section), code
    assert len(re.findall(r"^\| `driver-too-old` \|", REFERENCE, flags=re.M)) == 1
    assert not table_codes(README), "the codes table lives in docs/reference.md only"


def test_every_requirement_name_is_documented():
    section = REFERENCE.split("### Requirement names", 1)[1].split("\n## ", 1)[0]
    documented = set()
    for cell in re.findall(r"^\| ((?:`[a-z0-9-]+`(?:, )?)+) \|", section, flags=re.M):
        documented |= set(re.findall(r"`([a-z0-9-]+)`", cell))
    assert documented == set(KINDS), sorted(set(KINDS) ^ documented)
    assert len(KINDS) == 17


def test_readme_has_exactly_two_set_up_commands_and_ci_runs_the_test_one():
    set_up = README.split("## Set up", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)\n```", set_up, flags=re.S)
    assert len(blocks) == 2 and all("\n" not in b for b in blocks)
    test_cmd = next(b for b in blocks if "pytest" in b)
    assert test_cmd.replace("python3", "python") in CI.replace("python3", "python")
    assert re.search(r"takes about [\d.]+\s+minutes", set_up), "the test time is stated"


def test_the_h100_snapshot_is_what_the_builders_make_of_the_recordings():
    from builders import h100

    saved = json.loads((ROOT / H100_SNAPSHOT).read_text(encoding="utf-8"))
    assert Snapshot.from_dict(saved).to_dict() == h100().to_dict()


def test_the_readme_example_is_what_the_command_prints():
    command = f"envcheck doctor --from {H100_SNAPSHOT}"
    example = README.split("## Example", 1)[1].split("\n## ", 1)[0]
    assert f"```sh\n{command}\n```" in example
    pasted = re.search(r"```text\n(.*?)\n```", example, flags=re.S).group(1)
    env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES")}
    env.update(COLUMNS="100", NO_COLOR="1", LANG="C.UTF-8")
    proc = subprocess.run([sys.executable, "-m", "envcheck"] + command.split()[1:], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    printed = "\n".join(line.rstrip() for line in proc.stdout.rstrip("\n").splitlines())
    assert printed == pasted
    assert "[cudnn-system-differs]" in pasted and "NVIDIA H100 80GB HBM3" in pasted


def test_readme_shows_the_clipboard_examples():
    for command in ("xclip -o | envcheck analyze -", "wl-paste | envcheck analyze -"):
        assert command in README and command in REFERENCE
    assert "pbpaste" in README and "pbpaste" in REFERENCE


def test_every_relative_link_in_the_readme_and_docs_exists():
    pages = [ROOT / "README.md"] + sorted((ROOT / "docs").rglob("*.md"))
    broken = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            if not file.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
            elif anchor and file.suffix == ".md" and anchor not in anchors(file.read_text(encoding="utf-8")):
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, broken


def anchors(markdown: str) -> set:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
            for h in re.findall(r"^#+ (.*)$", markdown, flags=re.M)}
