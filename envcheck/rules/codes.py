"""The catalogue of finding codes: one place that names every code, its usual severity and section.

The findings table in docs/reference.md is checked against this catalogue by a test, and every finding a rule
emits must use a code listed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict


@dataclass(frozen=True)
class Code:
    code: str
    severity: str
    section: str
    summary: str


_CODES = [
    # A config file that pip or conda cannot load: two codes, not one "config-file-broken", because the two tools
    # react differently and the fixes differ. pip refuses every command ("Configuration file could not be loaded",
    # configparser's words) yet silently skips a file it cannot read; conda stops with ConfigurationLoadError
    # (invalid YAML) or an unexpected-error report, and one file's wrong-typed key only fails when it is used.
    # Scripts can match each tool's breakage on its own. Both come first: every pip or conda fix needs them solved.
    Code("pip-config-broken", "error", "pip", "A pip configuration file pip cannot load: pip refuses every command (\"Configuration file could not be loaded\") until it is fixed or moved aside."),
    Code("condarc-broken", "error", "conda", "A .condarc conda cannot load (invalid YAML, not a mapping): conda stops every command with ConfigurationLoadError until it is fixed or moved aside."),
    Code("driver-not-loaded", "error", "driver", "An NVIDIA GPU is on the PCI bus but no NVIDIA kernel driver answers."),
    Code("driver-library-mismatch", "error", "driver", "The NVIDIA user-space library and the loaded kernel module differ (NVML mismatch)."),
    Code("no-devices", "error", "driver", "The driver is loaded but reports no GPU."),
    Code("no-nvidia-gpu", "info", "driver", "No NVIDIA GPU and no driver on this machine: torch can only use the CPU."),
    Code("smi-driver-skew", "info", "driver", "nvidia-smi/NVML and the kernel module report different driver versions."),
    Code("driver-too-old", "error", "driver", "torch's CUDA needs a newer driver (or runs only under minor-version compatibility)."),
    Code("gpu-arch-unsupported", "error", "gpu", "A GPU's compute capability has no kernel (cubin) in this torch build."),
    Code("mig-enabled", "info", "gpu", "MIG is on: processes see MIG slices, not the whole GPU."),
    Code("gpu-health", "warning", "gpu", "ECC errors, pending row remaps, throttling, a degraded PCIe link or memory held by other processes."),
    Code("torch-not-installed", "warning", "torch", "The target interpreter has no torch."),
    Code("torch-import-failed", "error", "torch", "`import torch` fails (exception, crash or hang) in the target interpreter."),
    Code("torch-cpu-only", "error", "torch", "A CPU-only torch build on a machine with an NVIDIA GPU or driver."),
    Code("cuda-unavailable", "error", "torch", "A CUDA build of torch, a working driver, and still torch.cuda.is_available() is False."),
    Code("undefined-symbol", "error", "torch", "A library fails to load with `undefined symbol`: mixed builds of torch and its libraries."),
    Code("torchvision-mismatch", "error", "packages", "torchvision is not the release paired with this torch (version or CUDA build)."),
    Code("torchaudio-mismatch", "error", "packages", "torchaudio is not the release paired with this torch (version or CUDA build)."),
    Code("duplicate-torch", "warning", "packages", "More than one torch is importable; the first on sys.path wins."),
    Code("user-site-shadowing", "warning", "python", "Packages in the user site (~/.local) shadow the environment's own."),
    Code("known-bad-version", "warning", "packages", "A driver or package version with a documented defect."),
    Code("nvcc-torch-mismatch", "error", "toolkit", "nvcc's CUDA differs from torch's CUDA: extensions fail (major) or risk trouble (minor)."),
    Code("nvcc-newer-than-driver", "warning", "toolkit", "nvcc is newer than the CUDA the driver supports: code it builds may not run."),
    Code("multiple-cuda-toolkits", "info", "toolkit", "Several CUDA toolkits are installed; which one builds extensions matters."),
    Code("build-toolchain", "warning", "toolkit", "Building CUDA extensions would fail: nvcc, host compiler or ninja."),
    Code("cudnn-missing", "error", "cudnn", "torch cannot find or load the cuDNN it needs."),
    Code("cudnn-system-differs", "info", "cudnn", "A system cuDNN differs from the one torch really loads."),
    Code("ld-library-path-shadowing", "warning", "env", "LD_LIBRARY_PATH makes torch load CUDA libraries other than its own."),
    Code("cuda-visible-devices-invalid", "error", "env", "CUDA_VISIBLE_DEVICES hides GPUs or names ones that do not exist."),
    Code("device-order-mismatch", "info", "env", "CUDA numbers mixed GPUs differently from nvidia-smi unless CUDA_DEVICE_ORDER=PCI_BUS_ID."),
    Code("conda-channel-conflict", "warning", "conda", "conda channels that conflict, a CPU pin (cpuonly / pytorch-mutex cpu), or a request missing the channel it needs (pytorch-cuda without -c nvidia)."),
    Code("conda-not-initialized", "info", "conda", "conda is installed but the shell was never initialised."),
    Code("shm-too-small", "warning", "system", "In a container /dev/shm is under 512 MiB: DataLoader workers die with \"bus error\"."),
    Code("cuda-out-of-memory", "warning", "gpu", "A job asked for more GPU memory than was free (CUDA out of memory)."),
    Code("cublas-not-initialized", "error", "torch", "cuBLAS could not start (CUBLAS_STATUS_NOT_INITIALIZED): no GPU memory left, or a foreign libcublas."),
    Code("nccl-error", "error", "torch", "A distributed (NCCL) operation failed: network, shared memory, peer-to-peer or a dead rank."),
    Code("conda-unsatisfiable", "error", "conda", "conda could not, or cannot, solve the requested install: the solver's error, or pins that contradict each other, the pytorch build or the driver."),
    Code("extension-torch-mismatch", "error", "packages", "A CUDA extension (flash-attn, xformers, vllm, torch-scatter, ...) was built for another torch or CUDA than the one installed."),
    Code("extension-arch-unsupported", "error", "gpu", "The GPU is older than a CUDA extension supports (e.g. flash-attn 2 needs Ampere, sm_80)."),
    Code("extension-needs-newer-nvcc", "error", "toolkit", "Building an extension needs a newer CUDA toolkit (nvcc) than the one found."),
    Code("fabric-manager-not-running", "error", "driver", "An NVSwitch system whose NVIDIA fabric manager is not running (CUDA error 802, system not yet initialized)."),
    Code("gpu-fallen-off-bus", "error", "gpu", "A GPU fell off the bus (Xid 79): the driver lost it until a reset or reboot."),
    Code("gpu-xid", "warning", "gpu", "The NVIDIA driver logged an Xid error for a GPU (NVIDIA's Xid catalogue says what it means)."),
    Code("memory-held-by-other-process", "warning", "gpu", "CUDA ran out of memory while another process held much of the GPU's memory."),
    Code("container-toolkit-missing", "error", "system", "docker cannot give the container a GPU: the NVIDIA container toolkit is missing or cannot initialise."),
    Code("wsl-libcuda", "error", "driver", "On WSL2, libcuda (in /usr/lib/wsl/lib) is not found by the program that needs it."),
    Code("mps-unavailable", "warning", "torch", "On macOS, torch cannot use the Apple GPU (MPS): the macOS version, an x86_64 Python or a build without MPS."),
    Code("no-wheel-for-python", "error", "python", "pip finds no torch wheel for this Python version or platform."),
    Code("conda-pytorch-channel-frozen", "error", "conda", "A torch newer than the pytorch conda channel's last release (2.5.1) was asked of that channel."),
    Code("conda-mirror-missing-channel", "error", "conda", "A conda mirror does not carry a channel it is asked for (404 / UnavailableInvalidChannel), e.g. nvidia."),
    Code("smoke-wrong-result", "error", "smoke", "A GPU matrix product disagrees with the float64 reference beyond the dtype's tolerance."),
    Code("smoke-slow", "warning", "smoke", "A GPU's smoke-test rate is under 80% of what that card model measures (or, with no measurement, under half its datasheet peak)."),
    Code("smoke-failed", "error", "smoke", "The smoke test itself failed on a GPU (CUDA error, allocation, hang)."),
    Code("smoke-skipped", "info", "smoke", "No smoke test ran: no GPU, no torch, or a CPU-only torch."),
    Code("tool-timeout", "warning", "envcheck", "A tool did not answer in time and was abandoned."),
    Code("probe-failed", "info", "envcheck", "A probe could not collect its facts (crash, garbage output); they stay unknown."),
]

CODES: Dict[str, Code] = {c.code: c for c in _CODES}
