"""Fixes act on the judged environment (issue 17 req 3): pip, uv pip and conda commands are aimed at the
target interpreter and conda env, quoted for the user's shell."""

from __future__ import annotations

from envcheck.findings import Finding, Severity, fix_step
from envcheck.i18n import Message, N_
from envcheck.rules.aim import aim_fixes, quote_path
from envcheck.snapshot import Snapshot


def _finding(*fix):
    return Finding(code="torch-not-installed", severity=Severity.WARNING, title="t", fix=list(fix))


def _snap(executable, os_name="Linux", conda_prefix=None):
    snap = Snapshot()
    snap.python.executable, snap.system.os, snap.python.conda_prefix = executable, os_name, conda_prefix
    return snap


def test_pip_uv_and_conda_commands_name_the_target():
    f = _finding("pip install torch==2.15.0", "uv pip install numpy", "conda install -c conda-forge gcc",
                 "pip uninstall -y torch   # " + Message(N_("(same version and index)")), "Check PYTHONPATH.")
    aim_fixes([f], _snap("/opt/envs/a b/bin/python", conda_prefix="/opt/conda/envs/x"))
    assert f.fix[0] == "'/opt/envs/a b/bin/python' -m pip install torch==2.15.0"
    assert f.fix[1] == "uv pip install --python '/opt/envs/a b/bin/python' numpy"
    assert f.fix[2] == "conda install -p /opt/conda/envs/x -c conda-forge gcc"
    assert str(f.fix[3]).startswith("'/opt/envs/a b/bin/python' -m pip uninstall -y torch")
    assert isinstance(f.fix[3], Message)  # the translated comment survives
    assert f.fix[4] == "Check PYTHONPATH."
    assert all(fix_step(s).kind == "command" for s in f.fix[:4])


def test_windows_paths_with_spaces_use_powershells_call_operator():
    assert quote_path(r"C:\Users\Ann Lee\venv\Scripts\python.exe", True) == \
        r'& "C:\Users\Ann Lee\venv\Scripts\python.exe"'
    assert quote_path(r"C:\venv\Scripts\python.exe", True) == r"C:\venv\Scripts\python.exe"
    f = _finding("pip install torch")
    aim_fixes([f], _snap(r"C:\Users\Ann Lee\venv\Scripts\python.exe", "Windows"))
    step = fix_step(f.fix[0])
    assert step.kind == "command" and step.shell == "powershell" and step.text.startswith('& "C:')


def test_unknown_target_leaves_fixes_alone():
    f = _finding("pip install torch")
    aim_fixes([f], Snapshot())
    assert f.fix == ["pip install torch"]
