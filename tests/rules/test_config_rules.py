"""pip-config-broken and condarc-broken (issue 16 req 6): a config file pip or conda cannot load is a finding that
names the file, the line and the tool's own reaction, and comes before any advice that runs pip or conda."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from builders import h100
from envcheck.knowledge import Knowledge
from envcheck.probes.conda import parse_condarc
from envcheck.rules import evaluate
from envcheck.snapshot import BrokenConfigFile, Snapshot

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return Knowledge()


def _cpu_torch(s: Snapshot) -> Snapshot:
    """h100 with a CPU-only torch: its fix is a `pip install`, which the broken config would make fail."""
    s.torch.version, s.torch.cuda, s.torch.arch_list = "2.11.0+cpu", None, []
    s.torch.build = "cpu"
    s.python.packages.pop("torchvision"), s.python.packages.pop("torchaudio")
    return s


def broken_snapshot() -> Snapshot:
    s = _cpu_torch(h100())
    s.pip.broken.append(BrokenConfigFile(
        path="/home/u/.config/pip/pip.conf", line=3, refused=True,
        reason="While reading from '/home/u/.config/pip/pip.conf' [line 3]: option 'index-url' in section "
               "'global' already exists"))
    s.conda.condarc.append(parse_condarc("/home/u/.condarc", "channels:\n  - defaults\n\t- conda-forge\n"))
    return s


def test_both_codes_fire_name_file_and_line_and_come_first(knowledge):
    findings = evaluate(broken_snapshot(), knowledge)
    assert [f.code for f in findings[:2]] == ["pip-config-broken", "condarc-broken"]
    assert "torch-cpu-only" in [f.code for f in findings[2:]]
    pip, conda = findings[0], findings[1]
    assert pip.severity == "error" and pip.section == "pip"
    assert "/home/u/.config/pip/pip.conf" in pip.title and "line 3" in pip.title
    assert "Configuration file could not be loaded" in pip.detail and "already exists" in pip.detail
    assert any("Correct line 3 of /home/u/.config/pip/pip.conf" in x for x in pip.fix)
    assert any("mv /home/u/.config/pip/pip.conf /home/u/.config/pip/pip.conf.broken" in x for x in pip.fix)
    assert pip.facts["line"] == 3 and pip.facts["path"] == "/home/u/.config/pip/pip.conf"
    assert conda.severity == "error" and conda.section == "conda"
    assert "/home/u/.condarc" in conda.title and "line 3" in conda.title
    assert "ConfigurationLoadError: Unable to load configuration file" in conda.detail
    assert "/home/u/.condarc" in conda.detail and "'\\t' that cannot start any token" in conda.detail
    assert any("mv /home/u/.condarc /home/u/.condarc.broken" in x for x in conda.fix)


def test_an_unreadable_pip_conf_is_a_warning_pip_skips_it(knowledge):
    s = h100()
    s.pip.broken.append(BrokenConfigFile(path="/etc/pip.conf", reason="cannot be read (Permission denied)",
                                         refused=False))
    f = [f for f in evaluate(s, knowledge) if f.code == "pip-config-broken"]
    assert len(f) == 1 and f[0].severity == "warning" and "skips it" in f[0].title
    assert any("chmod a+r /etc/pip.conf" in x for x in f[0].fix)


def test_a_condarc_with_a_wrong_typed_key_is_not_unloadable(knowledge):
    s = h100()
    rc = parse_condarc("/x/.condarc", "channels: conda-forge\n")
    assert rc.ok is False and rc.load_failed is False
    s.conda.condarc.append(rc)
    assert "condarc-broken" not in [f.code for f in evaluate(s, knowledge)]


def test_a_condarc_that_is_not_a_mapping_is_unloadable(knowledge):
    s = h100()
    s.conda.condarc.append(parse_condarc("/x/.condarc", "- defaults\n- conda-forge\n"))
    f = [f for f in evaluate(s, knowledge) if f.code == "condarc-broken"]
    assert len(f) == 1 and "/x/.condarc" in f[0].title and "not a mapping" in f[0].detail


def test_healthy_configs_give_no_config_finding(knowledge):
    s = h100()
    s.conda.condarc.append(parse_condarc("/x/.condarc", "channels:\n  - conda-forge\nchannel_priority: strict\n"))
    found = [f.code for f in evaluate(s, knowledge)]
    assert "pip-config-broken" not in found and "condarc-broken" not in found


# --------------------------------------------------------------------------- end to end


def _doctor(tmp_path: Path, pip_conf: str, condarc: str) -> dict:
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "pip.conf").write_text(pip_conf)
    (tmp_path / "condarc.yml").write_text(condarc)
    env = {k: v for k, v in os.environ.items() if k not in ("CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH")}
    for name in ("LC_ALL", "LC_MESSAGES", "LANGUAGE"):
        env.pop(name, None)
    env.update(PATH="/usr/bin:/bin", PYTHONPATH=str(ROOT), LANG="C.UTF-8", HOME=str(home),
               XDG_CONFIG_HOME=str(home / ".config"), PIP_CONFIG_FILE=str(tmp_path / "pip.conf"),
               CONDARC=str(tmp_path / "condarc.yml"))
    proc = subprocess.run([sys.executable, "-m", "envcheck", "doctor", "--fast", "--json"], capture_output=True,
                          text=True, env=env, timeout=90, cwd=str(ROOT))
    assert "Traceback" not in proc.stderr and proc.stdout, proc.stderr
    return json.loads(proc.stdout)


def test_doctor_reports_broken_pip_conf_and_condarc_first(tmp_path):
    data = _doctor(tmp_path, "[global]\nindex-url = https://a.example/simple\nindex-url = https://b.example/simple\n",
                   "channels:\n  - defaults\n  - : : nope\n\t- x\n")
    codes = [f["code"] for f in data["findings"]]
    assert codes[:2] == ["pip-config-broken", "condarc-broken"], codes
    pip, conda = data["findings"][0], data["findings"][1]
    assert str(tmp_path / "pip.conf") in pip["title"] and "line 3" in pip["title"]
    assert "Configuration file could not be loaded" in pip["detail"]
    assert str(tmp_path / "condarc.yml") in conda["title"] and "line" in conda["title"]
    assert "ConfigurationLoadError" in conda["detail"]
    assert data["snapshot"]["pip"]["broken"][0]["line"] == 3


def test_doctor_with_healthy_configs_has_no_config_finding(tmp_path):
    data = _doctor(tmp_path, "[global]\nindex-url = https://a.example/simple\n", "channels:\n  - conda-forge\n")
    codes = [f["code"] for f in data["findings"]]
    assert "pip-config-broken" not in codes and "condarc-broken" not in codes
    assert data["snapshot"]["pip"]["broken"] == []
