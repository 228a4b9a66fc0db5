"""End-to-end: the real `envcheck` process against fake tools on PATH (hang, NVML mismatch, garbage, crash)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from builders import H100, h100

ROOT = Path(__file__).resolve().parents[2]


def write_tool(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


def envcheck(*args: str, env_extra: dict = None, path_dirs=(), timeout: float = 60) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH")}
    env["PATH"] = os.pathsep.join([str(d) for d in path_dirs] + ["/usr/bin", "/bin"])
    env["PYTHONPATH"] = str(ROOT)
    for name in ("LC_ALL", "LC_MESSAGES", "LANGUAGE"):
        env.pop(name, None)
    env["LANG"] = "C.UTF-8"  # these tests read English output
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "envcheck", *args], capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=str(ROOT))


def report(proc: subprocess.CompletedProcess) -> dict:
    assert proc.stdout, proc.stderr
    return json.loads(proc.stdout)


def test_json_report_shape_on_this_machine():
    proc = envcheck("doctor", "--fast", "--json", "--python", sys.executable)
    data = report(proc)
    assert set(data) >= {"schema_version", "snapshot", "findings"}
    assert data["schema_version"] == 1
    snap = data["snapshot"]
    for key in ("driver", "gpus", "cuda_toolkits", "torch", "python", "pip", "conda", "system", "env"):
        assert key in snap
    assert snap["driver"]["status"] == "not-found"
    assert snap["python"]["executable"] == sys.executable
    assert "Traceback" not in proc.stderr
    assert proc.returncode in (0, 2)


def test_hanging_nvidia_smi_is_abandoned(tmp_path):
    bin_dir = tmp_path / "bin"
    pidfile = tmp_path / "pids"
    # a grandchild in its own session keeps the pipes open: the runner must not wait for it
    write_tool(bin_dir, "nvidia-smi", f"setsid sleep 30 & echo $! >> {pidfile}\nsleep 30")
    start = time.monotonic()
    try:
        proc = envcheck("doctor", "--fast", "--json", "--timeout", "1", path_dirs=[bin_dir])
    finally:
        for pid in pidfile.read_text().split() if pidfile.exists() else []:
            try:
                os.kill(int(pid), 9)
            except OSError:
                pass
    elapsed = time.monotonic() - start
    assert elapsed < 15, elapsed
    data = report(proc)
    assert data["snapshot"]["driver"]["status"] == "timeout"
    assert "tool-timeout" in {f["code"] for f in data["findings"]}


def test_nvml_mismatch_exits_2(tmp_path):
    bin_dir = tmp_path / "bin"
    write_tool(bin_dir, "nvidia-smi", "echo 'Failed to initialize NVML: Driver/library version mismatch'\n"
                                      "echo 'NVML library version: 535.183'\nexit 18")
    proc = envcheck("doctor", "--fast", "--json", path_dirs=[bin_dir])
    data = report(proc)
    assert proc.returncode == 2
    f = {f["code"]: f for f in data["findings"]}["driver-library-mismatch"]
    assert "535.183" in f["detail"]


def test_garbage_nvidia_smi_is_a_finding_not_a_crash(tmp_path):
    bin_dir = tmp_path / "bin"
    write_tool(bin_dir, "nvidia-smi", "head -c 300 /dev/urandom; exit 0")
    proc = envcheck("doctor", "--fast", path_dirs=[bin_dir])
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "envcheck doctor" in proc.stdout


def test_crashing_interpreter(tmp_path):
    fake = write_tool(tmp_path, "python3", "kill -SEGV $$")
    proc = envcheck("doctor", "--json", "--python", str(fake), "--timeout", "5")
    data = report(proc)
    assert "Traceback" not in proc.stderr
    assert data["snapshot"]["torch"]["error_kind"] == "signal"
    assert "SIGSEGV" in data["snapshot"]["torch"]["error"]
    assert proc.returncode == 2


def test_missing_python_is_a_usage_error():
    proc = envcheck("doctor", "--python", "/nonexistent/bin/python")
    assert proc.returncode == 3
    assert "nonexistent" in proc.stderr and "Traceback" not in proc.stderr


def test_bad_option_is_a_usage_error():
    proc = envcheck("doctor", "--no-such-option")
    assert proc.returncode == 3 and "Traceback" not in proc.stderr


def test_save_then_from_round_trip(tmp_path):
    saved = tmp_path / "snap.json"
    first = envcheck("doctor", "--fast", "--json", "--save", str(saved))
    again = envcheck("doctor", "--json", "--from", str(saved))
    assert again.returncode == first.returncode
    a, b = report(first), report(again)
    assert [f["code"] for f in a["findings"]] == [f["code"] for f in b["findings"]]
    assert b["snapshot"] == a["snapshot"]


def test_from_h100_fixture_snapshot(tmp_path):
    saved = tmp_path / "h100.json"
    saved.write_text(h100().to_json())
    proc = envcheck("doctor", "--from", str(saved), "--markdown")
    assert proc.returncode == 0
    assert "cudnn-system-differs" in proc.stdout and "<details>" in proc.stdout
    assert "NVIDIA H100 80GB HBM3" in proc.stdout
    term = envcheck("doctor", "--from", str(saved), env_extra={"NO_COLOR": "1", "FORCE_COLOR": "1", "TERM": "xterm"})
    assert "\x1b[" not in term.stdout and "sound" in term.stdout


@pytest.mark.parametrize("content", ["not json at all", "[]", '{"schema_version": 99}', '{"driver": "oops"}'])
def test_bad_snapshot_file(tmp_path, content):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    proc = envcheck("doctor", "--from", str(bad))
    assert proc.returncode == 3
    assert "Traceback" not in proc.stderr and str(bad) in proc.stderr


def test_secrets_never_leave(tmp_path):
    env = {"PIP_INDEX_URL": "https://alice:s3cr3tpw@pypi.example.com/simple",
           "NCCL_IB_SECRET": "topsecretvalue", "HF_TOKEN": "hf_abcdefsecret"}
    saved = tmp_path / "s.json"
    outputs = [envcheck("doctor", "--fast", "--json", "--save", str(saved), env_extra=env).stdout,
               envcheck("doctor", "--fast", "--markdown", env_extra=env).stdout,
               envcheck("doctor", "--fast", env_extra=env).stdout]
    outputs.append(saved.read_text())
    for text in outputs:
        assert "s3cr3tpw" not in text and "topsecretvalue" not in text and "hf_abcdefsecret" not in text
    assert "pypi.example.com" in outputs[0]


def test_real_fixture_output_is_parsed_end_to_end(tmp_path):
    """The recorded nvidia-smi of the H100 box, served by a fake nvidia-smi, gives the real GPU facts."""
    bin_dir = tmp_path / "bin"
    xml = H100 / "nvidia-smi-q-x.xml"
    write_tool(bin_dir, "nvidia-smi", f'case "$*" in *-x*) cat {xml};; *compute_cap*) '
                                      'echo "0, GPU-ed6ac0e0-8b93-9e42-3f24-840158633ab4, 9.0";; *) exit 1;; esac')
    data = report(envcheck("doctor", "--fast", "--json", path_dirs=[bin_dir]))
    gpu = data["snapshot"]["gpus"][0]
    assert gpu["name"] == "NVIDIA H100 80GB HBM3" and gpu["compute_capability"] == "9.0"
    assert data["snapshot"]["driver"]["cuda_version"] == "13.0"


def test_doctor_on_a_real_cpu_torch_venv(torch_venv):
    """--python pointing at a real venv with the CPU wheel: the live probe imports it for real."""
    from conftest import venv_python
    python = str(venv_python(torch_venv))
    data = report(envcheck("doctor", "--json", "--python", python))
    torch = data["snapshot"]["torch"]
    assert torch["version"] == "2.13.0+cpu" and torch["live"] is True
    assert torch["cuda"] is None and torch["cuda_available"] is False and torch["error"] is None
    assert torch["import_s"] > 0
    codes = {f["code"] for f in data["findings"]}
    assert codes == {"no-nvidia-gpu"}  # CPU torch, no GPU: nothing wrong; nvcc 13 is not "mismatched"
    fast = report(envcheck("doctor", "--json", "--fast", "--python", python))
    assert fast["snapshot"]["torch"]["version"] == "2.13.0+cpu" and fast["snapshot"]["torch"]["live"] is False


def test_doctor_on_a_bare_venv(bare_venv):
    from conftest import venv_python
    data = report(envcheck("doctor", "--json", "--python", str(venv_python(bare_venv))))
    codes = {f["code"] for f in data["findings"]}
    assert "torch-not-installed" in codes and "torch-import-failed" not in codes


def test_early_start_only_for_runs_that_need_it():
    from envcheck.cli.entry import early_probes
    assert set(early_probes(["doctor", "--fast"])) == {"static"}
    assert early_probes(["doctor", "--from", "x.json"]) == {}
    assert early_probes(["mirrors", "list"]) == {}
    assert early_probes(["doctor", "--python", "/nonexistent/python"]) == {}
    assert set(early_probes(["install-cmd", "--python", "3.10"])) == {"static"}
    early = early_probes(["doctor", f"--python={sys.executable}", "--timeout", "5"])
    live = early["live"]
    assert live.argv[0] == sys.executable and live.timeout == 120  # --torch-timeout's default, apart from --timeout
    assert live.result().returncode == 0 and early["static"].result().returncode == 0


def test_broken_condarc_and_pip_conf_do_not_break_doctor(tmp_path):
    home = tmp_path / "home"
    (home / ".config" / "pip").mkdir(parents=True)
    (home / ".condarc").write_text("channels: [defaults\n  - : : nope\n\x00\x01")
    (home / ".config" / "pip" / "pip.conf").write_text("[global\nindex-url = \n\xff")
    proc = envcheck("doctor", "--fast", "--json", env_extra={"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")})
    data = report(proc)
    assert "Traceback" not in proc.stderr
    rcs = [rc for rc in data["snapshot"]["conda"]["condarc"] if rc["path"].endswith(".condarc")]
    assert rcs and rcs[0]["ok"] is False and rcs[0]["error"]
    assert data["snapshot"]["pip"]["errors"]


@pytest.mark.parametrize("command", [("doctor", "--fast"), ("install-cmd", "--no-gpu"), ("doctor", "--fast", "--markdown")])
def test_a_closed_pipe_ends_quietly_with_its_own_code(command):
    """`envcheck doctor | head`: 141 (128 + SIGPIPE, as a shell says it), never 1 ("warnings under --strict"),
    and no traceback or "Exception ignored" noise."""
    import os

    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before envcheck writes a byte
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1")
    proc = subprocess.Popen([sys.executable, "-m", "envcheck", *command], stdout=write_end, stderr=subprocess.PIPE,
                            env=env, cwd=str(ROOT))
    os.close(write_end)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 141, err
    assert b"Traceback" not in err and b"Exception ignored" not in err


@pytest.mark.parametrize("body", ['exit 0', 'echo "pyenv: python3.9: command not found" >&2; exit 127',
                                  'echo "hello"'])
def test_a_target_that_is_not_a_python_is_a_usage_error(tmp_path, body):
    """/bin/true, an inactive pyenv shim, a shell script: never "sound" (issue 17 req 2)."""
    fake = write_tool(tmp_path, "python3", f"#!/bin/sh\n{body}\n")
    for command in (("doctor", "--fast"), ("doctor", "--strict"), ("install-cmd",), ("smoke",)):
        proc = envcheck(*command, "--python", str(fake))
        assert proc.returncode == 3, (command, proc.stdout, proc.stderr)
        assert "is not a working Python interpreter" in proc.stderr and str(fake) in proc.stderr
        assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_a_python_that_fails_at_start_up_is_examined_not_refused(tmp_path):
    fake = write_tool(tmp_path, "python3", '#!/bin/sh\necho "Fatal Python error: init_fs_encoding" >&2\nexit 1\n')
    proc = envcheck("doctor", "--fast", "--python", str(fake))
    assert proc.returncode != 3 and "Fatal Python error" in proc.stdout
