"""Issue 15 in analyze: the finding codes pasted text carries (CUDA extensions, GPU and fabric faults, containers,
WSL, macOS, failed pip and conda installs).

Every new code fires on the real public pastes whose truth files expect it, and on none of the healthy controls nor
the cases that forbid it. A few more real messages from public threads (the source above each) are checked inline.
The signatures' knowledge lookups (first CUDA per architecture, NVIDIA's Xid catalogue, the Pythons of a torch
release, the pytorch channel's end) come from the data files, and the signatures stay linear on hostile input.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Dict, List, Set

import pytest

from envcheck.analyze import Input, analyze
from envcheck.analyze.signatures import load_catalogue, scan
from envcheck.knowledge import Knowledge, parse_toml
from envcheck.rules.codes import CODES

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fixtures" / "analyze"
PUBLIC = CORPUS / "public"
K = Knowledge()

NEW_CODES = [
    "extension-torch-mismatch",
    "extension-arch-unsupported",
    "extension-needs-newer-nvcc",
    "fabric-manager-not-running",
    "gpu-fallen-off-bus",
    "gpu-xid",
    "memory-held-by-other-process",
    "container-toolkit-missing",
    "wsl-libcuda",
    "mps-unavailable",
    "no-wheel-for-python",
    "conda-pytorch-channel-frozen",
    "conda-mirror-missing-channel",
]


def _truth(paste: Path) -> Dict:
    return parse_toml(paste.with_name(paste.stem + ".truth.toml").read_text(encoding="utf-8"))


PASTES = sorted(PUBLIC.glob("*.txt"))
TRUTHS = {p.name: _truth(p) for p in PASTES}


def codes_of(text: str, name: str = "paste.txt") -> Set[str]:
    return {f.code for f in analyze([Input(name, text)], K).findings}


def codes_of_file(path: Path) -> Set[str]:
    return codes_of(path.read_text(encoding="utf-8", errors="replace"), path.name)


# --------------------------------------------------------------------------- the catalogue, the README, the schema


def test_every_new_code_is_in_the_catalogue_the_readme_and_the_schema():
    readme = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")  # the one codes table
    rows = dict(re.findall(r"^\| `([a-z0-9-]+)` \| ((?:error|warning|info) \| \w+) \|", readme, flags=re.M))
    schema = json.loads((ROOT / "docs" / "report.schema.json").read_text(encoding="utf-8"))
    enum = schema["$defs" if "$defs" in schema else "definitions"]["finding"]["properties"]["code"]["enum"]
    for code in NEW_CODES:
        assert code in CODES, code
        assert rows.get(code) == f"{CODES[code].severity} | {CODES[code].section}", code
        assert code in enum, code
        assert CODES[code].summary and len(CODES[code].summary.splitlines()) == 1


def test_every_new_code_has_a_sourced_signature():
    signatures = load_catalogue()
    for code in NEW_CODES:
        mine = [s for s in signatures if s.code == code]
        assert mine, code
        for sig in mine:
            assert sig.source.startswith("https://"), sig.id
            assert sig.hint and sig.hint == sig.hint.lower(), sig.id


# --------------------------------------------------------------------------- the public corpus

EXPECTED = [(code, name) for name, truth in sorted(TRUTHS.items()) for code in truth["expect"] if code in NEW_CODES]
FORBIDDEN = [(code, name) for name, truth in sorted(TRUTHS.items()) for code in truth["forbid"] if code in NEW_CODES]
CONTROLS = [name for name, truth in sorted(TRUTHS.items()) if truth.get("control")]


def test_every_new_code_has_a_real_paste():
    assert {code for code, _name in EXPECTED} == set(NEW_CODES)
    assert {code for code, _name in FORBIDDEN} >= {"extension-torch-mismatch", "no-wheel-for-python", "wsl-libcuda",
                                                  "gpu-fallen-off-bus", "container-toolkit-missing"}


@pytest.mark.parametrize("code,name", EXPECTED, ids=[f"{c}:{n}" for c, n in EXPECTED])
def test_real_paste_fires_its_code(code, name):
    assert code in codes_of_file(PUBLIC / name)


@pytest.mark.parametrize("code,name", FORBIDDEN, ids=[f"{c}:{n}" for c, n in FORBIDDEN])
def test_a_paste_that_forbids_a_new_code_does_not_get_it(code, name):
    assert code not in codes_of_file(PUBLIC / name)


@pytest.mark.parametrize("name", CONTROLS)
def test_healthy_controls_get_none_of_the_new_codes(name):
    assert not codes_of_file(PUBLIC / name) & set(NEW_CODES)


def test_the_older_corpus_gets_none_of_the_new_codes():
    """The older corpus (expected.toml) lists the exact codes of each paste: none of them is new."""
    for path in sorted(CORPUS.glob("*.txt")):
        assert not codes_of_file(path) & set(NEW_CODES), path.name


# --------------------------------------------------------------------------- more real messages, inline


def test_oom_naming_another_process_is_memory_held_elsewhere():
    # https://github.com/pytorch/pytorch/pull/99699 (the message's own author, wrapped as in the PR)
    text = ("torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 138.00 MiB.\n"
            "GPU 0 has a total capacty of 15.90 GiB of which 8.44 MiB is free.\n"
            "Process 1246069 has 577.00 MiB memory in use. Including non-PyTorch memory,\n"
            "this process has 15.32 GiB memory in use. Of the allocated memory\n")
    result = analyze([Input("oom.txt", text)], K)
    [finding] = [f for f in result.findings if f.code == "memory-held-by-other-process"]
    assert finding.facts["pid"] == "1246069" and finding.facts["other"] == "577.00 MiB"


def test_oom_whose_only_process_is_the_job_itself_is_not_memory_held_elsewhere():
    # https://github.com/vllm-project/vllm/issues/2140: in a container torch lists its own process by PID
    # (21.65 GiB in use, 21.32 GiB of it allocated by PyTorch) and prints no "this process" line
    text = ("> torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 518.00 MiB. GPU 0 has a total "
            "capacty of 21.67 GiB of which 4.06 MiB is free. Process 2417585 has 21.65 GiB memory in use. Of the "
            "allocated memory 21.32 GiB is allocated by PyTorch, and 1018.00 KiB is reserved by PyTorch but "
            "unallocated. If reserved but unallocated memory is large try setting max_split_size_mb to avoid "
            "fragmentation.  See documentation for Memory Management and PYTORCH_CUDA_ALLOC_CONF")
    codes = codes_of(text)
    assert "cuda-out-of-memory" in codes and "memory-held-by-other-process" not in codes


def test_old_oom_where_torch_holds_most_memory_is_not_memory_held_elsewhere():
    # https://github.com/Strawberry-Eat-Mango/PCT_Pytorch/issues/27: 3.00 GiB of 3.94 GiB reserved by torch itself
    text = ("RuntimeError: CUDA out of memory. Tried to allocate 16.00 MiB (GPU 0; 3.94 GiB total capacity; 2.98 GiB "
            "already allocated; 14.25 MiB free; 3.00 GiB reserved in total by PyTorch) If reserved memory is >> "
            "allocated memory try setting max_split_size_mb to avoid fragmentation.")
    codes = codes_of(text)
    assert "cuda-out-of-memory" in codes and "memory-held-by-other-process" not in codes


def test_xid_79_is_fallen_off_the_bus_not_another_xid():
    # https://github.com/NVIDIA/open-gpu-kernel-modules/issues/1151
    text = ("May 18 19:02:39 kernel: NVRM: GPU at PCI:0000:2b:00: GPU-0b11d014-1685-04bd-26ed-5fc0bc1c44ae\n"
            "May 18 19:02:39 kernel: NVRM: Xid (PCI:0000:2b:00): 79, GPU has fallen off the bus.\n"
            "May 18 19:02:39 kernel: NVRM: GPU 0000:2b:00.0: GPU has fallen off the bus.\n")
    result = analyze([Input("kern.log", text)], K)
    codes = {f.code for f in result.findings}
    assert "gpu-fallen-off-bus" in codes and "gpu-xid" not in codes
    [finding] = [f for f in result.findings if f.code == "gpu-fallen-off-bus"]
    assert finding.facts["pci"] == "0000:2b:00" and "0000:2b:00" in finding.title


def test_an_xid_is_worded_from_nvidias_catalogue():
    # https://pastebin.com/fTNHmgzB (a kernel log with Xid 31 and 69), the line as logged
    text = ("May 13 17:19:01 hyperion kernel: NVRM: Xid (PCI:0000:08:00): 31, Ch 0000003b, intr 10000000. MMU Fault: "
            "ENGINE GRAPHICS HUBCLIENT_SCC faulted @ 0x0_04687000. Fault is of type FAULT_PDE ACCESS_TYPE_READ")
    [finding] = [f for f in analyze([Input("kern.log", text)], K).findings if f.code == "gpu-xid"]
    event = K.xid_event(31)
    assert event is not None and event.meaning in finding.title and event.action in finding.detail
    assert finding.facts["xid"] == "31" and finding.facts["xid_meaning"] == event.meaning


def test_nvidia_container_cli_initialization_error_is_the_container_toolkit():
    # https://github.com/NVIDIA/nvidia-docker/issues/1711
    text = ("docker: Error response from daemon: failed to create shim task: OCI runtime create failed: runc create "
            "failed: unable to start container process: error during container init: error running hook #0: error "
            "running hook: exit status 1, stdout: , stderr: Auto-detected mode as 'legacy'\n"
            "nvidia-container-cli: initialization error: load library failed: libnvidia-ml.so.1: cannot open shared "
            "object file: no such file or directory: unknown.\n")
    codes = codes_of(text)
    assert "container-toolkit-missing" in codes and "driver-not-loaded" not in codes


def test_the_device_handle_error_in_a_paste_of_nvidia_smi():
    # https://github.com/pdbear/syno_nvidia_gpu_driver/issues/22
    text = "$ nvidia-smi\nUnable to determine the device handle for GPU0000:07:00.0: Unknown Error\n"
    assert "gpu-fallen-off-bus" in codes_of(text)


def test_an_extension_under_an_environment_named_like_one_is_not_blamed():
    """A conda env called "vllm" holding torch's own library: the undefined symbol is torch's, not vllm's."""
    text = ("ImportError: /home/u/miniconda3/envs/vllm/lib/python3.10/site-packages/torch/lib/libtorch_cuda.so: "
            "undefined symbol: _ZN3c104cuda9SetDeviceEi")
    codes = codes_of(text)
    assert "undefined-symbol" in codes and "extension-torch-mismatch" not in codes


