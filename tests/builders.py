"""Snapshots built from the real recorded machines in tests/fixtures, through envcheck's own parsers.

``h100()`` is the H100 box exactly as recorded (driver 580.159.04, torch 2.11.0+cu130, nvcc 13.0,
bundled cuDNN 9.19 and a system cuDNN 9.14). Rule tests start from it and change one fact at a time.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from envcheck.probes.cudnn import parse_ldconfig
from envcheck.probes.nvidia import parse_proc_version, parse_query_csv, parse_smi_xml
from envcheck.probes.toolkits import parse_nvcc_version
from envcheck.snapshot import (Compiler, CudaToolkit, Cudnn, CudnnCopy, Meta, Package, Python, Snapshot, System,
                               Torch, TorchDevice)

FIXTURES = Path(__file__).resolve().parent / "fixtures"
H100 = FIXTURES / "h100-torch2.11-cu130"
CPU = FIXTURES / "cpu-nvcc13-nodriver"


def _torch_info() -> dict:
    text = (H100 / "torch-info.txt").read_text()
    return json.JSONDecoder().raw_decode(text)[0]


def _pip_list() -> dict:
    out = {}
    for line in (H100 / "pip-list.txt").read_text().splitlines()[2:]:
        parts = line.split()
        if len(parts) >= 2:
            out[parts[0].lower()] = parts[1]
    return out


def h100() -> Snapshot:
    snap = Snapshot(meta=Meta(origin="doctor", envcheck_version="test"))
    driver, gpus = parse_smi_xml((H100 / "nvidia-smi-q-x.xml").read_text())
    driver.status = "ok"
    driver.kernel_module_version, driver.kernel_module_kind = parse_proc_version((H100 / "proc-driver.txt").read_text())
    driver.pci_scanned = True
    rows = parse_query_csv((H100 / "nvidia-smi-query-nounits.txt").read_text(),
                           ["index", "name", "driver_version", "memory.total", "compute_cap"])
    for gpu, row in zip(gpus, rows):
        gpu.compute_capability = row["compute_cap"]
        gpu.compute_capability_source = "nvidia-smi"
    snap.driver, snap.gpus = driver, gpus

    version, full = parse_nvcc_version((H100 / "nvcc-V.txt").read_text())
    snap.cuda_toolkits = [CudaToolkit(version=version, full_version=full, path="/usr/local/cuda-13.0",
                                      nvcc="/usr/local/cuda-13.0/bin/nvcc", source="PATH", active=True,
                                      used_by_torch_extensions=True)]

    info = _torch_info()
    pkgs = _pip_list()
    site = "/opt/torch/.venv/lib/python3.12/site-packages"
    snap.torch = Torch(
        version=info["version"], dist_version=pkgs["torch"], cuda=info["cuda"], hip=info["hip"], build="cuda",
        git_version=info["git"], debug=info["debug"], cudnn="9.19.0", nccl=".".join(map(str, info["nccl"])),
        arch_list=info["arch_list"], cuda_available=info["is_available"], device_count=info["device_count"],
        devices=[TorchDevice(index=i, name=p["name"], capability=f"{p['cap'][0]}.{p['cap'][1]}",
                             memory_total_mib=p["mem"] // 2**20, multi_processor_count=p["sms"])
                 for i, p in enumerate(info["props"])],
        location=str(Path(info["file"]).parent), installer="pip", copies=[site], live=True,
        import_s=info["import_s"],
    )
    snap.python = Python(
        executable="/opt/torch/.venv/bin/python3", version="3.12.3", implementation="CPython", chosen_by="VIRTUAL_ENV",
        prefix="/opt/torch/.venv", base_prefix="/usr", is_venv=True, user_site="/root/.local/lib/python3.12/site-packages",
        user_site_enabled=False,
        packages={
            "torch": Package("torch", pkgs["torch"], site, "pip", info["version"], info["cuda"]),
            "torchvision": Package("torchvision", pkgs["torchvision"], site, "pip", info["torchvision"], "13.0"),
            "torchaudio": Package("torchaudio", pkgs["torchaudio"], site, "pip", info["torchaudio"]),
            "triton": Package("triton", pkgs["triton"], site, "pip"),
            "nvidia-cudnn-cu13": Package("nvidia-cudnn-cu13", pkgs["nvidia-cudnn-cu13"], site, "pip"),
            "numpy": Package("numpy", pkgs["numpy"], site, "pip"),
        },
    )
    system_cudnn = []
    for soname, path in parse_ldconfig((H100 / "ldconfig.txt").read_text()):
        if soname.startswith("libcudnn.so.9"):
            system_cudnn.append(CudnnCopy(version="9.14.0", path=path, source="ldconfig"))
    snap.cudnn = Cudnn(
        bundled=CudnnCopy(version=pkgs["nvidia-cudnn-cu13"], path=f"{site}/nvidia/cudnn", source="pip"),
        system=system_cudnn,
        loaded=CudnnCopy(version="9.19.0", path=f"{site}/nvidia/cudnn/lib/libcudnn.so.9", source="pip"),
        torch_reported="9.19.0",
    )
    collect_env = (H100 / "collect_env.txt").read_text()
    gcc = re.search(r"GCC version: .*\) (\d+\.\d+\.\d+)", collect_env).group(1)
    snap.system = System(os="Linux", distro="Ubuntu 24.04.3 LTS", kernel="6.18.44-fc-v657-gpu", machine="x86_64",
                         glibc="2.39", cpu_count=16, compilers=[Compiler("gcc", "/usr/bin/gcc", gcc)],
                         ninja=pkgs["ninja"], shm_total_mib=65536)
    snap.env = {}
    return snap


def cpu_box() -> Snapshot:
    """The CPU machine of cpu-nvcc13-nodriver: nvcc 13.0, no driver, no GPU, no torch."""
    snap = Snapshot(meta=Meta(origin="doctor", envcheck_version="test"))
    snap.driver.status = "not-found"
    snap.driver.pci_scanned = True
    version, full = parse_nvcc_version((CPU / "nvcc-V.txt").read_text())
    snap.cuda_toolkits = [CudaToolkit(version=version, full_version=full, path="/usr/local/cuda-13.0",
                                      nvcc="/usr/local/bin/nvcc", source="PATH", active=True,
                                      used_by_torch_extensions=True)]
    snap.python = Python(executable="/usr/bin/python3", version="3.11.7", chosen_by="PATH", prefix="/usr")
    snap.system = System(os="Linux", machine="x86_64", compilers=[Compiler("gcc", "/usr/bin/gcc", "12.2.0")],
                         ninja="1.11.1")
    return snap
