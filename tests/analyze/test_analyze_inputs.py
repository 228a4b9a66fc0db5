"""The input kinds of issue 13, requirement 3, each on real public pastes.

Samples come from the public corpus (tests/fixtures/analyze/public/, each file's thread in its README)
or are quoted below with the thread they were copied from, verbatim (cut where the stored copy of
the thread was cut). Each test checks what the paste really says, read by hand; facts a paste does not
state must stay unknown. The last part checks every new detector and parser for linear time (1x
against 8x input) and fuzzes them: no exception may escape.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable, List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from envcheck.analyze import Input, analyze, parse_inputs
from envcheck.analyze import (conda_plan, detect, env_report, env_vars, install_cmd, ldd, pip_log, prints, prose,
                              smi_list, smi_q, smi_table)
from envcheck.analyze.runs import Miss
from envcheck.knowledge import Knowledge

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "analyze"
PUBLIC = CORPUS / "public"
H100 = Path(__file__).resolve().parents[1] / "fixtures" / "h100-torch2.11-cu130"


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return Knowledge()


def read(name: str) -> str:
    path = PUBLIC / name if (PUBLIC / name).exists() else CORPUS / name
    return path.read_text(encoding="utf-8")


def run(*texts: str, knowledge: Knowledge = None):
    return analyze([Input(f"in{i}", t) for i, t in enumerate(texts)], knowledge or Knowledge())


def parsed(*texts: str):
    return parse_inputs([Input(f"in{i}", t) for i, t in enumerate(texts)], Knowledge())


def kinds(result) -> List[str]:
    return [b.kind for b in result.blocks if b.kind != "log"]


def lines(text: str) -> List[str]:
    return detect.clean_lines(detect.split_lines(text))


# --------------------------------------------------------------------------- nvidia-smi of R610 and later


@pytest.mark.parametrize("name, driver, cuda, count", [
    ("control-smi-610-kmd-umd-rtx3080-laptop.txt", "610.43.03", "13.3", 1),
    ("control-smi-610-kmd-umd-rtx5070.txt", "610.43.02", "13.3", 1),
    ("smi-610-kmd-umd-b200-sglang.txt", "610.43.02", "13.3", 2),
])
def test_r610_banner_kmd_and_cuda_umd_version(name, driver, cuda, count):
    table = smi_table.parse(lines(read(name)))
    assert (table.smi_version, table.driver.version, table.driver.cuda_version) == (driver, driver, cuda)
    snap = parsed(read(name)).snapshot
    assert (snap.driver.version, snap.driver.cuda_version, snap.driver.status) == (driver, cuda, "ok")
    assert len(snap.gpus) == count


def test_r610_banner_alone_and_older_banners_unchanged():
    # the banner line of the R610 paste (https://github.com/EricLBuehler/mistral.rs/pull/2287), pasted alone
    m = detect.SMI_HEADER.search("| NVIDIA-SMI 610.43.02              KMD Version: 610.43.02     CUDA UMD Version: 13.3     |")
    assert (m.group("smi"), m.group("driver"), m.group("cuda")) == ("610.43.02", "610.43.02", "13.3")
    old = detect.SMI_HEADER.search((H100 / "nvidia-smi.txt").read_text().splitlines()[2])
    assert (old.group("driver"), old.group("cuda")) == ("580.159.04", "13.0")


def test_bold_banner_in_prose():
    # https://github.com/P2Enjoy/kohya_ss-docker/issues/23: "** NVIDIA-SMI ... CUDA Version: 11.4**"
    snap = parsed(read("log-docker-forward-compat-non-supported-hw-smi-470.txt")).snapshot
    assert (snap.driver.version, snap.driver.cuda_version) == ("470.161.03", "11.4")


def test_smi_q_text_of_r610():
    # nvidia-smi -q of R610 prints "KMD Version" / "CUDA UMD Version" and marks the old keys deprecated
    # (https://github.com/PrismML-Eng/Bonsai-demo/pull/122 quotes the note); the real H100 -q text with
    # those two lines as R610 prints them
    text = (H100 / "nvidia-smi-q.txt").read_text()
    text = text.replace("Driver Version                                         : 580.159.04",
                        "KMD Version                                            : 610.43.02")
    text = text.replace("CUDA Version                                           : 13.0",
                        "CUDA Version                                           : 13.3 [Deprecated; will be removed "
                        "in CUDA 14.0. Use CUDA UMD Version instead]\n"
                        "CUDA UMD Version                                       : 13.3")
    driver, gpus = smi_q.parse_text(text.splitlines())
    assert (driver.version, driver.cuda_version, len(gpus)) == ("610.43.02", "13.3", 1)


def test_smi_row_cut_before_its_bus_id_is_still_a_gpu():
    # https://github.com/EricLBuehler/mistral.rs/issues/1099: "|   0  NVIDIA GeForce RTX 4090      WDDM  |   0000000"
    snap = parsed(read("nvcc-12.8-smi-571-windows-rtx4090-cudarc.txt")).snapshot
    assert [(g.index, g.name, g.driver_model) for g in snap.gpus] == [(0, "NVIDIA GeForce RTX 4090", "WDDM")]


# --------------------------------------------------------------------------- torch printing itself


def test_repl_print_and_echo():
    snap = parsed(read("repl-torch-1.1.0-old-user-site-copy.txt")).snapshot
    assert snap.torch.version == "1.1.0"
    snap = parsed(read("repl-torch-scatter-undefined-symbol-torch-2.5.1-cu124.txt")).snapshot
    assert (snap.torch.version, snap.torch.cuda, snap.torch.build) == ("2.5.1+cu124", "12.4", "cuda")


def test_python_c_one_print_of_several_values():
    # public corpus: python3 -c "import torch; print(torch.__version__, torch.version.cuda)" -> "2.4.1+cu124 12.4"
    result = parsed(read("log-b200-sm100-torch-2.4.1-cu124-smi-csv-580.txt"))
    assert "torch-print" in [b.kind for b in result.blocks]
    assert (result.snapshot.torch.version, result.snapshot.torch.cuda) == ("2.4.1+cu124", "12.4")
    # the print of get_device_properties is not read (its output is the sm_100 warning, not a value)
    assert result.snapshot.torch.device_count is None


def test_python_c_in_a_fence_then_nvidia_smi():
    result = parsed(read("control-uv-torch-2.5.1-cu124-smi-550-t4.txt"))
    assert kinds(result) == ["torch-print", "smi-table"]
    assert result.snapshot.torch.version == "2.5.1+cu124"


# https://github.com/pytorch/pytorch/issues/74733: Markdown inline code, "return", torch's warning, the value
INLINE_CODE = """`import torch`
`torch.cuda.is_available()`
return
`/home/python3_env/venv-py3/lib/python3.6/site-packages/torch/cuda/__init__.py:52: UserWarning: CUDA initialization: Found no NVIDIA driver on your system. Please check that you have an NVIDIA GPU and installed a driver from http://www.nvidia.com/Download/index.aspx (Triggered internally at  /pytorch/c10/cuda/CUDAFunctions.cpp:100.)
  return torch._C._cuda_getDeviceCount() > 0
False`
"""


def test_expression_in_markdown_backticks_with_a_warning_before_its_value():
    result = parsed(INLINE_CODE)
    assert kinds(result) == ["torch-print"]
    assert result.snapshot.torch.cuda_available is False
    assert result.snapshot.torch.version is None  # not printed: unknown


def test_script_prints_then_their_output():
    # https://github.com/pytorch/pytorch/issues/85332 (the old corpus' freeform file): print(...) then its line
    snap = parsed(read("freeform-header-nvcc-torch-version.txt")).snapshot
    assert (snap.torch.version, snap.torch.cuda) == ("1.8.1+cu102", "10.2")
    # "print(torch.cuda.is_available())" then "return False" (a sentence, not the output) gives nothing
    assert snap.torch.cuda_available is None


def test_print_pieces_match_by_position():
    facts = prints.TorchFacts()
    assert prints._match_print(facts, prints.print_pieces('print("torch:", torch.__version__, torch.cuda.is_available())'),
                               "torch: 2.3.1+cu121 True")
    assert (facts.version, facts.available) == ("2.3.1+cu121", True)
    other = prints.TorchFacts()
    assert not prints._match_print(other, prints.print_pieces("print(torch.__version__, torch.version.cuda)"), "2.3.1")
    assert other.empty()
    assert prints.print_pieces("print(torch.__version__, sep='\\n')") is None  # another layout: not guessed


@pytest.mark.parametrize("name, version, available, build", [
    # "torch.__version__ → 2.9.1+cpu" / "torch.version.cuda → None" / "torch.cuda.is_available() → False"
    ("prose-python-3.14-torch-2.9.1-cpu-rtx3080-windows.txt", "2.9.1+cpu", False, "cpu"),
    # one sentence: "... reports torch 2.7.0+cpu, torch.version.cuda None, torch.cuda.is_available False."
    ("prose-uv-windows-torch-2.7.0-cpu-is-available-false.txt", "2.7.0+cpu", False, "cpu"),
    # Markdown list: "- **PyTorch Version**: 2.2.0+cu121"
    ("prose-rtx5090-torch-2.2.0-cu121-driver-570.181.txt", "2.2.0+cu121", None, "cuda"),
    # "- PyTorch: 2.9.1+cu130, CUDA (PyTorch): 13.0"
    ("log-flash-attn-ampere-only-quadro-rtx5000-cu130.txt", "2.9.1+cu130", None, "cuda"),
    # ComfyUI's "pytorch version: 2.6.0+cu126" and "Device: cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync"
    ("control-comfyui-startup-2.6.0-cu126-rtx4090.txt", "2.6.0+cu126", True, "cuda"),
    # xFormers: "PyTorch 2.1.2+cu121 with CUDA 1201 (you have 2.1.2+cpu)": the installed one is "you have"
    ("log-xformers-built-for-cu121-have-cpu-powershell.txt", "2.1.2+cpu", None, "cpu"),
])
def test_torch_facts_stated_in_prose(name, version, available, build):
    snap = parsed(read(name)).snapshot
    assert (snap.torch.version, snap.torch.cuda_available, snap.torch.build) == (version, available, build)


def test_prose_gpu_and_driver_and_nvcc():
    snap = parsed(read("prose-python-3.14-torch-2.9.1-cpu-rtx3080-windows.txt")).snapshot
    assert [(d.name, d.capability) for d in snap.torch.devices] == [("NVIDIA GeForce RTX 3080", "8.6")]
    assert snap.gpus == []  # a GPU named in prose is a device torch would see, not a GPU count
    assert (snap.driver.version, snap.driver.cuda_version) == ("573.44", "12.8")
    assert [k.version for k in snap.cuda_toolkits] == ["12.4"]
    snap = parsed(read("prose-rtx5090-torch-2.2.0-cu121-driver-570.181.txt")).snapshot
    assert snap.driver.version == "570.181"  # "**CUDA Version**: 12.8 (Driver 570.181)"
    assert snap.driver.cuda_version is None  # "CUDA Version" alone may be the toolkit's: not read as the driver's


@pytest.mark.parametrize("text, version, available", [
    # https://github.com/huggingface/sentence-transformers/issues/339
    ("I am using CUDA version 10.0 and torch version 1.5.0. However, torch.cuda.is_available() returns False. "
     "Any idea why this might be happening?", "1.5.0", False),
    # https://github.com/THU-MIG/yolov10/issues/218 (Chinese: "为True" = "is True")
    ("T4卡的服务器，直接按安装流程，上去就可以torch.cuda.is_available() 为True，所以我以为安装了直接就是GPU版本的了。", None, True),
])
def test_torch_facts_in_sentences(text, version, available):
    snap = parsed(text).snapshot
    assert (snap.torch.version, snap.torch.cuda_available) == (version, available)


@pytest.mark.parametrize("line", [
    # https://github.com/pytorch/pytorch/issues/169929: a request, not the installed torch
    "pip install torch==2.3.0+cu121 --index-url https://download.pytorch.org/whl/cu121",
    "No matching distribution found for torch==2.3.0+cu121",
    # https://github.com/ogkalu2/comic-translate/issues/215
    "ERROR: Could not find a version that satisfies the requirement torch==2.1.0+cu121 (from versions: 2.2.0, 2.2.0+cpu)",
])
def test_install_requests_are_not_the_installed_version(line):
    assert parsed(line).snapshot.torch.version is None


def test_companion_and_deepspeed_messages_state_cuda():
    snap = parsed(read("log-torchaudio-compiled-with-cuda-11.7-torch-11.8.txt")).snapshot
    assert (snap.torch.cuda, snap.python.packages["torchaudio"].cuda) == ("11.8", "11.7")
    snap = parsed(read("log-deepspeed-cuda-mismatch-12.2-vs-11.7.txt")).snapshot
    assert snap.torch.cuda == "11.7"
    assert [(k.version, k.used_by_torch_extensions) for k in snap.cuda_toolkits] == [("12.2", True)]


# --------------------------------------------------------------------------- environment reports


@pytest.mark.parametrize("name, gpus, gpu, driver, torch, cuda, nvcc", [
    ("control-sglang-check-env-8xh100-2.7.1-cu126.txt", 8, "NVIDIA H100 80GB HBM3", "550.127.08", "2.7.1+cu126", "12.6",
     "12.4"),
    ("control-sglang-check-env-8xh20-2.8.0-cu129-docker.txt", 8, "NVIDIA H20", "550.127.08", "2.8.0+cu129", "12.9",
     "12.9"),
])
def test_sglang_check_env_gpus_listed_once_stay_that_many(name, gpus, gpu, driver, torch, cuda, nvcc):
    result = parsed(read(name))
    assert kinds(result) == ["env-report"]
    snap = result.snapshot
    assert [g.index for g in snap.gpus] == list(range(gpus))
    assert {g.name for g in snap.gpus} == {gpu}
    assert {g.compute_capability for g in snap.gpus} == {"9.0"}
    assert (snap.driver.version, snap.torch.version, snap.torch.cuda, snap.torch.cuda_available) == (
        driver, torch, cuda, True)
    kit = snap.cuda_toolkits[0]
    assert (kit.version, kit.path, kit.used_by_torch_extensions) == (nvcc, "/usr/local/cuda", True)
    assert snap.python.packages["triton"].version
    assert "vllm" not in snap.python.packages  # "vllm: Module Not Found"


def test_transformers_env():
    snap = parsed(read("control-transformers-env-2.1.2-cu118-multi-gpu.txt")).snapshot
    assert (snap.torch.version, snap.torch.cuda, snap.torch.cuda_available) == ("2.1.2+cu118", "11.8", True)
    assert (snap.system.os, snap.system.kernel, snap.system.glibc) == ("Linux", "6.5.0-25-generic", "2.35")
    assert snap.gpus == [] and snap.driver.version is None  # neither is in the report


# https://github.com/huggingface/accelerate/issues/1048 (accelerate env, 2023)
ACCELERATE_ENV = """Here is my accelerate env:
- `Accelerate` version: 0.16.0
- Platform: Linux-5.4.15-1.el7.elrepo.x86_64-x86_64-with-glibc2.27
- Python version: 3.9.16
- Numpy version: 1.23.5
- PyTorch version (GPU?): 1.12.1+cu116 (True)
- `Accelerate` default config:
        - compute_environment: LOCAL_MACHINE
        - distributed_type: NO
        - mixed_precision: no
        - use_cpu: True
        - dynamo_backend: NO
        - num_processes: 1
        - machine_rank: 0
        - num_machines: 1
        - rdzv_backend: static
        - same_network: False
        - main_training_function: main
        - deepspeed_config: {}
        - fsdp_config: {}
        - megatron_lm_config: {}
        - downcast_bf16: False