def test_nvcc_refusing_an_old_architecture_is_not_called_too_old():
    """CUDA 13's nvcc refuses compute_70 because it is too new for it: not extension-needs-newer-nvcc."""
    assert "extension-needs-newer-nvcc" not in codes_of("nvcc fatal   : Unsupported gpu architecture 'compute_70'")
    assert "extension-needs-newer-nvcc" not in codes_of("nvcc fatal   : Unsupported gpu architecture 'compute_101'")


# --------------------------------------------------------------------------- facts from the knowledge data


def test_the_first_cuda_for_an_architecture_comes_from_the_data():
    cases = {"log-make-nvcc-fatal-compute-89-nvbandwidth.txt": "compute_89",
             "log-nvcc-8.0-fatal-compute-75-rtx2080ti.txt": "compute_75",
             "log-nvcc-fatal-compute-86-cuda-11.0.txt": "compute_86"}
    for name, arch in cases.items():
        [finding] = [f for f in analyze([Input(name, (PUBLIC / name).read_text(encoding="utf-8"))], K).findings
                     if f.code == "extension-needs-newer-nvcc"]
        first = K.cuda_first_for_arch(arch)
        assert first and finding.facts["first_cuda"] == first and f"CUDA {first}" in finding.title
    # the maintainers of those threads: 4090 (sm_89) needs 11.8, 2080 Ti (sm_75) needs 10.0, sm_86 needs 11.1
    assert [K.cuda_first_for_arch(a) for a in ("compute_89", "sm_75", "86")] == ["11.8", "10.0", "11.1"]
    assert K.cuda_first_for_arch("sm_90a") is None and K.cuda_first_for_arch("sm_30") is None


