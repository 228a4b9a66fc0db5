"""Chinese output (issue 8): the catalogue is complete and current, and every command of this slice
(doctor, install-cmd, smoke, mirrors) speaks Chinese under --lang zh, on the recorded machines.

"No English left" is checked with a heuristic: after removing what is never translated (commands,
paths, URLs, quoted tool messages, options, versions, codes and a list of product names and
technical terms), no run of three English words may remain.
"""

from __future__ import annotations

import copy
import gettext
import io
import json
import os
import re
import string
import subprocess
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional

import pytest
from rich.cells import cell_len
from rich.console import Console

from builders import cpu_box, h100
from envcheck.i18n import LOCALE_DIR, english, gettext_for, resolve_lang, text_in, translator
from envcheck.i18n.catalog import all_messages, data_messages
from envcheck.knowledge import Knowledge
from envcheck.render.facts import sections
from envcheck.render.markdown import render_markdown
from envcheck.render.report import Report
from envcheck.render.terminal import render_terminal
from envcheck.rules import evaluate
from envcheck.snapshot import CondaPackage, CudaToolkit, LoadedLibrary, PciDevice, ProbeIssue, Snapshot

ROOT = Path(__file__).resolve().parents[2]
PO = LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "envcheck.po"
MO = PO.with_suffix(".mo")
K = Knowledge()
ZH = gettext_for("zh")


# --------------------------------------------------------------------------- the heuristic


#: product names and technical terms that stay as they are in Chinese text
KEEP = {w.lower() for w in """
    NVIDIA CUDA cuDNN GPU GPUs CPU PyTorch torch torchvision torchaudio triton conda pip uv nvcc nvidia-smi NCCL NVML
    MIG PCIe ECC RMA PTX JIT SASS cubin Python Linux Windows macOS Ubuntu LTS Docker Kubernetes DataLoader Secure Boot
    MOK TUNA PyPI Anaconda wheel wheels ROCm MPS venv base glibc gcc clang ninja envcheck doctor smoke install-cmd
    mirrors Xid UUID MiB GiB KiB TFLOP GB dtype defaults channels ok open Disabled Enabled HBM GeForce RTX GTX
    Simple Repository SIGSEGV matmul all-reduce bfloat float conv emptyDir medium Memory
    distutils cpp_extension repodata mirrorz-help BFSU USTC SJTUG NJU H2D D2H D2D x16 gen cc sm NVIDIA's
""".split()}
KEEP |= {name.lower() for m in Knowledge().mirrors() for name in m.conda_channels}  # conda channel names
COMMAND_WORDS = ("pip", "pip3", "uv", "sudo", "conda", "export", "unset", "nvidia-smi", "python", "python3", "ls",
                 "lsmod", "echo", "env", "docker", "mamba", "envcheck", "lspci", "dmesg", "modprobe", "apt", "dcgmi")
_CJK = "\u3000-\u303f\u4e00-\u9fff\uff00-\uffef"


def english_runs(text: str, literals=()) -> List[str]:
    """Runs of three or more English words left in ``text`` once the untranslatable parts are removed."""
    for literal in literals:
        if literal:
            text = text.replace(literal.strip(), " | ")
    text = re.sub(r"`[^`\n]*`|'[^'\n]*'|“[^”\n]*”|\"[^\"\n]*\"", " | ", text)  # code and quoted tool messages
    text = re.sub(r"\b\w+(Error|Exception): [^\n]*", " | ", text)  # a Python exception, quoted
    text = re.sub(r"[a-z]+://\S+", " | ", text)  # URLs
    words = "|".join(re.escape(w) for w in COMMAND_WORDS)
    # a command runs from its first word to a comment, a Chinese character or the end of the line
    text = re.sub(rf"(?m)(?:^|(?<=[\s$(（：:]))(?:{words})(?= |$)[^#\n{_CJK}]*", " | ", text)
    found: List[str] = []
    run: List[str] = []
    for token in re.findall(rf"[{_CJK}]+|\||[^\s{_CJK}|]+", text):  # Chinese text and removed parts end a run
        bare = token.strip("()[],.;:!?")
        is_word = bool(re.fullmatch(r"[A-Za-z][a-z]+(?:'s)?|[A-Za-z]{2,}", bare)) and bare.lower() not in KEEP \
            and "/" not in token
        if is_word:
            run.append(bare)
            continue
        if len(run) >= 3:
            found.append(" ".join(run))
        run = []
    if len(run) >= 3:
        found.append(" ".join(run))
    return found


def assert_chinese(text: str, what: str, literals=()) -> None:
    left = english_runs(text, literals)
    assert not left, f"{what}: English left: {left}\n---\n{text}"


def test_the_heuristic_catches_english_and_spares_commands():
    assert english_runs("The NVIDIA driver is not loaded")
    assert english_runs("驱动未加载。Pick another with --python")
    assert not english_runs("      $ sudo apt install build-essential   # 或你的发行版的 gcc/g++")
    assert not english_runs("nvidia-smi 报告：“No devices were found”")
    assert not english_runs("torch 2.11.0+cu130，位于 /opt/torch/.venv/lib/python3.12/site-packages/torch")
    assert not english_runs("GPU 0 (NVIDIA GeForce RTX 4090)：cc 8.9")


# --------------------------------------------------------------------------- language choice