"""

# https://github.com/NixOS/nixpkgs/pull/229334 (huggingface-cli env, torch not installed)
HF_ENV = """```shell
> huggingface-cli env

Copy-and-paste the text below in your GitHub issue.

- huggingface_hub version: 0.14.1
- Platform: Linux-6.2.10-x86_64-with-glibc2.37
- Python version: 3.10.11
- Running in iPython ?: No
- Running in notebook ?: No
- Running in Google Colab ?: No
- Token path ?: /home/kira/.cache/huggingface/token
- Has saved token ?: False
- Configured git credential helpers:
- FastAI: N/A
- Tensorflow: N/A
- Torch: N/A
- Jinja2: 3.1.2
- Graphviz: N/A
- Pydot: N/A
- Pillow: N/A
- hf_transfer: N/A
- gradio: N/A
- ENDPOINT: https://huggingface.co
- HUGGINGFACE_HUB_CACHE: /home/kira/.cache/huggingface/hub
```
"""

# https://github.com/deepspeedai/DeepSpeed/pull/6762 (ds_report's environment part)
DS_REPORT = """```
DeepSpeed general environment info:
torch install path ............... ['/home/deepspeed/test/trans-venv/lib/python3.12/site-packages/torch']
torch version .................... 2.3.0+cu121
deepspeed install path ........... ['/home/deepspeed/test/trans-venv/lib/python3.12/site-packages/deepspeed']
deepspeed info ................... 0.15.5+46d7d0d1, 46d7d0d1, patch-1
torch cuda version ............... 12.1
torch hip version ................ None
nvcc version ..................... 12.0
deepspeed wheel compiled w. ...... torch 0.0, cuda 0.0
shared memory (/dev/shm) size .... 125.77 GB
```
"""


def test_accelerate_env():
    result = parsed(ACCELERATE_ENV)
    assert kinds(result) == ["env-report"]
    snap = result.snapshot
    assert (snap.torch.version, snap.torch.cuda, snap.torch.cuda_available) == ("1.12.1+cu116", "11.6", True)
    assert (snap.python.version, snap.python.packages["numpy"].version) == ("3.9.16", "1.23.5")


def test_hf_env_without_torch_leaves_torch_unknown():
    result = parsed(HF_ENV)
    assert kinds(result) == ["env-report"]
    snap = result.snapshot
    assert (snap.torch.version, snap.torch.build, snap.torch.cuda_available) == (None, None, None)
    assert (snap.python.version, snap.system.os) == ("3.10.11", "Linux")


def test_ds_report():
    result = parsed(DS_REPORT)
    assert kinds(result) == ["env-report"]
    snap = result.snapshot
    assert (snap.torch.version, snap.torch.cuda, snap.torch.hip) == ("2.3.0+cu121", "12.1", None)
    assert snap.torch.location == "/home/deepspeed/test/trans-venv/lib/python3.12/site-packages/torch"
    assert [(k.version, k.used_by_torch_extensions) for k in snap.cuda_toolkits] == [("12.0", True)]
    assert snap.system.shm_total_mib == int(125.77 * 1024)


def test_vllm_collect_env_new_layout():
    result = parsed(read("control-vllm-ce-new-format-2.7.0-cu126-4xa100.txt"))
    assert kinds(result) == ["collect-env"]
    snap = result.snapshot
    assert (snap.torch.version, snap.torch.cuda, snap.torch.cuda_available) == ("2.7.0+cu126", "12.6", True)
    assert len(snap.gpus) == 4 and snap.cuda_toolkits[0].version == "12.6"
    snap = parsed(read("vllm-ce-2.9.1-cu130-rtx-pro-6000-blackwell.txt")).snapshot
    assert (snap.torch.version, snap.cuda_toolkits[0].version, len(snap.gpus)) == ("2.9.1+cu130", "13.1", 2)


# https://github.com/vllm-project/vllm/issues/19607: the tail of the new layout, GPU topology included
VLLM_TAIL = """```text
vLLM Version                 : 0.8.5.post1
vLLM Build Flags:
  CUDA Archs: Not Set; ROCm: Disabled; Neuron: Disabled
GPU Topology:
        GPU0    GPU1    NIC0    NIC1    NIC2    NIC3    NIC4    NIC5    NIC6    NIC7    CPU Affinity    NUMA Affinity   GPU NUMA ID
GPU0     X      NV12    SYS     SYS     SYS     SYS     SYS     SYS     PXB     PXB                             N/A
GPU1    NV12     X      SYS     SYS     SYS     SYS     SYS     SYS     PXB     PXB                             N/A
NIC0    SYS     SYS      X      PIX     SYS     SYS     SYS     SYS     SYS     SYS
NIC1    SYS     SYS     PIX      X      SYS     SYS     SYS     SYS     SYS     SYS

Legend:

  X    = Self
  SYS  = Connection traversing PCIe as well as the SMP interconnect between NUMA nodes (e.g., QPI/UPI)
"""


def test_vllm_topology_stays_in_the_report():
    result = parsed(VLLM_TAIL)
    blocks = [b for b in result.blocks if b.kind != "log"]
    assert [b.kind for b in blocks] == ["collect-env"]
    assert blocks[0].end - blocks[0].start >= 9  # vLLM Version ... NIC1: the matrix is not a new block
    assert result.snapshot.gpus == []  # a topology matrix lists no GPU names


# https://github.com/vllm-project/vllm/pull/9293: vLLM's collect_env under WSL2 (old layout)
VLLM_WSL = """Collecting environment information...
PyTorch version: 2.4.0+cu121
Is debug build: False
CUDA used to build PyTorch: 12.1
ROCM used to build PyTorch: N/A

OS: Ubuntu 22.04.2 LTS (x86_64)
GCC version: (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0
Clang version: 14.0.0-1ubuntu1.1
CMake version: version 3.30.2
Libc version: glibc-2.35

Python version: 3.12.3 | packaged by Anaconda, Inc. | (main, May  6 2024, 19:46:43) [GCC 11.2.0] (64-bit runtime)
Python platform: Linux-5.15.153.1-microsoft-standard-WSL2-x86_64-with-glibc2.35
Is CUDA available: True
CUDA runtime version: 12.4.131
CUDA_MODULE_LOADING set to: LAZY
GPU models and configuration: GPU 0: NVIDIA GeForce RTX 4070 Laptop GPU
Nvidia driver version: 551.88
cuDNN version: Could not collect
"""


# https://github.com/open-mmlab/mmdeploy/issues/2264: mmengine's check_env on a Chinese-locale Windows, every
# line behind the logger's prefix, MSVC's banner translated
MMENGINE_ZH = """```Shell
(base) PS D:\\mmdeploy>  python .\\tools\\check_env.py
07/10 16:07:35 - mmengine - INFO -

