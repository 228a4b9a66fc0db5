"""The recipes under docs/recipes/, tested as far as this machine allows.

Every YAML parses; every shell script (and every script inside a YAML) passes `bash -n`; the
wrappers run with bash against a fake `envcheck` (and a fake `scontrol`, `pdsh`) on PATH, to check
the exit-code plumbing: 0 passes, 2 and 4 drain or fail, 3 (envcheck could not run) passes unless
asked otherwise. The sample policy parses with envcheck's own parser.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from builders import h100
from envcheck.knowledge import Knowledge
from envcheck.preflight.policy import parse_requirements
from envcheck.render.report import Report, report_data
from envcheck.rules import evaluate

ROOT = Path(__file__).resolve().parents[2]
RECIPES = ROOT / "docs" / "recipes"
BASH = shutil.which("bash")
SCRIPTS = sorted(RECIPES.rglob("*.sh"))
YAMLS = sorted(list(RECIPES.rglob("*.yml")) + list(RECIPES.rglob("*.yaml")))

FAKE_ENVCHECK = r"""#!/usr/bin/env bash
# a stand-in for envcheck: logs its arguments, answers with $FAKE_RC
printf '%s\n' "$*" >> "$FAKE_LOG"
if [ "${1:-}" = "fleet" ]; then cat > "$FAKE_FLEET_IN"; echo "fleet view"; exit 0; fi
if [ "${1:-}" = "smoke" ]; then cat "$FAKE_SMOKE"; exit 0; fi
case " $* " in
  *" --json "*) sed "s/gpu-a01/${FAKE_HOST:-gpu-a01}/" "$FAKE_REPORT" ;;
  *) echo "envcheck doctor: (terminal report)" ;;
esac
if [ "${FAKE_RC:-0}" = "4" ]; then echo "envcheck: requirement NOT MET: gpus>=8: 1 GPU(s) (nvidia-smi), needs >=8" >&2; fi
if [ "${FAKE_RC:-0}" = "3" ]; then echo "envcheck: cannot read policy file /etc/envcheck/policy.toml" >&2; fi
exit "${FAKE_RC:-0}"
"""

FAKE_SCONTROL = r"""#!/usr/bin/env bash
printf '%s\n' "$*" >> "$FAKE_SCONTROL_LOG"
if [ "$1" = "show" ]; then echo "NodeName=$3 Arch=x86_64 State=IDLE+DRAIN Reason=${FAKE_REASON:-none} [root@2025-06-01]"; fi
exit 0
"""

FAKE_SRUN = r"""#!/usr/bin/env bash
# srun --ntasks-per-node=1 --output=PATTERN --error=PATTERN CMD...: CMD once per node of $FAKE_NODES
out=/dev/stdout; err=/dev/stderr
while [ $# -gt 0 ]; do
  case $1 in --output=*) out=${1#--output=}; shift ;; --error=*) err=${1#--error=}; shift ;; --*) shift ;; *) break ;; esac
done
rc=0
for node in $FAKE_NODES; do
  FAKE_HOST=$node "$@" > "${out//%N/$node}" 2> "${err//%N/$node}" || rc=$?
done
exit $rc
"""

FAKE_PDSH = r"""#!/usr/bin/env bash
# pdsh -N -w HOSTS CMD: run CMD once per comma-separated host, locally
hosts=""; while [ $# -gt 1 ]; do case $1 in -w) hosts=$2; shift 2 ;; -N) shift ;; *) break ;; esac; done
IFS=',' read -r -a list <<< "$hosts"
for h in "${list[@]}"; do FAKE_HOST=$h bash -c "$1"; done
"""


@pytest.fixture
def fake(tmp_path):
    """A PATH with fake envcheck/scontrol/pdsh/logger, and the files they log to."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in (("envcheck", FAKE_ENVCHECK), ("scontrol", FAKE_SCONTROL), ("pdsh", FAKE_PDSH), ("srun", FAKE_SRUN),
                       ("logger", "#!/bin/sh\nexit 0\n")):
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    report = tmp_path / "report.json"
    snap = h100()
    snap.system.hostname = "gpu-a01"
    report.write_text(json.dumps(report_data(Report(snap, evaluate(snap, Knowledge()))), indent=2) + "\n")
    smoke = tmp_path / "smoke.json"
    smoke.write_text(json.dumps({"schema_version": 1, "findings": [], "smoke": {"skipped": None, "error": None, "devices": [
        {"index": 0, "name": "NVIDIA H100 80GB HBM3", "matmul": [{"dtype": "bf16", "tflops": 790.0, "ok": True}]}]}}))
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8",
           "FAKE_LOG": str(tmp_path / "envcheck.log"), "FAKE_SCONTROL_LOG": str(tmp_path / "scontrol.log"),
           "FAKE_REPORT": str(report), "FAKE_SMOKE": str(smoke), "FAKE_FLEET_IN": str(tmp_path / "fleet.in"),
           "ENVCHECK_REPORT_DIR": str(tmp_path / "reports"), "ENVCHECK_POLICY": str(tmp_path / "no-policy.toml"),
           "SLURMD_NODENAME": "gpu-a01"}

    class Fake:
        path = tmp_path

        def run(self, script: Path, *args: str, rc: int = 0, **extra: str) -> subprocess.CompletedProcess:
            e = dict(env, FAKE_RC=str(rc), **extra)
            return subprocess.run([BASH, str(script), *args], capture_output=True, text=True, env=e, timeout=60,
                                  cwd=str(tmp_path), stdin=subprocess.DEVNULL)

        def run_text(self, text: str, rc: int = 0, **extra: str) -> subprocess.CompletedProcess:
            e = dict(env, FAKE_RC=str(rc), **extra)
            return subprocess.run([BASH, "-c", text], capture_output=True, text=True, env=e, timeout=60,
                                  cwd=str(tmp_path), stdin=subprocess.DEVNULL)

        def envcheck_calls(self) -> list:
            log = tmp_path / "envcheck.log"
            return log.read_text().splitlines() if log.exists() else []

        def scontrol_calls(self) -> list:
            log = tmp_path / "scontrol.log"
            return log.read_text().splitlines() if log.exists() else []

    return Fake()