def test_the_architectures_nvcc_is_judged_on_are_above_every_floor():
    """The nvcc signature judges sm_75 and newer only: no CUDA major in the data has dropped any of them."""
    assert max(int(f.oldest_arch.split("_")[1]) for f in K.cuda_arch_floors()) <= 75


def test_every_xid_row_is_complete_and_79_is_fallen_off_the_bus():
    events = K.xid_events()
    assert len({e.xid for e in events}) == len(events) >= 15
    for event in events:
        assert event.meaning and event.action in {"RESTART_APP", "RESET_GPU", "IGNORE", "CONTACT_SUPPORT"}
    assert K.xid_event("79").meaning == "GPU has fallen off the bus" and K.xid_event("999") is None


def test_no_wheel_names_the_pythons_of_the_release_and_the_newest_pip_sees():
    name = "pip-torch-1.13.1-no-wheel-python-3.11-windows.txt"
    [finding] = [f for f in analyze([Input(name, (PUBLIC / name).read_text(encoding="utf-8"))], K).findings
                 if f.code == "no-wheel-for-python"]
    pythons = K.torch_release("1.13.1").python
    assert pythons and finding.facts["pythons"] == pythons and pythons in finding.detail
    assert finding.facts["newest"] == "2.4.1"


def test_the_frozen_channel_pattern_agrees_with_the_data():
    last = K.conda_facts().pytorch_channel_last
    major, minor = (int(x) for x in last.split(".")[:2])
    header = "PackagesNotFoundError: The following packages are not available from current channels:\n\n  - "
    fires = lambda spec: "conda-pytorch-channel-frozen" in codes_of(header + spec + "\n")  # noqa: E731
    assert fires(f"pytorch={major}.{minor + 1}*") and fires(f"pytorch=={major}.{minor + 5}.0")
    assert not fires(f"pytorch={last}") and not fires(f"pytorch={major}.{minor}*") and not fires("pytorch=1.13")
    [finding] = [f for f in analyze([Input("x", header + f"pytorch={major}.{minor + 1}*\n")], K).findings
                 if f.code == "conda-pytorch-channel-frozen"]
    assert finding.facts["last"] == last and last in finding.title