07/10 16:07:35 - mmengine - INFO - **********Environmental information**********
07/10 16:07:40 - mmengine - INFO - sys.platform: win32
07/10 16:07:40 - mmengine - INFO - Python: 3.10.9 | packaged by Anaconda, Inc. | (main, Mar  1 2023, 18:18:15) [MSC v.1916 64 bit (AMD64)]
07/10 16:07:40 - mmengine - INFO - CUDA available: True
07/10 16:07:40 - mmengine - INFO - numpy_random_seed: 2147483648
07/10 16:07:40 - mmengine - INFO - GPU 0: NVIDIA GeForce RTX 4090
07/10 16:07:40 - mmengine - INFO - CUDA_HOME: C:\\Program Files\\NVIDIA GPU Computing Toolkit\\CUDA\\v11.8
07/10 16:07:40 - mmengine - INFO - NVCC: Cuda compilation tools, release 11.8, V11.8.89
07/10 16:07:40 - mmengine - INFO - MSVC: 用于 x64 的 Microsoft (R) C/C++ 优化编译器 19.29.30148 版
07/10 16:07:40 - mmengine - INFO - GCC: n/a
07/10 16:07:40 - mmengine - INFO - PyTorch: 2.0.0+cu118
07/10 16:07:40 - mmengine - INFO - PyTorch compiling details: PyTorch built with:
  - C++ Version: 199711
  - MSVC 193431937
  - Intel(R) Math Kernel Library Version 2020.0.2 Product Build 20200624 for Intel(R) 64 architecture applications
  - Intel(R) MKL-DNN v2.7.3 (Git Hash 6dbeffbae1f23cbbeae17adb7b5b13f1f37c080e)
  - OpenMP 2019
  - LAPACK is enabled (usually provided by MKL)
  - CPU capability usage: AVX2
  -"""

# https://github.com/open-mmlab/mmdetection/issues/6757: mmdet's collect_env with PyTorch's build details
MMDET_ENV = """sys.platform: linux
Python: 3.8.10 (default, Sep 28 2021, 16:10:42) [GCC 9.3.0]
CUDA available: True
GPU 0: NVIDIA GeForce RTX 3060 Laptop GPU
CUDA_HOME: /usr/local/cuda
NVCC: Build cuda_11.3.r11.3/compiler.29920130_0
GCC: gcc (Ubuntu 9.3.0-17ubuntu1~20.04) 9.3.0
PyTorch: 1.10.0+cu113
PyTorch compiling details: PyTorch built with:
  - GCC 7.3
  - C++ Version: 201402
  - Intel(R) Math Kernel Library Version 2020.0.0 Product Build 20191122 for Intel(R) 64 architecture applications
  - Intel(R) MKL-DNN v2.2.3 (Git Hash 7336ca9f055cf1bfa13efb658fe15dc9b41f0740)
  - OpenMP 201511 (a.k.a. OpenMP 4.5)
  - LAPACK is enabled (usually provided by MKL)
  - NNPACK is enabled
  - CPU capability usage: AVX512
  - CUDA Runtime 11.3
  - NVCC architecture flags: -gencode;arch=compute_37,code=sm_37;-gencode;arch=compute_50,code=sm_50;-gencode;arch=compute_60,code=sm_60;-gencode;arch=compute_70,code=sm_70;-gencode;arch=compute_75,code=sm_75;-gencode;arch=compute_80,code=sm_80;-gencode;arch=compute_86,code=sm_86
  - CuDNN 8.2
  - Magma 2.5.2