@pytest.mark.parametrize("flag, env, lang", [
    (None, {}, "en"),
    (None, {"LANG": "zh_CN.UTF-8"}, "zh"),
    (None, {"LANG": "zh_TW.UTF-8"}, "zh"),
    (None, {"LANG": "en_US.UTF-8"}, "en"),
    (None, {"LANG": "C.UTF-8"}, "en"),
    (None, {"LANG": "fr_FR.UTF-8"}, "en"),
    (None, {"LANG": "zh_CN.UTF-8", "LC_MESSAGES": "en_US.UTF-8"}, "en"),
    (None, {"LANG": "en_US.UTF-8", "LC_MESSAGES": "zh_CN.UTF-8"}, "zh"),
    (None, {"LANG": "zh_CN.UTF-8", "LC_ALL": "C"}, "en"),
    (None, {"LC_ALL": "zh_CN.UTF-8", "LC_MESSAGES": "en_US.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),
    (None, {"LC_ALL": "", "LANG": "zh_CN.UTF-8"}, "zh"),  # set but empty: the next one decides (POSIX)
    ("en", {"LANG": "zh_CN.UTF-8"}, "en"),
    ("zh", {"LANG": "en_US.UTF-8"}, "zh"),
    ("zh_CN", {}, "zh"),
])
def test_resolve_lang(flag, env, lang):
    assert resolve_lang(flag, env) == lang


def test_unknown_lang_is_refused():
    with pytest.raises(ValueError):
        resolve_lang("klingon", {})


def test_translators():
    assert type(translator("en")) is gettext.NullTranslations
    zh = translator("zh")
    assert isinstance(zh, gettext.GNUTranslations), "the compiled catalogue did not load"
    assert zh.gettext("No problems found.") == "未发现问题。"
    assert english("No problems found.") == "No problems found."


# --------------------------------------------------------------------------- the catalogue


def read_catalogue():
    try:
        from babel.messages.pofile import read_po
    except ImportError:  # a failure, not a skip: a skipped check would let a missing translation through
        pytest.fail("the catalogue tests need Babel, from the test extra: pip install -e '.[test]'")
    with open(PO, "rb") as fh:
        return read_po(fh, locale="zh_CN", domain="envcheck")


def fields(text: str) -> List[str]:
    return sorted({name for _, name, _, _ in string.Formatter().parse(text) if name is not None})


def test_every_message_has_a_chinese_translation():
    missing, fuzzy, mismatched = [], [], []
    for msg in read_catalogue():
        if not msg.id:
            continue
        if not msg.string.strip():
            missing.append(msg.id)
        if msg.fuzzy:
            fuzzy.append(msg.id)
        if fields(msg.id) != fields(msg.string):
            mismatched.append((msg.id, msg.string))
    assert not missing, f"{len(missing)} message(s) without a translation in {PO}: {missing[:10]}"
    assert not fuzzy, f"fuzzy translations in {PO}: {fuzzy[:10]}"
    assert not mismatched, f"translations whose {{fields}} differ from the message id: {mismatched[:5]}"


def test_every_translation_formats():
    for msg in read_catalogue():
        if msg.id and fields(msg.id):
            msg.string.format(**{name: "X" for name in fields(msg.id)})


def test_every_message_in_the_source_and_data_is_in_the_catalogue():
    messages, problems = all_messages()
    assert not problems, "\n".join(f"{p.location}:{p.line}: {p.text}" for p in problems)
    have = {msg.id for msg in read_catalogue() if msg.id}
    wanted = {m.msgid: m.locations for m in messages}
    absent = {i: loc for i, loc in wanted.items() if i not in have}
    assert not absent, ("messages used but not in the catalogue (run python -m envcheck.i18n.compile --update "
                        f"and translate them): {list(absent.items())[:10]}")
    stale = sorted(have - set(wanted))
    assert not stale, f"message ids no longer used (run python -m envcheck.i18n.compile --update): {stale[:10]}"


def test_the_data_text_envcheck_prints_is_covered():
    ids = {m.msgid for m in data_messages(K)}
    tuna = K.mirror("tuna")
    assert tuna.title in ids and " ".join(tuna.notes.split()) in ids
    assert any(e.defect in ids for e in K.known_bad())


def test_the_committed_mo_is_the_compiled_po():
    from envcheck.i18n.compile import mo_is_current

    assert mo_is_current(PO, MO), "envcheck.mo is out of date: run python -m envcheck.i18n.compile"


# --------------------------------------------------------------------------- doctor


def _kit(version: str, **kw) -> CudaToolkit:
    base = dict(version=version, full_version=version + ".0", path=f"/usr/local/cuda-{version}",
                nvcc=f"/usr/local/cuda-{version}/bin/nvcc", source="PATH", active=True, used_by_torch_extensions=True)
    base.update(kw)
    return CudaToolkit(**base)


def _variants() -> Dict[str, Callable[[], Snapshot]]:
    """The recorded machines, and the broken variants of tests/rules/test_rules.py (one or more faults each)."""
    out: Dict[str, Callable[[], Snapshot]] = {"h100": h100, "cpu box": cpu_box}

    def variant(fn):
        out[fn.__name__] = fn
        return fn

    @variant
    def driver_not_loaded():
        s = cpu_box()
        s.driver.pci_devices = [PciDevice(address="0000:01:00.0", device_id="0x2684", pci_class="0x030000",
                                          driver="nouveau")]
        s.system.container = "docker"
        return s

    @variant
    def driver_no_comm():
        s = h100()
        s.gpus, s.driver.version, s.driver.cuda_version = [], None, None
        s.driver.status = "no-driver-comm"
        s.driver.status_message = ("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
                                   "Make sure that the latest NVIDIA driver is installed and running.")
        s.system.container = "docker"
        return s

    @variant
    def driver_library_mismatch():
        s = h100()
        s.gpus, s.driver.version = [], None
        s.driver.status, s.driver.nvml_version = "driver-library-mismatch", "535.183"
        return s

    @variant
    def no_devices():
        s = h100()
        s.gpus = []
        s.driver.status, s.driver.status_message = "no-devices", "No devices were found"
        s.system.container = "docker"
        return s

    @variant
    def smi_skew():
        s = h100()
        s.driver.kernel_module_version, s.driver.nvml_version = "580.95.05", "580.95.05"
        return s

    @variant
    def driver_too_old():
        s = h100()
        s.driver.version, s.driver.cuda_version = "535.104.05", "12.2"
        return s

    @variant
    def minor_compat():
        s = h100()
        s.driver.version, s.driver.cuda_version = "535.104.05", "12.2"
        s.torch.version, s.torch.cuda = "2.6.0+cu126", "12.6"
        s.python.packages.pop("torchvision"), s.python.packages.pop("torchaudio")
        return s

    @variant
    def driver_too_old_says_torch():
        s = h100()
        s.driver.version, s.driver.cuda_version = "470.82.01", "11.4"
        s.torch.cuda_available = False
        s.torch.cuda_warning = ("The NVIDIA driver on your system is too old (found version 11040). Please update "
                                "your GPU driver by downloading and installing a new version from the URL: ...")
        return s

    @variant
    def gpu_too_new():
        s = h100()
        s.gpus[0].name, s.gpus[0].compute_capability = "NVIDIA GeForce RTX 5090", "12.0"
        s.torch.version, s.torch.cuda = "2.6.0+cu126", "12.6"
        s.torch.arch_list = ["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"]
        return s

    @variant
    def gpu_too_old():
        s = h100()
        s.gpus[0].name, s.gpus[0].compute_capability = "NVIDIA GeForce GTX 1080", "6.1"
        return s

    @variant
    def ptx_only_and_mig():
        s = h100()
        s.torch.arch_list = ["sm_80", "compute_80"]
        s.gpus[0].mig_mode, s.gpus[0].mig_devices = "Enabled", 7
        return s

    @variant
    def gpu_health():
        s = h100()
        g = s.gpus[0]
        g.clock_event_reasons = ["hw_thermal_slowdown", "sw_thermal_slowdown"]
        g.pcie_width_current, g.pcie_gen_current = 8, 3
        g.ecc_uncorrected_volatile, g.remapped_rows_failure, g.remapped_rows_pending = 3, True, True
        g.power_limit_w, g.power_limit_default_w = 300.0, 700.0
        g.memory_used_mib = 40000
        return s

    @variant
    def import_failed_undefined_symbol():
        s = h100()
        s.torch.live, s.torch.cuda_available = True, None
        s.torch.error_kind = "import"
        s.torch.error = ("ImportError: /opt/torch/.venv/lib/python3.12/site-packages/torchvision/_C.so: undefined "
                         "symbol: _ZN3c106detail23torchInternalAssertFailEPKcS2_jS2_RKSs")
        return s

    @variant
    def import_crash():
        s = h100()
        s.torch.error, s.torch.error_kind = "killed by SIGSEGV during import torch", "signal"
        return s

    @variant
    def cudnn_missing():
        s = h100()
        s.torch.error_kind = "import"
        s.torch.error = "ImportError: libcudnn.so.9: cannot open shared object file: No such file or directory"
        return s

    @variant
    def cudnn_none():
        s = h100()
        s.torch.cudnn = None
        s.cudnn.loaded, s.cudnn.torch_reported, s.cudnn.bundled, s.cudnn.system = None, None, None, []
        return s

    @variant
    def cpu_only():
        s = h100()
        s.torch.version, s.torch.cuda, s.torch.arch_list = "2.11.0+cpu", None, []
        s.torch.build = "cpu"
        s.python.packages.pop("torchvision"), s.python.packages.pop("torchaudio")
        return s

    @variant
    def cuda_unavailable():
        s = h100()
        s.torch.cuda_available = False
        s.torch.cuda_warning = ("CUDA initialization: CUDA unknown error - this may be due to an incorrectly set up "
                                "environment")
        return s

    @variant
    def companions():
        s = h100()
        s.python.packages["torchvision"].version = "0.25.0"
        s.python.packages["torchvision"].build_version = "0.25.0+cu130"
        s.python.packages["torchaudio"].build_version = "2.11.0+cu128"
        return s

    @variant
    def duplicates():
        s = h100()
        s.torch.copies = ["/root/.local/lib/python3.12/site-packages", "/opt/torch/.venv/lib/python3.12/site-packages"]
        s.python.user_site_enabled, s.python.user_site_shadowing = True, ["torch", "numpy"]
        return s

    @variant
    def known_bad():
        s = h100()
        for entry in K.known_bad():
            if entry.kind == "package" and entry.spec.startswith("=="):
                version = entry.spec[2:].split(",")[0]
                if entry.name == "torch":
                    s.torch.dist_version = version
                else:
                    s.python.packages[entry.name] = s.python.packages["numpy"].__class__(entry.name, version)
        return s

    @variant
    def toolkits():
        s = h100()
        s.cuda_toolkits = [_kit("13.1", used_by_torch_extensions=False), _kit("12.4", active=False)]
        return s

    @variant
    def toolchain():
        s = h100()
        s.torch.version, s.torch.cuda = "2.6.0+cu124", "12.4"
        s.python.packages.pop("torchvision"), s.python.packages.pop("torchaudio")
        s.cuda_toolkits = [_kit("12.4")]
        s.system.compilers[0].version = "15.1.0"
        s.system.ninja = None
        return s

    @variant
    def no_nvcc_no_compiler():
        s = h100()
        s.cuda_toolkits, s.system.compilers = [], []
        return s

    @variant
    def ld_library_path():
        s = h100()
        s.env["LD_LIBRARY_PATH"] = "/usr/lib/x86_64-linux-gnu:/usr/local/cuda/lib64"
        s.torch.loaded_libraries = [LoadedLibrary("libcudnn.so.9", "/usr/lib/x86_64-linux-gnu/libcudnn.so.9",
                                                  "9.14.0")]
        return s

    @variant
    def visible_devices_hidden():
        s = h100()
        s.env["CUDA_VISIBLE_DEVICES"] = "-1"
        return s

    @variant
    def visible_devices_invalid_and_order():
        s = h100()
        other = copy.deepcopy(s.gpus[0])
        other.index, other.name, other.compute_capability = 1, "NVIDIA GeForce RTX 4090", "8.9"
        s.gpus.append(other)
        s.env["CUDA_VISIBLE_DEVICES"] = "0,3"
        return s

    @variant
    def conda():
        s = h100()
        s.conda.channels = ["defaults", "conda-forge", "pytorch", "nvidia"]
        s.conda.custom_channels = {"conda-forge": "https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud"}
        s.conda.channel_priority = "flexible"
        s.conda.packages = {"pytorch-cuda": CondaPackage("pytorch-cuda", "12.4", "hc786d27_7", "pytorch"),
                            "cpuonly": CondaPackage("cpuonly", "2.0", "0", "pytorch"),
                            "pytorch-mutex": CondaPackage("pytorch-mutex", "1.0", "cpu", "pytorch")}
        return s

    @variant
    def conda_pytorch_cuda_only():
        s = h100()
        s.conda.channels = ["conda-forge"]
        s.conda.packages = {"pytorch-cuda": CondaPackage("pytorch-cuda", "12.4", "hc786d27_7", "pytorch")}
        return s

    @variant
    def conda_request():
        s = h100()
        s.meta.origin = "analyze"
        s.conda.requested = ["pytorch=2.0.1", "cpuonly", "pytorch-cuda=12.4"]
        s.conda.requested_channels = ["pytorch"]
        s.driver.cuda_version = "12.2"
        return s

    @variant
    def broken_configs():
        from envcheck.probes.conda import parse_condarc
        from envcheck.snapshot import BrokenConfigFile

        s = h100()
        s.pip.broken.append(BrokenConfigFile(
            path="/home/u/.config/pip/pip.conf", line=3, refused=True,
            reason="While reading from '/home/u/.config/pip/pip.conf' [line 3]: option 'index-url' in section "
                   "'global' already exists"))
        s.conda.condarc.append(parse_condarc("/home/u/.condarc", "channels:\n  - defaults\n\t- conda-forge\n"))
        return s

    @variant
    def conda_not_initialized():
        s = cpu_box()
        s.conda.executable, s.conda.found_via, s.conda.initialized = "/root/miniconda3/bin/conda", "install-dir", False
        return s

    @variant
    def shm_and_probes():
        s = h100()
        s.system.container, s.system.shm_total_mib = "docker", 64
        s.probe_issues = [ProbeIssue("nvidia-smi", "timeout", "no answer within 10.0 s", ["nvidia-smi", "-q", "-x"]),
                          ProbeIssue("toolkits", "timeout", "no answer within 10.0 s", ["nvcc", "-V"]),
                          ProbeIssue("toolkits", "crashed", "nvcc: killed by SIGSEGV")]
        return s

    @variant
    def live_faults():  # issue 15: Xid events (real dmesg lines), a fabric not set up, a container without the GPU
        from envcheck.probes.kernel_log import parse_xid_lines
        from envcheck.snapshot import ContainerRuntime, Fabric, FabricGpu, KernelLog

        s = h100()
        logs = Path(__file__).resolve().parents[1] / "fixtures" / "probes" / "kernel_log"
        s.kernel_log = KernelLog(source="dmesg", readable=True, xids=parse_xid_lines(
            (logs / "dmesg-ctime-gpud-46.txt").read_text() + (logs / "xid79-nvsentinel-155.txt").read_text()))
        s.fabric = Fabric(nvswitch_evidence="nvswitch-pci", service="failed",
                          gpus=[FabricGpu("00000000:18:00.0", "In Progress", "N/A")])
        s.system.container = "docker"
        s.container_runtime = ContainerRuntime(dev_nodes=[], dev_scanned=True)
        return s

    @variant
    def wsl_shadowed_libcuda():  # issue 15: a Linux driver's libcuda inside WSL2
        from envcheck.snapshot import WslCuda

        s = h100()
        s.system.wsl = True
        s.wsl_cuda = WslCuda(wsl_lib=True, stub_files=["libcuda.so", "libcuda.so.1"],
                             linux_libcuda=["/usr/lib/x86_64-linux-gnu/libcuda.so.1"])
        return s

    @variant
    def mac_rosetta_mps():  # issue 15: an x86_64 Python under Rosetta on an M2, torch cannot use MPS
        from envcheck.snapshot import System, Torch

        s = cpu_box()
        s.cuda_toolkits = []
        s.system = System(os="Darwin", machine="arm64", mac_version="15.1", apple_silicon=True)
        s.torch = Torch(version="2.2.2", build="cpu", live=True, cuda_available=False, mps_built=True,
                        mps_available=False, mac_version="10.16", machine="x86_64", translated=True)
        return s

    @variant
    def conda_nvidia_on_tuna():  # issue 15: custom_channels sends nvidia to TUNA, which does not carry it
        from envcheck.probes.conda import parse_condarc

        s = cpu_box()
        s.conda.condarc.append(parse_condarc("/home/u/.condarc", "channels:\n  - nvidia\ncustom_channels:\n"
                                             "  nvidia: https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud\n"))
        return s

    @variant
    def extensions_for_other_torch():  # issue 15: a pinned xformers, a PyG tag, a cu12 flash-attn; a Turing GPU
        from envcheck.snapshot import Extension

        s = h100()
        s.gpus[0].compute_capability = "7.5"
        s.torch.extensions = [Extension("xformers", "0.0.34", requires_torch="==2.10.0"),
                              Extension("torch-scatter", "2.1.2+pt25cu121", built_torch="2.5", built_cuda="12.1"),
                              Extension("flash-attn", "2.8.3", built_torch="2.11", built_cuda="12")]
        return s

    return out


VARIANTS = _variants()


def tool_text(snap: Snapshot) -> List[str]:
    """What the snapshot quotes from tools (torch's exception, nvidia-smi's message): shown as the tool said it."""
    return [snap.torch.error or "", snap.torch.cuda_warning or "", snap.driver.status_message or "",
            *(i.message for i in snap.probe_issues), *(b.reason for b in snap.pip.broken),
            *(str(rc.error) for rc in snap.conda.condarc if rc.error)]


def zh_console(width: int = 1000) -> Console:
    return Console(file=io.StringIO(), width=width, color_system=None, highlight=False, record=True)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_doctor_in_chinese_has_no_english_sentence(name):
    snap = VARIANTS[name]()
    findings = evaluate(snap, K)  # Messages: English as str, worded in Chinese with text_in
    if name not in ("h100", "cpu box"):
        assert any(f.severity.value != "info" for f in findings) or name == "smi_skew", "a variant must break"
    literals = tool_text(snap)
    for f in findings:
        for text in [f.title, f.detail, *f.fix]:
            assert_chinese(text_in(text, ZH), f"{name} [{f.code}]", literals)
    report = Report(snap, findings)
    console = zh_console()  # wide enough that no detail wraps, so quoted tool text stays whole
    render_terminal(report, console, _=ZH)
    assert_chinese(console.export_text(), f"{name}: terminal", literals)
    assert_chinese(render_markdown(report, _=ZH), f"{name}: markdown", literals)
    assert english_runs(render_markdown(Report(snap, findings)), literals), "the check must see English"


def test_every_rule_speaks_chinese_in_some_variant():
    rules = ROOT / "envcheck" / "rules"
    emitted = {c for path in rules.glob("*.py") for c in re.findall(r'finding\(\s*"([a-z0-9-]+)"', path.read_text())}
    emitted |= {"torchvision-mismatch", "torchaudio-mismatch"}  # built as f"{name}-mismatch"
    seen = {f.code for make in VARIANTS.values() for f in evaluate(make(), K)}
    assert emitted - seen == set(), "add a variant that raises these codes"


def envcheck(*args: str, env_extra: Optional[dict] = None, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG", "CUDA_", "PIP_", "UV_"))}
    env.update({"PYTHONPATH": str(ROOT), "COLUMNS": "120", "NO_COLOR": "1", "LANG": "C.UTF-8"})
    env.update(env_extra or {})
    proc = subprocess.run([sys.executable, "-m", "envcheck", *args], capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=str(ROOT))
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.fixture(scope="module")
def h100_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("snap") / "h100.json"
    path.write_text(json.dumps(h100().to_dict()), encoding="utf-8")
    return path


@pytest.mark.parametrize("form", [(), ("--markdown",)])
def test_doctor_cli_on_the_recorded_h100(h100_file, form):
    zh = envcheck("doctor", "--lang", "zh", "--from", str(h100_file), *form)
    assert zh.returncode == 0, zh.stderr
    assert "系统 cuDNN 9.14.0 与 torch 使用的 9.19.0 不同" in zh.stdout
    assert_chinese(zh.stdout, "doctor --lang zh")
    en = envcheck("doctor", "--from", str(h100_file), *form)
    assert "System cuDNN 9.14.0 differs from the 9.19.0 torch uses" in en.stdout


def test_the_locale_chooses_and_lang_overrides(h100_file):
    by_locale = envcheck("doctor", "--from", str(h100_file), env_extra={"LANG": "zh_CN.UTF-8"})
    assert "驱动与 GPU" in by_locale.stdout
    overridden = envcheck("doctor", "--from", str(h100_file), "--lang", "en", env_extra={"LANG": "zh_CN.UTF-8"})
    assert "Driver and GPUs" in overridden.stdout and "驱动" not in overridden.stdout
    front = envcheck("--lang=zh", "doctor", "--from", str(h100_file))
    assert "驱动与 GPU" in front.stdout
    posix = envcheck("doctor", "--from", str(h100_file), env_extra={"LANG": "zh_CN.UTF-8", "LC_ALL": "C.UTF-8"})
    assert "Driver and GPUs" in posix.stdout
    bad = envcheck("doctor", "--lang", "xx", "--from", str(h100_file))
    assert bad.returncode == 3 and "--lang" in bad.stderr


def test_doctor_from_a_report_shows_its_own_findings_in_chinese(h100_file, tmp_path):
    """A report from another machine: its findings as that envcheck judged them, worded from their messages
    (issue 12), even where judging its snapshot here would conclude otherwise."""
    report = json.loads(envcheck("doctor", "--json", "--from", str(h100_file)).stdout)
    assert [f["code"] for f in report["findings"]] == ["cudnn-system-differs"]
    report["snapshot"]["driver"]["version"] = "450.80.02"  # judged again, this would add smi-driver-skew
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report), encoding="utf-8")
    zh = envcheck("doctor", "--lang", "zh", "--from", str(path))
    assert zh.returncode == 0, zh.stderr
    assert "系统 cuDNN 9.14.0 与 torch 使用的 9.19.0 不同" in zh.stdout and "smi-driver-skew" not in zh.stdout
    assert_chinese(zh.stdout, "doctor --from a report --lang zh")
    bare = tmp_path / "snapshot.json"  # the same snapshot alone is judged here
    bare.write_text(json.dumps(report["snapshot"]), encoding="utf-8")
    assert "smi-driver-skew" in envcheck("doctor", "--from", str(bare)).stdout


def test_json_stays_english_whatever_the_language(h100_file):
    en = json.loads(envcheck("doctor", "--json", "--from", str(h100_file)).stdout)
    zh = json.loads(envcheck("doctor", "--json", "--lang", "zh", "--from", str(h100_file),
                             env_extra={"LANG": "zh_CN.UTF-8"}).stdout)
    assert zh["findings"] == en["findings"] and zh["verdict"] == en["verdict"]
    install = json.loads(envcheck("install-cmd", "--json", "--lang", "zh", "--from", str(h100_file),
                                  "--mirror", "tuna").stdout)
    assert install["reasons"][0].startswith("torch ") and "newest release" in install["reasons"][0]


# --------------------------------------------------------------------------- install-cmd


@pytest.mark.parametrize("args", [
    (),
    ("--mirror", "tuna"),
    ("--mirror", "aliyun"),
    ("--mirror", "nju", "--manager", "uv"),
    ("--mirror", "tuna", "--torch", "2.0.0", "--cuda", "11.8", "--manager", "conda", "--python", "3.10"),
    ("--torch", "1.12.1", "--cuda", "11.6", "--manager", "conda", "--mirror", "bfsu", "--python", "3.10",
     "--compute-capability", "8.6"),
    ("--torch", "2.0.0", "--python", "3.10", "--driver", "470.82.01", "--compute-capability", "8.0"),
    ("--no-gpu", "--python", "3.10", "--manager", "conda"),
    ("--os", "windows", "--compute-capability", "12.0"),
    ("--os", "macos", "--python", "3.12"),
    ("--driver", "535.104.05", "--gpu", "RTX 3090", "--python", "3.10"),
    ("--driver", "525.60.13", "--python", "3.11", "--compute-capability", "8.0"),
])
def test_install_cmd_in_chinese(h100_file, args):
    proc = envcheck("install-cmd", "--lang", "zh", "--from", str(h100_file), *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "原因：" in proc.stdout
    assert_chinese(proc.stdout, f"install-cmd {' '.join(args)}")


@pytest.mark.parametrize("args", [
    ("--cuda", "11.2"),
    ("--torch", "2.11.0", "--cuda", "11.2"),
    ("--torch", "9.9.9"),
    ("--driver", "450.80.02", "--compute-capability", "12.0"),
    ("--os", "macos", "--python", "3.2"),
])
def test_install_cmd_no_fit_in_chinese(h100_file, args):
    proc = envcheck("install-cmd", "--lang", "zh", "--from", str(h100_file), *args)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "没有符合这些条件的 torch 构建" in proc.stdout
    assert_chinese(proc.stdout, f"install-cmd {' '.join(args)}")


def test_install_cmd_usage_errors_in_chinese():
    proc = envcheck("install-cmd", "--lang", "zh", "--os", "beos")
    assert proc.returncode == 3 and "请选择 linux、windows 或 macos" in proc.stderr


# --------------------------------------------------------------------------- smoke


def _smoke_raw(rates=None, error=1e-3, device_error=None):
    rates = rates or {"fp32": 52, "tf32": 388, "fp16": 771, "bf16": 799}
    ms = lambda r: 2 * 8192 ** 3 * 20 / (r * 1e12) * 1000  # noqa: E731
    matmul = {d: {"n": 8192, "iters": 20, "ms": ms(r), "max_rel_error": error / 100 if d == "fp32" else error,
                  "finite": True} for d, r in rates.items()}
    device = {"index": 0, "name": "NVIDIA H100 80GB HBM3", "capability": "9.0", "init_s": 0.15, "alloc_ok": True,
              "matmul": matmul, "bandwidth": {"bytes": 256 * 2 ** 20, "h2d_ms": 4.9, "d2h_ms": 5.4, "d2d_ms": 0.18}}
    if device_error:
        device = {"index": 1, "name": "NVIDIA H100 80GB HBM3", "error": device_error}
    return {"ok": True, "skip": None, "torch": "2.11.0+cu130", "devices": [device],
            "multi": {"allreduce_s": 0.01, "allreduce_bytes": 2 ** 28}}


@pytest.mark.parametrize("raw", [
    _smoke_raw(),
    _smoke_raw({"fp32": 52, "tf32": 388, "fp16": 290, "bf16": 300}),
    _smoke_raw(error=0.5),
    _smoke_raw(device_error="CUDA error: an illegal memory access was encountered"),
    {"ok": False, "error": "no answer within 120 s (a hung GPU or driver?)"},
    {"ok": True, "skip": {"why": "cpu-only", "version": "2.13.0+cpu"}},
    {"ok": True, "skip": {"why": "no-cuda"}},
    {"ok": True, "skip": {"why": "no-device", "count": 1}},
], ids=["healthy", "slow", "wrong", "device-error", "hung", "cpu-only", "no-cuda", "no-device"])
def test_smoke_report_in_chinese(raw, capsys):
    from envcheck.smoke.render import render_smoke
    from envcheck.smoke.host import build_report, judge

    snap = h100()
    snap.gpus[0].clock_event_reasons = ["sw_power_cap", "hw_thermal_slowdown"]
    snap.gpus[0].power_limit_w, snap.gpus[0].power_limit_default_w = 300.0, 700.0
    report = build_report(raw, K)
    findings = judge(report, snap.gpus)
    assert [f.code for f in findings] == [f.code for f in judge(report, snap.gpus)]
    literals = [raw.get("error") or "", "CUDA error: an illegal memory access was encountered"]
    console = zh_console()
    render_smoke(report, findings, "terminal", lambda: console, _=ZH)
    assert_chinese(console.export_text(), "smoke", literals)
    render_smoke(report, findings, "markdown", zh_console, _=ZH)
    assert_chinese(capsys.readouterr().out, "smoke --markdown", literals)


def test_smoke_cli_skip_path_in_chinese(bare_venv):
    from conftest import venv_python

    proc = envcheck("smoke", "--lang", "zh", "--python", str(venv_python(bare_venv)))
    assert proc.returncode == 0, proc.stderr
    assert "已跳过" in proc.stdout and "无法导入 torch" in proc.stdout
    assert_chinese(proc.stdout, "smoke --lang zh")
    data = json.loads(envcheck("smoke", "--json", "--lang", "zh", "--python", str(venv_python(bare_venv))).stdout)
    assert data["smoke"]["skipped"].startswith("torch cannot be imported")
    assert data["findings"][0]["title"].startswith("smoke test skipped")


# --------------------------------------------------------------------------- mirrors


def _home_env(tmp_path: Path, **extra: str) -> dict:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CONFIG_DIRS": str(tmp_path / "xdg")}
    env.update(extra)
    return env


def test_mirrors_list_in_chinese():
    """In a pipe: one line per mirror, every column starting at the same cell (Chinese characters count two)."""
    proc = envcheck("mirrors", "list", "--lang", "zh")
    assert proc.returncode == 0, proc.stderr
    assert_chinese(proc.stdout, "mirrors list --lang zh")
    lines = proc.stdout.splitlines()
    header, rows = lines[0], lines[1:12]
    assert header.startswith("镜像") and "PyTorch wheel" in header
    assert [r.split()[0] for r in rows][:2] == ["tuna", "aliyun"] and len(rows) == 11
    for row, column in ((rows[0], "tuna.tsinghua.edu.cn"), (rows[1], "mirrors.aliyun.com")):
        assert cell_len(row[:row.index(column)]) == cell_len(header[:header.index("主机")])
    assert "完整的 PyPI 副本" in rows[0] and "mirrors show" in lines[12]
    assert len(proc.stdout.splitlines()) == 13, "notes and sources are `mirrors show`'s"


def test_mirrors_list_on_a_terminal_is_a_rich_table_in_chinese():
    from envcheck.mirrors.render import Screen

    console = Console(file=io.StringIO(), force_terminal=True, width=100, color_system=None)
    Screen(lambda: console, ZH).mirror_list(K.mirrors())
    out = console.file.getvalue()
    table = [line for line in out.splitlines() if line and line[0] in "┏┃┡│├└"]
    assert len(table) > 12
    assert len({cell_len(line) for line in table}) == 1, "\n".join(table)
    assert "主机" in out and "镜像" in out
    assert_chinese(out, "mirrors list on a terminal")


def test_mirrors_show_in_chinese():
    proc = envcheck("mirrors", "show", "tuna", "--lang", "zh")
    assert proc.returncode == 0, proc.stderr
    assert "清华大学 TUNA" in proc.stdout and "TUNA 没有 PyTorch wheel 镜像" in proc.stdout
    assert "https://github.com/tuna/issues/issues/1050" in proc.stdout
    assert_chinese(proc.stdout, "mirrors show tuna --lang zh")
    unknown = envcheck("mirrors", "show", "nope", "--lang", "zh")
    assert unknown.returncode == 3 and "tuna" in unknown.stderr and "Traceback" not in unknown.stderr


def test_mirrors_status_in_chinese(tmp_path):
    env = _home_env(tmp_path)
    home = Path(env["HOME"])
    (home / ".config" / "pip").mkdir(parents=True)
    (home / ".config" / "pip" / "pip.conf").write_text(
        "[global]\nindex-url = https://mirrors.tuna.tsinghua.edu.cn/pypi/web/simple\n"
        "extra-index-url = https://mirrors.aliyun.com/pytorch-wheels/cu126\n")
    cloud = "https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud"
    (home / ".condarc").write_text("channels:\n  - defaults\n  - pytorch\n  - mychannel\n"
                                   "default_channels:\n  - https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/main\n"
                                   f"custom_channels:\n  pytorch: {cloud}\n  nvidia: {cloud}\n")
    proc = envcheck("mirrors", "status", "--lang", "zh", env_extra=dict(env, UV_INDEX_URL="https://pypi.org/simple"))
    assert proc.returncode == 0, proc.stderr
    for key in ("conda-mirror-lacks-channel", "conda-channel-abroad", "pip-wheel-layout", "uv-deprecated-variable"):
        assert key in proc.stdout
    assert "问题" in proc.stdout
    assert_chinese(proc.stdout, "mirrors status --lang zh")
    data = json.loads(envcheck("mirrors", "status", "--json", "--lang", "zh", env_extra=env).stdout)
    assert all(p["message"].isascii() for p in data["problems"]), "JSON stays English"


def test_mirrors_use_and_restore_in_chinese(tmp_path):
    env = _home_env(tmp_path)
    dry = envcheck("mirrors", "use", "tuna", "--pip", "--uv", "--dry-run", "--lang", "zh", env_extra=env)
    assert dry.returncode == 0, dry.stderr
    assert "试运行：没有写入任何文件。" in dry.stdout
    assert_chinese(dry.stdout, "mirrors use --dry-run --lang zh")
    done = envcheck("mirrors", "use", "tuna", "--pip", "--yes", "--lang", "zh", env_extra=env)
    assert "已修改 1 个文件。" in done.stdout
    assert_chinese(done.stdout, "mirrors use --yes --lang zh")
    restored = envcheck("mirrors", "restore", "--yes", "--lang", "zh", env_extra=env)
    assert restored.returncode == 0 and "已把文件还原" in restored.stdout
    assert_chinese(restored.stdout, "mirrors restore --lang zh")
    nothing = envcheck("mirrors", "restore", "--lang", "zh", env_extra=env)
    assert_chinese(nothing.stdout, "mirrors restore (nothing) --lang zh")
    refused = envcheck("mirrors", "use", "pytorch", "--lang", "zh", env_extra=env)
    assert refused.returncode == 3 and "既没有可配置的 PyPI 索引" in refused.stderr


# --------------------------------------------------------------------------- alignment with wide characters


def test_chinese_fact_tables_stay_aligned():
    """Labels of two-cell characters: every value of a facts table starts in the same column, every row has
    the same display width (rich pads by cells, not characters)."""
    console = Console(file=io.StringIO(), width=200, color_system=None, record=True)
    render_terminal(Report(h100(), evaluate(h100(), K)), console, _=ZH)
    lines = console.export_text().splitlines()
    for title, rows in sections(h100(), ZH):
        start = next(i for i, line in enumerate(lines) if line.strip() == title)
        block = lines[start + 1:start + 1 + len(rows)]
        assert any(cell_len(label) != len(label) for label, _value in rows), "a label with Chinese characters"
        columns = {cell_len(line[:line.index(value)]) for (label, value), line in zip(rows, block)}
        assert len(columns) == 1, (title, block)
        assert len({cell_len(line) for line in block}) == 1, (title, block)


def test_chinese_detail_wraps_at_the_console_width():
    from envcheck.render.terminal import _fill

    text = text_in(evaluate(h100(), K)[0].detail, ZH)
    wrapped = _fill(text, 60, "    ")
    assert all(cell_len(line) <= 60 or " " not in line.strip() for line in wrapped.splitlines())
    assert "".join(wrapped.split()) == "".join(text.split())
    assert not any(line.strip()[:1] in "，。；：）" for line in wrapped.splitlines())


def test_the_chinese_guide_has_the_set_up_commands_and_the_readme_links_it():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    guide = (ROOT / "docs" / "zh.md").read_text(encoding="utf-8")
    english = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.*?)\n```", english, flags=re.S)
    assert len(commands) == 2
    for command in commands:
        assert f"```sh\n{command}\n```" in guide, command
    assert "(docs/zh.md)" in readme.split("## 中文说明", 1)[1].split("\n## ", 1)[0]
    for section in ("## 安装与运行", "## doctor", "## install-cmd", "## analyze", "## 常见问题与修复"):
        assert section in guide, section


def test_lang_is_a_global_option_accepted_anywhere():
    from envcheck.cli.app import hoist_lang

    assert hoist_lang(["doctor", "--lang", "zh", "--fast"]) == ["--lang", "zh", "doctor", "--fast"]
    assert hoist_lang(["mirrors", "list", "--lang=en"]) == ["--lang=en", "mirrors", "list"]
    assert hoist_lang(["analyze", "--", "--lang", "zh"]) == ["analyze", "--", "--lang", "zh"]