# --------------------------------------------------------------------------- the regexes stay linear


ISSUE15_IDS = [s.id for s in load_catalogue() if s.code in NEW_CODES]
HOSTILE = [
    "flash_attn" + "/x" * 4000 + " undefined",
    "vllm_" * 5000 + ": undefined",
    "Process 1 has 1 MiB memory in use. " * 800 + "Including non-PyTorch memory,",
    "Could not find a version that satisfies the requirement torch==2.1.0 (from versions: " + "2.1.1, " * 3000,
    "Python platform: macOS-14.0-x86_64\n" * 200 + "memory in use -x86_64",
    "NVRM: Xid (PCI:0000:" * 2000,
    "PackagesNotFoundError: The following packages are not available from current channels:" + " " * 20000 + "-",
    "UnavailableInvalidChannel: HTTP 404 " + "A" * 20000,
    "nvcc fatal" + " " * 20000 + ":",
    "fabric manager NVIDIA GPU driver interface version " + "1." * 10000,
]


@pytest.mark.parametrize("unit", range(len(HOSTILE)))
def test_the_new_signatures_are_linear(unit):
    signatures = [s for s in load_catalogue() if s.id in ISSUE15_IDS]

    def cost(times: int) -> float:
        text = HOSTILE[unit] * times
        start = time.perf_counter()
        scan(text, "hostile", signatures)
        return time.perf_counter() - start

    cost(1)
    t1, t8 = min(cost(1) for _ in range(3)), min(cost(8) for _ in range(3))
    assert t8 < max(t1 * 24, 0.05), (unit, t1, t8)  # linear is ~8x; quadratic would be ~64x


def test_each_match_contains_its_hint():
    """The hint is a pre-filter: every real match of a new signature must contain it."""
    signatures = [s for s in load_catalogue() if s.id in ISSUE15_IDS]
    seen: List[str] = []
    for paste in PASTES:
        text = paste.read_text(encoding="utf-8", errors="replace")
        for sig in signatures:
            for match in sig.regex.finditer(text):
                assert sig.hint in match.group(0).lower(), (sig.id, paste.name)
                seen.append(sig.id)
    assert len(set(seen)) >= 20


# --------------------------------------------------------------------------- extensions from a pasted list


PIP_LIST_WITH_EXTENSIONS = """\
Package           Version
----------------- ----------------
flash-attn        2.5.8
numpy             1.26.4
torch             2.1.1+cu118
torch-scatter     2.1.2+pt20cu118
torchvision       0.16.1+cu118
"""


def test_a_pasted_pip_list_fills_the_extension_inventory_the_rules_read():
    """The same rules as doctor: torch-scatter's build tag names torch 2.0 beside torch 2.1 (the rusty1s/
    pytorch_scatter#414 situation), and flash-attn 2 on a T4 (sm_75) from the collect_env pasted with it."""
    colab = (CORPUS / "ce-1.7.0-cu101-colab.txt").read_text(encoding="utf-8")
    result = analyze([Input("pip.txt", PIP_LIST_WITH_EXTENSIONS), Input("ce.txt", colab)], Knowledge())
    names = {e.name: e for e in result.snapshot.torch.extensions}
    assert set(names) == {"flash-attn", "torch-scatter"}
    assert (names["torch-scatter"].built_torch, names["torch-scatter"].built_cuda) == ("2.0", "11.8")
    assert names["torch-scatter"].requires_torch is None  # a pip list shows no Requires-Dist: unknown
    codes = {f.code: f for f in result.findings}
    assert "torch-scatter" in str(codes["extension-torch-mismatch"].title)
    assert "extension-arch-unsupported" in codes


def test_no_list_no_extensions():
    colab = (CORPUS / "ce-1.7.0-cu101-colab.txt").read_text(encoding="utf-8")
    assert analyze([Input("ce.txt", colab)], Knowledge()).snapshot.torch.extensions == []