"""

# https://github.com/facebookresearch/detectron2/issues/4469: detectron2's collect_env table
DETECTRON2_ENV = """Paste the output of the following command:
```
----------------------  --------------------------------------------------------------------------------------------------
sys.platform            win32
Python                  3.8.13 (default, Mar 28 2022, 06:59:08) [MSC v.1916 64 bit (AMD64)]
numpy                   1.23.1
detectron2              0.6 @c:\\users\\grzegorz\\pycharmprojects\\vimap\\detectron2\\detectron2
Compiler                MSVC 192930133
CUDA compiler           not available
DETECTRON2_ENV_MODULE   <not set>
PyTorch                 1.12.0+cu116 @C:\\Users\\Grzegorz\\anaconda3\\envs\\vimap\\lib\\site-packages\\torch
PyTorch debug build     False
GPU available           Yes
GPU 0                   NVIDIA GeForce GTX 1080 (arch=6.1)
Driver version          511.65
CUDA_HOME               C:\\Program Files\\NVIDIA GPU Computing Toolkit\\CUDA\\v11.6
Pillow                  9.2.0
torchvision             0.13.0+cu116 @C:\\Users\\Grzegorz\\anaconda3\\envs\\vimap\\lib\\site-packages\\torchvision
----------------------  --------------------------------------------------------------------------------------------------
"""


def test_mmengine_check_env_chinese_windows():
    result = parsed(MMENGINE_ZH)
    assert kinds(result) == ["env-report"]
    snap = result.snapshot
    assert (snap.system.os, snap.torch.version, snap.torch.cuda, snap.torch.cuda_available) == (
        "Windows", "2.0.0+cu118", "11.8", True)
    assert [(g.index, g.name) for g in snap.gpus] == [(0, "NVIDIA GeForce RTX 4090")]
    assert snap.cuda_toolkits[0].version == "11.8"
    assert snap.system.compilers == []  # "GCC: n/a"; MSVC's translated banner is not a gcc


def test_mmdet_env_reads_pytorch_build_details():
    snap = parsed(MMDET_ENV).snapshot
    assert (snap.torch.version, snap.torch.cuda, snap.torch.cudnn) == ("1.10.0+cu113", "11.3", "8.2")
    assert snap.torch.arch_list == ["sm_37", "sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86"]
    assert snap.cuda_toolkits == []  # "NVCC: Build cuda_11.3..." names no release: not guessed


def test_detectron2_env_table():
    result = parsed(DETECTRON2_ENV)
    assert kinds(result) == ["env-report"]
    snap = result.snapshot
    assert (snap.torch.version, snap.torch.cuda_available, snap.driver.version) == ("1.12.0+cu116", True, "511.65")
    assert snap.torch.location == "C:\\Users\\Grzegorz\\anaconda3\\envs\\vimap\\lib\\site-packages\\torch"
    assert [(g.name, g.compute_capability) for g in snap.gpus] == [("NVIDIA GeForce GTX 1080", "6.1")]
    assert snap.python.packages["torchvision"].version == "0.13.0+cu116"


# --------------------------------------------------------------------------- Chinese-locale pastes


def test_collect_env_with_full_width_colons():
    # https://github.com/pytorch/pytorch/issues/37212: "GPU 0： Tesla P100", "PyTorch version 1.5.0" (no colon),
    # "Os:" and "Version of relevant libraries:" as that paste spells them
    result = parsed(read("ce-1.5.0-cu102-driver-410-four-p100-fullwidth-colon.txt"))
    assert kinds(result) == ["collect-env"]
    snap = result.snapshot
    assert [g.name for g in snap.gpus] == ["Tesla P100-PCIE-16GB"] * 4
    assert (snap.driver.version, snap.torch.version, snap.torch.cuda) == ("410.104", "1.5.0", "10.2")
    assert (snap.cuda_toolkits[0].version, snap.torch.cuda_available, snap.system.os) == ("10.0", False, "Linux")
    assert snap.python.packages["torchvision"].version == "0.6.0"


def test_chinese_full_width_labels_and_smi_list():
    # https://github.com/pytorch/pytorch/issues/99137
    text = ("GPU 0: Quadro K620 (UUID: GPU-56622fc6-a9b3-5594-4c6d-b0b231be656a)\n"
            "python version：3.8.16\ncuda version：cuda10.2\ncudnn version:8.7.0\n")
    snap = parsed(text).snapshot
    assert [(g.index, g.name, g.uuid) for g in snap.gpus] == [(0, "Quadro K620", "GPU-56622fc6-a9b3-5594-4c6d-b0b231be656a")]
    assert snap.torch.cuda is None  # "cuda version: cuda10.2" does not say whose CUDA


# --------------------------------------------------------------------------- conda plans


def test_conda_plan_today_with_specs():
    snap = parsed(read("conda-mamba-cudatoolkit-11.0-vs-virtual-cuda-10.2.txt")).snapshot
    assert snap.conda.requested == ["cudatoolkit=11.0", "pytorch"]
    assert snap.conda.requested_channels == ["pytorch", "conda-forge"]
    pkg = snap.conda.packages["cudatoolkit"]
    assert (pkg.version, pkg.build, pkg.channel) == ("11.0.3", "h15472ef_8", "conda-forge")
    assert snap.conda.active_prefix == "/home/barryza1/miniconda3/envs/blahhh"
    # mamba's "conflicting with __cuda-10.2-0": the driver's CUDA as conda detects it
    assert snap.driver.cuda_version == "10.2"


# https://github.com/pytorch/pytorch/issues/4596: conda 4.4's plan, quoted, with the old "name: version-build" rows
CONDA_44 = """> $ conda install pytorch torchvision -c pytorch
> Solving environment: done
> 
> ## Package Plan ##
> 
>   environment location: /home-nfs/rluo/rluo/local/anaconda2
> 
>   added / updated specs:
>     - pytorch
>     - torchvision
> 
> 
> The following NEW packages will be INSTALLED:
> 
>     pytorch:     0.3.0-py27_cuda9.0.176_cudnn7.0.3hdbbd62b_4 pytorch [cuda90]
>     torchvision: 0.2.0-py27hfb27419_1                        pytorch
"""

# https://github.com/pytorch/vision/issues/4240: the download table alone
CONDA_TABLE = """```
    libpng-1.6.37              |       h21135ba_2         306 KB  conda-forge
    libtiff-4.2.0              |       h85742a9_0         502 KB
    libuv-1.42.0               |       h7f98852_0         1.0 MB  conda-forge
    pytorch-1.9.0              |py3.9_cuda11.1_cudnn8.0.5_0        1.44 GB  pytorch
    torchvision-0.10.0         |       py39_cu111         8.3 MB  pytorch
    typing_extensions-3.10.0.0 |     pyha770c72_0          28 KB  conda-forge
    zstd-1.4.9"""

# https://github.com/pytorch/pytorch/issues/11138: the table quoted inside a sentence
CONDA_QUOTED = """Conda displays the following:

