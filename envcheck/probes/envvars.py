"""Environment variables that change how CUDA, PyTorch, pip and conda behave, secrets redacted.

Only the variables that matter for a diagnosis are kept (a whole ``env`` dump would leak more and
say less). Values are shown as the target's shell sees them (``ctx.env``), with secret-named
variables masked and credentials inside URLs hidden (:mod:`envcheck.redact`).
"""

from __future__ import annotations

from typing import Dict

from ..redact import redact_env
from . import ProbeContext

#: exact names, compared upper-cased (Windows spells it Path; curl-style http_proxy is lower case)
NAMES = (
    "CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER", "CUDA_HOME", "CUDA_PATH", "CUDA_ROOT",
    "CUDA_MODULE_LOADING", "CUDA_LAUNCH_BLOCKING", "CUDACXX",
    "LD_LIBRARY_PATH", "LD_PRELOAD", "DYLD_LIBRARY_PATH", "PATH", "LIBRARY_PATH", "CPATH",
    "PYTORCH_CUDA_ALLOC_CONF", "TORCH_CUDA_ARCH_LIST",
    "PYTHONPATH", "PYTHONHOME", "PYTHONNOUSERSITE", "PYTHONUSERBASE",
    "CONDA_PREFIX", "CONDA_DEFAULT_ENV", "CONDA_EXE", "CONDA_SHLVL", "CONDARC", "MAMBA_ROOT_PREFIX",
    "VIRTUAL_ENV",
    "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_TRUSTED_HOST", "PIP_CONFIG_FILE",
    "PIP_REQUIRE_VIRTUALENV", "PIP_USER", "PIP_NO_INDEX",
    "UV_INDEX_URL", "UV_EXTRA_INDEX_URL", "UV_INDEX", "UV_DEFAULT_INDEX",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY",
    "NVIDIA_VISIBLE_DEVICES", "NVIDIA_DRIVER_CAPABILITIES",
    "HIP_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES",
    "OMP_NUM_THREADS", "MKL_NUM_THREADS", "MAX_JOBS", "CC", "CXX",
)

#: every variable starting with one of these is kept
PREFIXES = ("NCCL_", "TORCH_", "PYTORCH_", "CUBLAS_", "CUBLASLT_", "CUDNN_", "TRITON_")


def _relevant(name: str) -> bool:
    upper = name.upper()
    return upper in NAMES or upper.startswith(PREFIXES)


def probe(ctx: ProbeContext) -> Dict[str, str]:
    """The relevant variables of ``ctx.env``, sorted by name, secrets redacted."""
    return {name: redact_env(name, value)
            for name, value in sorted(ctx.env.items())
            if _relevant(name)}