pytestmark = pytest.mark.skipif(BASH is None, reason="no bash on this machine")


# --------------------------------------------------------------------------- every file


def test_the_recipes_exist():
    names = {p.relative_to(RECIPES).as_posix() for p in RECIPES.rglob("*") if p.is_file()}
    assert {"slurm/envcheck-prolog.sh", "slurm/envcheck-healthcheck.sh", "slurm/collect.sh",
            "kubernetes/initcontainer.yaml", "kubernetes/daemonset.yaml", "ansible/envcheck.yml", "ansible/pdsh.sh",
            "github-actions/gpu-preflight.yml", "docker/Dockerfile", "docker/envcheck-entrypoint.sh",
            "policy.toml", "README.md"} <= names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.relative_to(RECIPES).as_posix())
def test_every_script_parses_and_is_executable(script):
    proc = subprocess.run([BASH, "-n", str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert script.read_text().startswith("#!/usr/bin/env bash\n")
    assert os.access(script, os.X_OK)


@pytest.mark.parametrize("path", YAMLS, ids=lambda p: p.relative_to(RECIPES).as_posix())
def test_every_yaml_parses(path):
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    assert docs


def _inline_scripts():
    """Shell scripts inside the YAML recipes: container args, workflow `run:` steps."""
    out = []
    for path in YAMLS:
        for doc in yaml.safe_load_all(path.read_text()):
            stack = [doc]
            while stack:
                node = stack.pop()
                if isinstance(node, dict):
                    if node.get("command") in (["/bin/bash", "-c"], ["bash", "-c"], ["/bin/sh", "-c"]):
                        out += [(path, a) for a in node.get("args", [])]
                    if isinstance(node.get("run"), str):
                        out.append((path, node["run"]))
                    stack += list(node.values())
                elif isinstance(node, list):
                    stack += node
    return out


def test_inline_scripts_parse():
    scripts = _inline_scripts()
    assert len(scripts) >= 4
    for path, text in scripts:
        proc = subprocess.run([BASH, "-n", "-c", text], capture_output=True, text=True)
        assert proc.returncode == 0, f"{path}: {proc.stderr}"


def test_sample_policy_parses_with_envchecks_parser():
    reqs = parse_requirements([], RECIPES / "policy.toml")
    assert [r.expr for r in reqs][:3] == ["torch>=2.3", "cuda", "gpus>=8"]


def test_requirements_in_recipes_are_valid():
    """Every requirement a recipe writes (--require values, ENVCHECK_REQUIRE lists, playbook vars) parses."""
    exprs = set()
    for path in SCRIPTS + YAMLS + [RECIPES / "docker" / "Dockerfile", RECIPES / "README.md"]:
        text = path.read_text()
        exprs |= set(re.findall(r"--require '([^']+)'", text))
        exprs |= set(re.findall(r'"--require",\s*"([^"]+)"', text))
        if path.suffix != ".md":  # prose says "a --require requirement"
            exprs |= set(re.findall(r"--require ([a-z][a-z0-9.-]*)(?=[\s\"'\]])", text))
        for value in re.findall(r"ENVCHECK_REQUIRE='([^']+)'", text):
            exprs |= set(value.split(";"))
    for path in YAMLS:
        for doc in yaml.safe_load_all(path.read_text()):
            stack = [doc]
            while stack:
                node = stack.pop()
                if isinstance(node, dict):
                    if node.get("name") == "ENVCHECK_REQUIRE" and "value" in node:
                        exprs |= set(node["value"].split(";"))
                    if isinstance(node.get("envcheck_require"), list):
                        exprs |= set(node["envcheck_require"])
                    stack += list(node.values())
                elif isinstance(node, list):
                    stack += node
    exprs = {e for e in exprs if e and "$" not in e}
    assert {"cuda", "driver>=535", "smoke-bf16>=500", "gpus>=8", "torch>=2.3", "no-finding=gpu-health"} <= exprs, exprs
    parse_requirements(sorted(exprs), None)  # raises on a bad one


# --------------------------------------------------------------------------- SLURM


PROLOG = RECIPES / "slurm" / "envcheck-prolog.sh"
HEALTH = RECIPES / "slurm" / "envcheck-healthcheck.sh"


def test_prolog_passes_a_sound_node(fake):
    proc = fake.run(PROLOG, rc=0, ENVCHECK_REQUIRE="gpus>=8;driver>=535")
    assert proc.returncode == 0, proc.stderr
    assert fake.scontrol_calls() == []
    assert fake.envcheck_calls() == ["doctor --json --timeout 10 --require gpus>=8 --require driver>=535"]
    report = json.loads((fake.path / "reports" / "gpu-a01.json").read_text())
    assert report["snapshot"]["system"]["hostname"] == "gpu-a01"


def test_prolog_warnings_still_pass(fake):
    assert fake.run(PROLOG, rc=1).returncode == 0 and fake.scontrol_calls() == []


def test_prolog_drains_on_an_unmet_requirement(fake):
    proc = fake.run(PROLOG, rc=4)
    assert proc.returncode == 1
    [call] = fake.scontrol_calls()
    assert call.startswith("update nodename=gpu-a01 state=drain reason=envcheck: requirement NOT MET: gpus>=8")


def test_prolog_drains_on_error_findings_naming_the_first(fake, tmp_path):
    snap = h100()
    snap.torch.cuda_available = False
    (tmp_path / "report.json").write_text(json.dumps(report_data(Report(snap, evaluate(snap, Knowledge()))),
                                                     indent=2))
    proc = fake.run(PROLOG, rc=2)
    assert proc.returncode == 1
    [call] = fake.scontrol_calls()
    assert "state=drain reason=envcheck: error finding cuda-unavailable" in call


def test_prolog_policy_file_and_python(fake, tmp_path):
    policy = tmp_path / "policy.toml"
    policy.write_text('require = ["cuda"]\n')
    fake.run(PROLOG, rc=0, ENVCHECK_POLICY=str(policy), ENVCHECK_PYTHON="/opt/venv/bin/python")
    assert fake.envcheck_calls() == [f"doctor --json --timeout 10 --python /opt/venv/bin/python --policy {policy}"]


def test_prolog_does_not_drain_when_envcheck_itself_fails(fake):
    proc = fake.run(PROLOG, rc=3)
    assert proc.returncode == 0 and fake.scontrol_calls() == []
    assert "could not run (exit 3)" in proc.stderr
    proc = fake.run(PROLOG, rc=70, ENVCHECK_ON_ERROR="drain")
    assert proc.returncode == 1 and "state=drain reason=envcheck: could not run (exit 70)" in fake.scontrol_calls()[0]


def test_prolog_when_envcheck_is_missing(fake, tmp_path):
    proc = fake.run(PROLOG, ENVCHECK=str(tmp_path / "not-installed"))
    assert proc.returncode == 0 and fake.scontrol_calls() == []
    assert "exit 127" in proc.stderr


def test_healthcheck_drains_and_resumes_only_its_own(fake):
    proc = fake.run(HEALTH, rc=4, ENVCHECK_FAST="1")
    assert proc.returncode == 1
    assert fake.envcheck_calls() == ["doctor --json --timeout 10 --fast"]
    assert fake.scontrol_calls()[0].startswith("update nodename=gpu-a01 state=drain reason=envcheck: requirement NOT MET")
    # the node passes again; envcheck drained it: resume
    fake.run(HEALTH, rc=0, FAKE_REASON="envcheck: requirement NOT MET: gpus>=8")
    assert fake.scontrol_calls()[-2:] == ["show node gpu-a01", "update nodename=gpu-a01 state=resume"]
    # drained by an admin for another reason: leave it alone
    before = len(fake.scontrol_calls())
    assert fake.run(HEALTH, rc=0, FAKE_REASON="replacing-psu").returncode == 0
    assert fake.scontrol_calls()[before:] == ["show node gpu-a01"]
    # envcheck could not run: no drain
    before = len(fake.scontrol_calls())
    assert fake.run(HEALTH, rc=3).returncode == 0 and fake.scontrol_calls()[before:] == []


def test_srun_collection_feeds_fleet(fake, tmp_path):
    """collect.sh with a fake srun on two nodes: one doctor and one smoke file per node, read back by the real fleet."""
    from envcheck.fleet import load

    out = tmp_path / "collected"
    proc = fake.run(RECIPES / "slurm" / "collect.sh", "--policy", "/etc/envcheck/policy.toml", rc=4,
                    FAKE_NODES="gpu-a01 gpu-a02", ENVCHECK_OUT=str(out))
    assert proc.returncode == 0, proc.stderr  # exit 4 on a node is an answer, not a failed collection
    assert sorted(p.name for p in out.glob("*.json")) == ["gpu-a01.json", "gpu-a01.smoke.json", "gpu-a02.json",
                                                         "gpu-a02.smoke.json"]
    calls = fake.envcheck_calls()
    assert calls.count("doctor --json --policy /etc/envcheck/policy.toml") == 2
    assert calls.count("smoke --json --no-multi") == 2
    assert calls[-1] == f"fleet {out} --html {out}/fleet.html"
    fleet = load([str(out)])
    assert fleet.skipped == [] and fleet.duplicates == 0
    assert [n.name for n in fleet.nodes] == ["gpu-a01", "gpu-a02"]
    assert all(n.has_doctor and n.has_smoke and n.gpu_rates[0].tflops == 790.0 for n in fleet.nodes)


# --------------------------------------------------------------------------- Docker


ENTRY = RECIPES / "docker" / "envcheck-entrypoint.sh"


@pytest.mark.parametrize("rc, mode, starts, code", [
    (0, "enforce", True, 0), (1, "enforce", True, 0), (2, "enforce", False, 2), (4, "enforce", False, 4),
    (4, "warn", True, 0), (3, "enforce", True, 0), (70, "enforce", True, 0), (4, "off", True, 0),
])
def test_entrypoint_exit_code_plumbing(fake, rc, mode, starts, code):
    proc = fake.run(ENTRY, "bash", "-c", 'echo "started $0 $1"', "train.py", "--epochs=1", rc=rc, ENVCHECK_MODE=mode)
    assert proc.returncode == code, proc.stderr
    assert ("started train.py --epochs=1" in proc.stdout) == starts
    assert (fake.envcheck_calls() == []) == (mode == "off")
    assert "envcheck doctor" not in proc.stdout  # the report goes to stderr: stdout is the command's


def test_entrypoint_passes_requirements_and_writes_a_report(fake, tmp_path):
    out = tmp_path / "envcheck.json"
    proc = fake.run(ENTRY, "true", ENVCHECK_REQUIRE="cuda;gpus>=8;;smoke-bf16>=500", ENVCHECK_REPORT=str(out),
                    ENVCHECK_ARGS="--strict --timeout 20")
    assert proc.returncode == 0
    assert fake.envcheck_calls() == ["doctor --no-facts --require cuda --require gpus>=8 --require smoke-bf16>=500 "
                                     "--strict --timeout 20 --json"]
    assert json.loads(out.read_text())["verdict"] == "ok"


def test_entrypoint_execs_the_command(fake):
    proc = fake.run(ENTRY, "bash", "-c", "echo pid-$$ parent-$PPID")
    assert proc.returncode == 0 and proc.stdout.startswith("pid-")


def test_dockerfile_copies_what_exists_and_uses_the_wrapper():
    text = (RECIPES / "docker" / "Dockerfile").read_text()
    for line in text.splitlines():
        if line.startswith("COPY "):
            for src in line.split()[1:-1]:
                assert (ROOT / src).exists(), src
    entry = re.search(r"^ENTRYPOINT (.+)$", text, flags=re.M).group(1)
    target = json.loads(entry)[0]
    assert f"COPY docs/recipes/docker/envcheck-entrypoint.sh {target}" in text
    assert re.search(r"^CMD \[", text, flags=re.M)  # exec form, handed to the wrapper as "$@"


# --------------------------------------------------------------------------- Kubernetes


def _docs(name):
    return [d for d in yaml.safe_load_all((RECIPES / "kubernetes" / name).read_text()) if d]


def test_initcontainer_checks_before_training():
    docs = {d["kind"]: d for d in _docs("initcontainer.yaml")}
    pod = docs["Job"]["spec"]["template"]["spec"]
    [init] = pod["initContainers"]
    assert init["command"][:2] == ["envcheck", "doctor"] and "--policy" in init["command"]
    assert init["image"] == pod["containers"][0]["image"]  # the job's own torch is judged
    assert init["resources"]["limits"]["nvidia.com/gpu"] == pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"]
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    policy = docs["ConfigMap"]["data"]["policy.toml"]
    path = Path(init["volumeMounts"][0]["mountPath"]) / "policy.toml"
    assert str(path) in init["command"]
    from envcheck.knowledge import load_toml  # the ConfigMap's policy is a valid policy file
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "policy.toml"
        p.write_text(policy)
        assert len(parse_requirements([], p)) == 7
        assert load_toml(p)["require"]


def test_daemonset_runs_on_gpu_nodes_and_prints_one_line_per_run(fake, tmp_path):
    ds = next(d for d in _docs("daemonset.yaml") if d["kind"] == "DaemonSet")
    spec = ds["spec"]["template"]["spec"]
    assert spec["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert any(t["key"] == "nvidia.com/gpu" for t in spec["tolerations"])
    [container] = spec["containers"]
    assert "nvidia.com/gpu" not in json.dumps(container.get("resources", {}))  # takes no GPU from jobs
    env = {e["name"]: e.get("value") for e in container["env"]}
    script = container["args"][0]
    proc = fake.run_text(script, rc=4, NODE_NAME="gpu-node-7", ENVCHECK_INTERVAL="0",
                         ENVCHECK_REPORTS=str(tmp_path / "out"), ENVCHECK_REQUIRE=env["ENVCHECK_REQUIRE"],
                         PATH=f"{tmp_path / 'bin'}:{os.path.dirname(shutil.which('python3'))}:/usr/bin:/bin")
    assert proc.returncode == 0, proc.stderr
    [line] = proc.stdout.splitlines()
    data = json.loads(line)
    assert data["node"] == "gpu-node-7" and data["verdict"] == "ok"
    assert "# envcheck: requirement NOT MET" in proc.stderr
    assert (tmp_path / "out" / "gpu-node-7.json").exists()
    assert fake.envcheck_calls() == ["doctor --json --require cuda --require driver>=535 --require no-finding=gpu-health"]


# --------------------------------------------------------------------------- Ansible, pdsh, GitHub Actions


def test_ansible_playbook_shape():
    plays = yaml.safe_load((RECIPES / "ansible" / "envcheck.yml").read_text())
    tasks = plays[0]["tasks"]
    run = tasks[0]
    assert "'doctor', '--json'" in run["ansible.builtin.command"]["argv"]
    assert run["failed_when"] == "doctor.rc not in [0, 1, 2, 4]"
    assert any(t.get("delegate_to") == "localhost" for t in tasks)
    assert plays[1]["hosts"] == "localhost"
    assert plays[1]["tasks"][0]["ansible.builtin.command"]["argv"][:2] == ["envcheck", "fleet"]


def test_pdsh_line_gives_one_json_line_per_host(fake, tmp_path):
    python_dir = os.path.dirname(shutil.which("python3"))
    proc = fake.run(RECIPES / "ansible" / "pdsh.sh", "--json", NODES="gpu-1,gpu-2,gpu-3",
                    PATH=f"{tmp_path / 'bin'}:{python_dir}:/usr/bin:/bin")
    assert proc.returncode == 0, proc.stderr
    lines = (tmp_path / "fleet.in").read_text().splitlines()
    assert len(lines) == 3 and all(json.loads(l)["verdict"] == "ok" for l in lines)
    calls = fake.envcheck_calls()
    assert calls.count("doctor --json --require cuda --require driver>=535") == 3
    assert "fleet - --json" in calls
    assert not list(tmp_path.glob("=*"))  # `driver>=535` reached envcheck, not a shell redirection


def test_github_workflow(fake, tmp_path):
    wf = yaml.safe_load((RECIPES / "github-actions" / "gpu-preflight.yml").read_text())
    jobs = wf["jobs"]
    assert "self-hosted" in jobs["preflight"]["runs-on"] and "gpu" in jobs["preflight"]["runs-on"]
    assert jobs["gpu-tests"]["needs"] == "preflight"
    steps = {s.get("name"): s for s in jobs["preflight"]["steps"]}
    assert steps["Keep the report"]["if"] == "always()"
    doctor = steps["envcheck doctor"]
    python_dir = os.path.dirname(shutil.which("python3"))
    for rc, expect in ((0, 0), (2, 2), (4, 4), (3, 0)):
        out, summary = tmp_path / f"out{rc}", tmp_path / f"summary{rc}"
        proc = fake.run_text("set -eo pipefail\n" + doctor["run"], rc=rc, GITHUB_OUTPUT=str(out),
                             GITHUB_STEP_SUMMARY=str(summary), ENVCHECK_PYTHON="python3",
                             PATH=f"{tmp_path / 'bin'}:{python_dir}:/usr/bin:/bin")
        assert proc.returncode == expect, (rc, proc.stderr)
        assert out.read_text() == "verdict=ok\n"
        if rc == 4:
            assert "- envcheck: requirement NOT MET: gpus>=8" in summary.read_text()
    call = fake.envcheck_calls()[0]
    assert "--require torch>=2.3 --require cuda --require gpus>=1" in call