"The following packages will be downloaded:

    package                    |            build
    ---------------------------|-----------------
    pytorch-0.4.1              |py36_cuda9.0.176_cudnn7.1.2_1       463.8 MB  pytorch
    torchvision-0.2.1          |           py36_1         123 KB  pytorch
    cudatoolkit-9.2            |                0       351.0 MB
    ninja-1.8.2                |   py36h6bb024c_1         1.3 MB"

which, obviously, cannot work."""

# https://github.com/pytorch/pytorch/issues/59222 (cut in the download table)
CONDA_CPUONLY = """$ conda install pytorch torchvision torchaudio cpuonly -c pytorch
Collecting package metadata (current_repodata.json): done
Solving environment: done

## Package Plan ##

  environment location: /home/rgommers/anaconda3/envs/issue59222

  added / updated specs:
    - cpuonly
    - pytorch
    - torchaudio
    - torchvision


The following packages will be downloaded:

    package                    |            build
    ---------------------------|-----------------
    _libgcc_mutex-0.1          |             main           3 KB
    cpuonly-1.0                |                0           2 KB  pytorch
    ffmpeg-4.3                 |       hf484d3e_0         9.9 MB  pytorch
"""


def test_conda_45_layout():
    result = parsed(CONDA_44)
    assert kinds(result) == ["install-cmd", "conda-plan"]
    snap = result.snapshot
    pkg = snap.conda.packages["pytorch"]
    assert (pkg.version, pkg.build, pkg.channel) == ("0.3.0", "py27_cuda9.0.176_cudnn7.0.3hdbbd62b_4", "pytorch")
    assert (snap.torch.dist_version, snap.torch.cuda, snap.torch.installer) == ("0.3.0", "9.0", "conda")
    assert snap.conda.requested == ["pytorch", "torchvision"]


def test_conda_download_tables():
    snap = parsed(CONDA_TABLE).snapshot
    assert {n: (p.version, p.build) for n, p in snap.conda.packages.items()} == {
        "pytorch": ("1.9.0", "py3.9_cuda11.1_cudnn8.0.5_0"), "torchvision": ("0.10.0", "py39_cu111")}
    assert snap.torch.cuda == "11.1"
    snap = parsed(CONDA_QUOTED).snapshot
    assert (snap.conda.packages["pytorch"].version, snap.conda.packages["cudatoolkit"].version) == ("0.4.1", "9.2")


def test_conda_plan_cpuonly_specs_and_channels():
    snap = parsed(CONDA_CPUONLY).snapshot
    assert snap.conda.requested == ["pytorch", "torchvision", "torchaudio", "cpuonly"]
    assert snap.conda.requested_channels == ["pytorch"]
    assert snap.conda.packages["cpuonly"].version == "1.0"
    assert "pytorch" not in snap.conda.packages  # the paste was cut before its row


def test_conda_packages_not_found_specs_and_channels():
    snap = parsed(read("conda-packagesnotfound-pytorch-2.6-env-create.txt")).snapshot
    assert snap.conda.requested == ["pytorch=2.6*"]
    assert snap.conda.requested_channels == ["pytorch", "anaconda", "nvidia", "defaults"]


def test_conda_install_line_channels():
    snap = parsed(read("conda-install-pytorch-cuda-12.1-nvidia-tuna-404.txt")).snapshot
    assert snap.conda.requested == ["pytorch", "torchvision", "torchaudio", "pytorch-cuda=12.1"]
    assert snap.conda.requested_channels == ["nvidia"]


# --------------------------------------------------------------------------- pip's transcript


def test_pip_transcript_end_state():
    result = parsed(read("pip-transcript-torch-downgraded-xformers-incompatible.txt"))
    assert kinds(result) == ["pip-log"]
    packages = result.snapshot.python.packages
    assert {n: p.version for n, p in packages.items()} == {
        "torch": "2.4.0", "torchaudio": "2.4.0", "torchvision": "0.19.0", "xformers": "0.0.28.post3"}


# https://github.com/pytorch/tutorials/pull/3055
PIP_INSTALLED = "Successfully installed ... torch-2.5.0+cu124 torchaudio-2.5.0+cu124 torchvision-0.20.0+cu124"

# https://github.com/pytorch/pytorch/pull/114281 (a local wheel, then its dependencies)
PIP_PROCESSING = """pip3 install --no-cache-dir --pre torch-2.2.0.dev20231121%2Bcu121-cp310-cp310-linux_x86_64.whl  --index-url https://download.pytorch.org/whl/nightly/cu121
Looking in indexes: https://download.pytorch.org/whl/nightly/cu121
Processing ./torch-2.2.0.dev20231121%2Bcu121-cp310-cp310-linux_x86_64.whl
Collecting filelock (from torch==2.2.0.dev20231121+cu121)
  Downloading https://download.pytorch.org/whl/nightly/filelock-3.9.0-py3-none-any.whl (9.7 kB)
Collecting typing-extensions>=4.8.0 (from torch==2.2.0.dev20231121+cu121)
  Downloading https://download.pytorch.org/whl/nightly/typing_extensions-4.8.0-py3-none-any.whl (31 kB)
"""

# https://github.com/pytorch/pytorch/issues/121646 (pip downloading torch's CUDA wheels)
PIP_DOWNLOADS = """```
Downloading nvidia_cublas_cu12-12.1.3.1-py3-none-manylinux1_x86_64.whl (410.6 MB)
   ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ 410.6/410.6 MB 3.9 MB/s eta 0:00:00
Downloading nvidia_cuda_cupti_cu12-12.1.105-py3-none-manylinux1_x86_64.whl (14.1 MB)
   ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ 14.1/14.1 MB 45.9 MB/s eta 0:00:00
Downloading nvidia_cudnn_cu12-8.9.2.26-py3-none-manylinux1_x86_64.whl (731.7 MB)
   ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ 731.7/731.7 MB 4.1 MB/s eta 0:00:00
"""


def test_pip_successfully_installed_keeps_the_variant():
    packages = parsed(PIP_INSTALLED).snapshot.python.packages
    assert {n: p.version for n, p in packages.items()} == {
        "torch": "2.5.0+cu124", "torchaudio": "2.5.0+cu124", "torchvision": "0.20.0+cu124"}
    snap = parsed(PIP_INSTALLED).snapshot
    assert (snap.torch.version, snap.torch.cuda, snap.torch.build) == ("2.5.0+cu124", "12.4", "cuda")


def test_pip_requests_from_the_command_and_the_wheels():
    snap = parsed(PIP_PROCESSING).snapshot
    assert "torch==2.2.0.dev20231121+cu121" in snap.python.requested
    assert snap.python.requested_index_urls == ["https://download.pytorch.org/whl/nightly/cu121"]
    assert snap.python.packages == {}  # nothing says it finished installing
    snap = parsed(PIP_DOWNLOADS).snapshot
    assert snap.python.requested == ["nvidia-cublas-cu12==12.1.3.1", "nvidia-cuda-cupti-cu12==12.1.105",
                                      "nvidia-cudnn-cu12==8.9.2.26"]


def test_pip_already_satisfied_with_path_and_version():
    line = ("Requirement already satisfied: torch in /usr/local/lib/python3.10/dist-packages "
            "(from -r requirements.txt (line 3)) (2.1.0+cu121)")
    assert pip_log.already_satisfied(line) == ("torch", "/usr/local/lib/python3.10/dist-packages", "2.1.0+cu121")
    # https://github.com/ThetaCursed/clean-ui/issues/1 (Windows path, a package envcheck does not keep)
    real = ("Requirement already satisfied: transformers==4.45.1 in c:\\users\\administrator\\desktop\\clearn\\"
            "clean-ui\\venv-ui\\lib\\site-packages (from -r requirements.txt (line 1)) (4.45.1)")
    assert pip_log.already_satisfied(real)[2] == "4.45.1"
    assert pip_log.parse([real]).installed == {}
    assert pip_log.already_satisfied("Requirement already satisfied: torch in /x/site-packages") == (
        "torch", "/x/site-packages", None)


def test_pip_show():
    packages = parsed(read("pip-show-torch-2.4.0-cu121-torchvision-0.20.1-nms.txt")).snapshot.python.packages
    assert (packages["torch"].version, packages["torchvision"].version) == ("2.4.0+cu121", "0.20.1+cu124")
    assert packages["torch"].location.endswith("venv\\lib\\site-packages")


def test_conda_collecting_is_not_pip():
    result = parsed(read("log-conda-unsatisfiable-cudatoolkit.txt"))
    assert "pip-log" not in kinds(result)


# --------------------------------------------------------------------------- ldd and environment variables


def test_ldd_and_echo_ld_library_path():
    result = parsed(read("ldd-libcusparse-nvjitlink-cuda121.txt"))
    assert kinds(result) == ["ldd", "env-vars"]
    snap = result.snapshot
    assert [(l.name, l.path, l.version) for l in snap.torch.loaded_libraries] == [
        ("libcusparse", "/home/mit/kxyRAG/ragflow/.venv/lib/python3.12/site-packages/nvidia/cusparse/lib/libcusparse.so.12",
         "12"),
        ("libnvJitLink", "/usr/local/cuda-12.1/lib64/libnvJitLink.so.12", "12")]
    assert snap.env == {"LD_LIBRARY_PATH": "/usr/local/cuda-12.1/lib64:"}


def test_echo_of_an_unset_variable_stays_unknown():
    # https://github.com/cBio/cbio-cluster/issues/1: echo printed an empty line
    text = "-bash-4.1$ echo $CUDA_VISIBLE_DEVICES\n\n-bash-4.1$ echo $CUDA_VISABLE_DEVICES\n0"
    assert parsed(text).snapshot.env == {}


def test_export_lines_expand_and_the_last_one_wins():
    # https://github.com/MrForExample/ComfyUI-3D-Pack/issues/444
    text = ("export CUDA_HOME=/usr/local/cuda-12.8\nexport PATH=$CUDA_HOME/bin:$PATH \n"
            "export LD_LIBRARY_PATH=$CUDA_HOME/lib64:$LD_LIBRARY_PATH\n")
    env = parsed(text).snapshot.env
    assert env == {"CUDA_HOME": "/usr/local/cuda-12.8", "PATH": "/usr/local/cuda-12.8/bin:$PATH",
                   "LD_LIBRARY_PATH": "/usr/local/cuda-12.8/lib64:$LD_LIBRARY_PATH"}


def test_env_output_keeps_only_relevant_variables_redacted():
    text = ("CUDA_VISIBLE_DEVICES=0,1\nHOME=/home/u\nHF_TOKEN=hf_abcdefghijklmnopqrstuvwxyz\n"
            "PIP_INDEX_URL=https://user:secret@mirror.example/simple\nNCCL_DEBUG=INFO\n")
    env = parsed(text).snapshot.env
    assert set(env) == {"CUDA_VISIBLE_DEVICES", "PIP_INDEX_URL", "NCCL_DEBUG"}
    assert "secret" not in env["PIP_INDEX_URL"]
    assert env["CUDA_VISIBLE_DEVICES"] == "0,1"


def test_variable_set_for_one_command():
    assert env_vars.parse(["CUDA_VISIBLE_DEVICES=1 python train.py"]) == {"CUDA_VISIBLE_DEVICES": "1"}


# --------------------------------------------------------------------------- requirement 4, analyze side


@pytest.mark.parametrize("order", ["mig-first", "gpus-first", "two-inputs-mig-first"])
def test_mig_counts_whatever_the_order(order):
    mig = read("smi-mig-devices-table.txt")
    gpus = read("smi-510-a100-mig-enabled.txt")
    if order == "mig-first":
        snap = parsed(mig + "\n" + gpus).snapshot
    elif order == "gpus-first":
        snap = parsed(gpus + "\n" + mig).snapshot
    else:
        snap = parsed(mig, gpus).snapshot
    counts = {g.index: g.mig_devices for g in snap.gpus}
    assert counts.get(1) == 3 and counts.get(0, 0) == 0
    assert snap.gpus[[g.index for g in snap.gpus].index(1)].mig_mode == "Enabled"


def test_mig_table_pasted_twice_counts_once():
    mig = read("smi-mig-devices-table.txt")
    gpus = read("smi-510-a100-mig-enabled.txt")
    snap = parsed(gpus + "\n" + mig + "\n" + mig).snapshot
    assert {g.index: g.mig_devices for g in snap.gpus}.get(1) == 3


def test_mig_table_alone_invents_no_gpu():
    assert parsed(read("smi-mig-devices-table.txt")).snapshot.gpus == []


def test_wsl_only_from_wsl_evidence():
    # a two-part driver next to another nvidia-smi version is not evidence of WSL
    assert parsed(read("smi-545-wsl-err-cuda.txt")).snapshot.system.wsl is None
    assert parsed(read("smi-461-windows-wddm.txt")).snapshot.system.wsl is None
    assert parsed(read("nvcc-12.8-smi-571-windows-rtx4090-cudarc.txt")).snapshot.system.wsl is None
    # WSL's kernel in collect_env, the driver's library directory
    snap = parsed(VLLM_WSL).snapshot
    assert (snap.system.wsl, snap.system.os) == (True, "Linux")
    assert parsed(read("wsl-ldconfig-libcuda-so-missing-from-cache.txt")).snapshot.system.wsl is True


def test_wsl_with_a_wddm_table_is_still_linux():
    snap = parsed(read("smi-461-windows-wddm.txt"), VLLM_WSL).snapshot
    assert (snap.system.wsl, snap.system.os) == (True, "Linux")
    assert parsed(read("smi-461-windows-wddm.txt")).snapshot.system.os == "Windows"


def test_working_and_failing_nvidia_smi_are_both_kept():
    snap = parsed(read("smi-550-rtx4070.txt") + "\n" + read("log-smi-no-comm-with-nvcc.txt")).snapshot
    d = snap.driver
    assert (d.status, d.version, d.other_status) == ("ok", "550.40.07", "no-driver-comm")
    assert "communicate" in d.other_status_message
    # https://github.com/NVIDIA/nvidia-container-toolkit/issues/115: the container's nvidia-smi fails, the host's works
    text = ('run command “sudo docker run --rm --runtime=nvidia --gpus all ubuntu nvidia-smi”\n'
            'the output is "Failed to initialize NVML: Unknown Error"\n'
            'but in the host machine ,"nvidia-smi" can get the correct result\n\n'
            "NVIDIA-SMI 535.104.05             Driver Version: 535.104.05   CUDA Version: 12.2 \n"
            " NVIDIA A100-PCIE-40GB\n")
    d = parsed(text).snapshot.driver
    assert (d.status, d.version, d.other_status) == ("ok", "535.104.05", "error")
    assert d.other_status_message == "Failed to initialize NVML: Unknown Error"
    # a failure alone stays the status, with no "other" one
    d = parsed(read("log-smi-no-comm-with-nvcc.txt")).snapshot.driver
    assert (d.status, d.other_status) == ("no-driver-comm", None)


def test_xpu_build_is_not_cpu_only():
    snap = parsed(read("control-ce-xpu-nightly-intel-arc-pro-b70.txt")).snapshot
    assert snap.torch.version == "2.15.0.dev20260915+xpu" and snap.torch.build is None


def test_partial_collect_env_without_its_first_lines():
    snap = parsed(read("control-ce-partial-gtx1660super-525.txt")).snapshot
    assert (snap.driver.version, len(snap.gpus), snap.torch.cuda_available) == ("525.147.05", 1, True)
    assert snap.torch.version is None  # the PyTorch lines were not pasted


# --------------------------------------------------------------------------- linear time and robustness


def _pathological(unit: str, times: int) -> List[str]:
    return [unit * times] * 6


UNITS = [
    "print(torch.__version__, torch.version.cuda, ", "torch.__version__ → torch 2.1.0+cu121 ", "- PyTorch version (x): 1.",
    "torch" + " " * 40, "key ... ", "a: b ", "Requirement already satisfied: torch in /x (from y) (",
    "but you have torch 1.", "a-1", "a:", "\tlibx.so", "export CUDA_HOME=$A", "pip install torch==1 ", "GPU 0: NVIDIA (",
    "- GPU: NVIDIA x ", '$ python -c "print(torch.__version__);', "b@c:", "|  1    3   0   0  |", "1.", "__cuda-",
    "GPU 0,", "- a: ", "PyTorch version ", "    pytorch-1 | b ", "  pytorch  x::y --> ", "Driver Version: 5",
]
PARSE_ALL: List[Callable[[List[str]], object]] = [
    lambda ls: detect.detect(ls, "x"), prints.parse, prose.parse, env_report.parse, pip_log.parse, pip_log.parse_show,
    conda_plan.parse, ldd.parse, env_vars.parse, install_cmd.parse, smi_list.parse,
]


def _best(func: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.process_time()  # CPU time: tests on other xdist workers do not count
        func()
        best = min(best, time.process_time() - start)
    return best


@pytest.mark.parametrize("unit", UNITS)
def test_new_detectors_and_parsers_are_linear(unit):
    small = _pathological(unit, 40)
    big = _pathological(unit, 320)  # 8x the line length
    t1 = _best(lambda: [f(small) for f in PARSE_ALL])
    t8 = _best(lambda: [f(big) for f in PARSE_ALL])
    assert t8 < max(t1 * 24, 0.02), (unit, t1, t8)  # linear is ~8x; quadratic would be ~64x
    # 8x the lines, from more lines than any look-ahead window (20: a run of print lines) so that a bounded window
    # is not taken for a rescan
    rows = [unit * 5] * 30
    t1n = _best(lambda: [f(rows) for f in PARSE_ALL])
    t8n = _best(lambda: [f(rows * 8) for f in PARSE_ALL])
    assert t8n < max(t1n * 24, 0.02), (unit, t1n, t8n)


FUZZ = settings(max_examples=int(os.environ.get("ENVCHECK_FUZZ_EXAMPLES", "150")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])
TOKENS = list("|+-=:., \t\n0123456789abcdef()[]'\"`$>%/\\") + [
    "torch.__version__", "torch.version.cuda", "torch.cuda.is_available()", "print(", ">>> ", "In [1]: ", "Out[1]: ",
    "python -c ", "PyTorch: ", "- PyTorch version (GPU?): ", "GPU 0,1: NVIDIA H100", "NVCC: Cuda compilation tools, release ",
    "torch version .... ", "Successfully installed ", "Found existing installation: ", "Requirement already satisfied: ",
    "Collecting ", "Downloading ", ".whl", "## Package Plan ##", "The following NEW packages will be INSTALLED:",
    "  pytorch  pytorch/linux-64::pytorch-", " --> ", " | ", "\tlibcudart.so.12 => ", " (0x0000)", "export ",
    "LD_LIBRARY_PATH=", "echo $CUDA_HOME", "pip install ", "conda install ", " -c ", "KMD Version: ", "CUDA UMD Version: ",
    "Failed to initialize NVML: ", "microsoft-standard-WSL2", "\uff1a", "→", "**", "Channels:", "  - ", "(UUID: GPU-"]
ALPHABET = st.lists(st.sampled_from(TOKENS), max_size=120).map("".join)
NEW_PARSERS = {
    "prints": lambda ls: prints.parse(ls), "prose": lambda ls: prose.parse(ls), "env_report": env_report.parse,
    "pip_log": pip_log.parse, "pip_show": pip_log.parse_show, "conda_plan": conda_plan.parse, "ldd": ldd.parse,
    "env_vars": env_vars.parse, "install_cmd": install_cmd.parse, "smi_list": smi_list.parse,
    "detect": lambda ls: detect.detect(ls, "x"),
    "analyze": lambda ls: analyze([Input("fuzz", "\n".join(ls))], Knowledge()),
}


@pytest.mark.parametrize("parser", sorted(NEW_PARSERS))
@FUZZ
@given(text=st.one_of(st.text(max_size=300), ALPHABET))
def test_fuzz_new_parsers_never_raise(parser, text):
    NEW_PARSERS[parser](lines(text))


@pytest.mark.parametrize("module", [prints, prose, env_report, pip_log, conda_plan, ldd, env_vars, install_cmd, smi_list])
@FUZZ
@given(text=ALPHABET)
def test_fuzz_new_detectors_stay_in_bounds(module, text):
    ls = lines(text)
    for i in range(len(ls)):
        end = module.detect(ls, i)
        if isinstance(end, Miss):  # "no block starts before end.until": still inside the paste, past i
            end = end.until
        assert end is None or i < end <= len(ls)
