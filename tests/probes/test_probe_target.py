"""The target-interpreter probe against real interpreters: real venvs (one with the real CPU torch),
fake torch packages on PYTHONPATH, and fake interpreters that crash, hang or print junk."""

from __future__ import annotations

import os
import shutil
import stat
import sys
import textwrap
from pathlib import Path
from typing import List, Optional

import pytest

from envcheck.probes import ProbeContext
from envcheck.probes import target_script
from envcheck.probes.target import (
    TargetNotFound,
    cudnn_version_from_int,
    merge_torch,
    nccl_version_str,
    probe_live,
    probe_static,
    resolve_target,
    script_source,
)
from envcheck.snapshot import LoadedLibrary, Torch

from conftest import clean_env, find_python, venv_python

posix_only = pytest.mark.skipif(os.name != "posix", reason="fake interpreters are shell scripts")
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/maps is Linux")
CUDNN_ERROR = "libcudnn.so.9: cannot open shared object file: No such file or directory"


# --------------------------------------------------------------------------- helpers


def ctx_for(python: Path | str, timeout: float = 20.0, **env: str) -> ProbeContext:
    return ProbeContext(env=clean_env(**env), timeout=timeout, python=str(python), python_chosen_by="--python")


def site_packages(venv: Path) -> Path:
    found = sorted(venv.glob("lib/python3*/site-packages")) or sorted(venv.glob("Lib/site-packages"))
    assert found, f"no site-packages in {venv}"
    return found[0]


def make_dist(where: Path, name: str, version: str, installer: Optional[str] = None,
              record: Optional[List[str]] = None) -> Path:
    meta = where / f"{name.replace('-', '_')}-{version}.dist-info"
    meta.mkdir(parents=True)
    (meta / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nLong: text\n")
    if installer:
        (meta / "INSTALLER").write_text(installer + "\n")
    if record is not None:
        (meta / "RECORD").write_text("".join(f"{r},sha256=x,1\n" for r in record))
    return meta


def make_pkg(where: Path, name: str, init: str = "", version_py: Optional[str] = None) -> Path:
    pkg = where / name
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(textwrap.dedent(init))
    if version_py is not None:
        (pkg / "version.py").write_text(textwrap.dedent(version_py))
    return pkg


def fake_interpreter(tmp_path: Path, body: str) -> Path:
    exe = tmp_path / "fakepython"
    exe.write_text("#!/bin/sh\n" + body + "\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return exe


def mapped_library(stem: str) -> Optional[str]:
    """A real shared library our own process has mapped (libz, libm, ...), to copy under a CUDA name."""
    try:
        text = Path("/proc/self/maps").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        path = line.split(None, 5)[-1] if len(line.split(None, 5)) == 6 else ""
        if os.path.basename(path).startswith(stem + ".so"):
            return path
    return None


# --------------------------------------------------------------------------- the real CPU torch


@pytest.mark.slow
def test_static_on_real_cpu_torch(torch_venv: Path) -> None:
    python, torch, cudnn, issues = probe_static(ctx_for(venv_python(torch_venv)))
    site = str(site_packages(torch_venv))
    assert issues == []
    assert python.error is None and python.chosen_by == "--python"
    assert python.version.startswith("3.11.") and python.implementation == "cpython"
    assert python.is_venv is True and python.prefix == str(torch_venv)
    assert python.user_site_enabled is False  # a plain venv hides the user site
    pkg = python.packages["torch"]
    assert (pkg.version, pkg.location, pkg.installer) == ("2.13.0+cpu", site, "pip")
    assert pkg.build_version == "2.13.0+cpu" and pkg.cuda is None
    assert "typing-extensions" not in python.packages  # only the packages envcheck judges
    assert torch.version == "2.13.0+cpu" and torch.dist_version == "2.13.0+cpu"
    assert torch.cuda is None and torch.hip is None and torch.debug is False
    assert torch.build == "cpu"  # version.py was read: no CUDA, no HIP is a CPU build
    assert torch.git_version and len(torch.git_version) == 40
    assert torch.copies == [site] and torch.location == os.path.join(site, "torch")
    assert torch.installer == "pip" and torch.live is False and torch.error is None
    assert cudnn.bundled is None  # the CPU wheel pulls no nvidia-cudnn


@pytest.mark.slow
def test_live_on_real_cpu_torch(torch_venv: Path) -> None:
    torch, cudnn, issues = probe_live(ctx_for(venv_python(torch_venv)))
    site = str(site_packages(torch_venv))
    assert issues == []
    assert torch.live is True and torch.error is None and torch.error_kind is None
    assert torch.version == "2.13.0+cpu" and torch.cuda is None and torch.build == "cpu"
    assert torch.cuda_available is False and torch.device_count == 0 and torch.devices == []
    assert torch.arch_list == []
    assert torch.cudnn is None and torch.nccl is None
    assert torch.location == os.path.join(site, "torch")
    assert torch.import_s is not None and torch.import_s > 0
    assert torch.loaded_libraries == []  # no CUDA library in a CPU build
    assert cudnn.loaded is None and cudnn.torch_reported is None

    static = probe_static(ctx_for(venv_python(torch_venv)))[1]
    merged = merge_torch(static, torch)
    assert merged.live is True and merged.dist_version == "2.13.0+cpu" and merged.copies == [site]
    assert merged.arch_list == [] and merged.cuda_available is False


# --------------------------------------------------------------------------- no torch, broken torch


def test_bare_venv_has_no_torch_and_no_error(bare_venv: Path) -> None:
    python, torch, cudnn, issues = probe_static(ctx_for(venv_python(bare_venv)))
    assert issues == [] and python.error is None
    assert "torch" not in python.packages and "pip" not in python.packages
    assert torch.version is None and torch.dist_version is None and torch.copies == []
    assert torch.error is None and torch.location is None and cudnn.bundled is None

    live, live_cudnn, live_issues = probe_live(ctx_for(venv_python(bare_venv)))
    assert live_issues == []
    assert live.live is True and live.version is None
    assert live.error is None and live.error_kind is None  # not installed is a fact, not a failure
    assert live.cuda_available is None and live_cudnn.loaded is None


def test_import_error_is_reported_verbatim(bare_venv: Path, tmp_path: Path) -> None:
    make_pkg(tmp_path, "torch", f"raise ImportError({CUDNN_ERROR!r})\n")
    torch, _, issues = probe_live(ctx_for(venv_python(bare_venv), PYTHONPATH=str(tmp_path)))
    assert torch.live is True and torch.error_kind == "import"
    assert torch.error.splitlines()[0] == f"ImportError: {CUDNN_ERROR}"
    assert "__init__.py" in torch.error  # the traceback tail says where
    assert issues == []  # torch failing to import is a fact for the rules, not a probe failure


def test_namespace_torch_leftover_is_an_import_error(bare_venv: Path, tmp_path: Path) -> None:
    (tmp_path / "torch" / "lib").mkdir(parents=True)  # what a half-finished uninstall leaves
    torch, _, _ = probe_live(ctx_for(venv_python(bare_venv), PYTHONPATH=str(tmp_path)))
    assert torch.error_kind == "import" and "namespace package" in torch.error
    assert str(tmp_path / "torch") in torch.error


@posix_only
def test_segfault_on_import(bare_venv: Path, tmp_path: Path) -> None:
    make_pkg(tmp_path, "torch", "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n")
    torch, cudnn, issues = probe_live(ctx_for(venv_python(bare_venv), PYTHONPATH=str(tmp_path)))
    assert torch.error_kind == "signal" and torch.live is False
    assert torch.error.startswith("killed by SIGSEGV during import torch")
    assert "Segmentation fault" in torch.error  # faulthandler's dump from the target
    assert [i.kind for i in issues] == ["crashed"] and issues[0].probe == "torch-live"


def test_hanging_import_times_out(bare_venv: Path, tmp_path: Path) -> None:
    make_pkg(tmp_path, "torch", "import time\ntime.sleep(120)\n")
    torch, _, issues = probe_live(ctx_for(venv_python(bare_venv), PYTHONPATH=str(tmp_path)), timeout=2.0)
    assert torch.error_kind == "timeout" and "during import torch" in torch.error
    assert [i.kind for i in issues] == ["timeout"]
    assert issues[0].duration_s < 60  # the limit was applied, not the 120 s sleep


def test_fake_cuda_torch_live_facts(bare_venv: Path, tmp_path: Path) -> None:
    """A stand-in torch that reports CUDA facts and dlopens copies of a real library named as cuDNN."""
    real = mapped_library("libz") or mapped_library("libm")
    if real is None or not sys.platform.startswith("linux"):
        pytest.skip("needs Linux and a mapped libz/libm to copy")
    system = tmp_path / "syslib"
    system.mkdir()
    shutil.copy(real, system / "libcudnn.so.9.19.0")
    wheel_lib = tmp_path / "site" / "nvidia" / "cublas" / "lib"
    wheel_lib.mkdir(parents=True)
    shutil.copy(real, wheel_lib / "libcublas.so.12")
    make_dist(tmp_path / "site", "nvidia-cublas-cu12", "12.4.5.8", installer="pip",
              record=["nvidia/cublas/lib/libcublas.so.12", "nvidia_cublas_cu12-12.4.5.8.dist-info/METADATA"])
    make_pkg(tmp_path / "site", "torch", f"""
        import ctypes, types, warnings
        __version__ = "2.5.1+cu124"
        ctypes.CDLL({str(system / 'libcudnn.so.9.19.0')!r})
        ctypes.CDLL({str(wheel_lib / 'libcublas.so.12')!r})
        version = types.SimpleNamespace(cuda="12.4", hip=None, git_version="abc", debug=False)
        backends = types.SimpleNamespace(cudnn=types.SimpleNamespace(version=lambda: 90100))
        def _available():
            warnings.warn("CUDA initialization: Found no NVIDIA driver on your system.")
            return False
        cuda = types.SimpleNamespace(is_available=_available, get_arch_list=lambda: ["sm_80", "sm_90"],
                                     nccl=types.SimpleNamespace(version=lambda: (2, 21, 5)))
    """)
    torch, cudnn, issues = probe_live(ctx_for(venv_python(bare_venv), PYTHONPATH=str(tmp_path / "site")))
    assert issues == [] and torch.error is None
    assert (torch.version, torch.cuda, torch.cudnn, torch.nccl) == ("2.5.1+cu124", "12.4", "9.1.0", "2.21.5")
    assert torch.arch_list == ["sm_80", "sm_90"] and torch.cuda_available is False
    assert torch.cuda_warning == "CUDA initialization: Found no NVIDIA driver on your system."
    assert cudnn.torch_reported == "9.1.0"
    by_name = {lib.name: lib for lib in torch.loaded_libraries}
    assert by_name["libcudnn"] == LoadedLibrary("libcudnn", str(system / "libcudnn.so.9.19.0"), "9.19.0")
    # a wheel's libcublas.so.12 says only "12" in its name: the owning dist-info gives the version
    assert by_name["libcublas"].version == "12.4.5"
    assert cudnn.loaded.version == "9.19.0" and cudnn.loaded.source == "ldconfig"


# --------------------------------------------------------------------------- static details


def test_two_copies_of_torch_in_path_order(bare_venv: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    make_pkg(first, "torch", version_py="__version__ = '2.4.0+cu121'\ncuda = '12.1'\n")
    make_pkg(second, "torch", version_py="__version__ = '2.6.0+cu126'\ncuda = '12.6'\n")
    python, torch, _, issues = probe_static(
        ctx_for(venv_python(bare_venv), PYTHONPATH=os.pathsep.join([str(first), str(second)])))
    assert issues == []
    assert torch.copies == [str(first), str(second)]
    assert (torch.version, torch.cuda, torch.location) == ("2.4.0+cu121", "12.1", str(first / "torch"))
    assert torch.dist_version is None  # no dist-info: a source tree, not an install


def test_version_py_is_read_without_running_it(bare_venv: Path, tmp_path: Path) -> None:
    make_pkg(tmp_path, "torch", "raise SystemExit('imported!')\n", version_py="""
        from typing import Optional
        import this_module_does_not_exist
        __version__ = '2.11.0+cu130'
        debug = False
        cuda: Optional[str] = '13.0'
        hip: Optional[str] = None
        git_version = '70d99e998b4955e0049d13a98d77ae1b14db1f45'
    """)
    make_pkg(tmp_path, "torchvision", version_py="""
        __version__ = '0.26.0+cu130'
        git_version = 'x'
        from torchvision.extension import _check_cuda_version
        if _check_cuda_version() > 0:
            cuda = _check_cuda_version()
    """)
    make_dist(tmp_path, "torchvision", "0.26.0+cu130", installer="uv")
    python, torch, _, _ = probe_static(ctx_for(venv_python(bare_venv), PYTHONPATH=str(tmp_path)))
    assert (torch.version, torch.cuda, torch.hip, torch.debug) == ("2.11.0+cu130", "13.0", None, False)
    assert torch.git_version == "70d99e998b4955e0049d13a98d77ae1b14db1f45"
    vision = python.packages["torchvision"]
    assert (vision.version, vision.build_version, vision.cuda, vision.installer) == ("0.26.0+cu130", "0.26.0+cu130", None, "uv")


def test_bundled_cudnn_from_the_wheel_matching_torch(bare_venv: Path, tmp_path: Path) -> None:
    make_pkg(tmp_path, "torch", version_py="__version__ = '2.5.1+cu124'\ncuda = '12.4'\n")
    make_dist(tmp_path, "torch", "2.5.1+cu124", installer="pip")
    make_dist(tmp_path, "nvidia-cudnn-cu11", "8.9.2.26", record=["nvidia/cudnn/lib/libcudnn.so.8"])
    make_dist(tmp_path, "nvidia-cudnn-cu12", "9.1.0.70",
              record=["nvidia/__init__.py", "nvidia/cudnn/lib/libcudnn.so.9", "nvidia/cudnn/include/cudnn.h"])
    make_dist(tmp_path, "nvidia-nccl-cu12", "2.21.5")
    make_dist(tmp_path, "cuda-bindings", "12.9.0")
    make_dist(tmp_path, "numpy", "2.1.0")
    make_dist(tmp_path, "requests", "2.32.0")
    python, torch, cudnn, _ = probe_static(ctx_for(venv_python(bare_venv), PYTHONPATH=str(tmp_path)))
    assert cudnn.bundled.version == "9.1.0" and cudnn.bundled.source == "pip"
    assert cudnn.bundled.path == str(tmp_path / "nvidia" / "cudnn" / "lib")
    assert {"torch", "nvidia-cudnn-cu11", "nvidia-cudnn-cu12", "nvidia-nccl-cu12", "cuda-bindings", "numpy"} <= set(python.packages)
    assert "requests" not in python.packages
    assert python.packages["nvidia-nccl-cu12"].location == str(tmp_path)
    assert torch.dist_version == "2.5.1+cu124" and torch.installer == "pip"


def _user_site(tmp_path: Path, torch_version: str) -> Path:
    user_base = tmp_path / "userbase"
    user_site = user_base / "lib" / ("python%d.%d" % sys.version_info[:2]) / "site-packages"
    make_dist(user_site, "torch", torch_version, installer="pip")
    make_pkg(user_site, "torch", version_py=f"__version__ = {torch_version!r}\n")
    make_dist(user_site, "only-in-user", "1.0")
    make_dist(user_site, "Envcheck_Test.Dup", "6.0")
    return user_site


def _env_torch(site: Path) -> None:
    make_dist(site, "torch", "2.0.0", installer="pip")
    make_pkg(site, "torch", version_py="__version__ = '2.0.0'\n")
    make_dist(site, "envcheck-test-dup", "5.4")


@posix_only
def test_user_site_shadows_a_non_venv_env(tmp_path: Path) -> None:
    """A conda-like prefix (a real interpreter, PYTHONHOME at a tree of its own): ~/.local wins."""
    import sysconfig

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    base_python = Path(sys.base_prefix) / "bin" / "python3"
    if not base_python.exists() or not (stdlib / "os.py").exists():
        pytest.skip("needs a POSIX-layout base interpreter")
    home = tmp_path / "prefix"
    lib = home / "lib" / stdlib.name
    lib.mkdir(parents=True)
    for entry in stdlib.iterdir():
        if entry.name != "site-packages":
            os.symlink(entry, lib / entry.name)
    env_site = lib / "site-packages"
    _env_torch(env_site)
    user_site = _user_site(tmp_path, "2.9.9")
    python, torch, _, issues = probe_static(
        ctx_for(base_python, PYTHONHOME=str(home), PYTHONUSERBASE=str(tmp_path / "userbase")))
    assert issues == [] and python.is_venv is False and python.prefix == str(home)
    assert python.user_site == str(user_site) and python.user_site_enabled is True
    assert python.user_site_shadowing == ["envcheck-test-dup", "torch"]
    assert python.packages["torch"].version == "2.9.9"  # first on sys.path wins, as import does
    assert torch.copies == [str(user_site), str(env_site)] and torch.version == "2.9.9"


def test_user_site_after_a_venv_shadows_nothing(tmp_path: Path) -> None:
    """A venv with system site packages puts its own site-packages before the user site."""
    import subprocess

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)],
                   check=True, capture_output=True, timeout=120)
    env_site = site_packages(venv)
    _env_torch(env_site)
    user_site = _user_site(tmp_path, "2.9.9")
    python, torch, _, issues = probe_static(ctx_for(venv_python(venv), PYTHONUSERBASE=str(tmp_path / "userbase")))
    assert issues == [] and python.is_venv is True
    assert python.user_site == str(user_site) and python.user_site_enabled is True
    assert "torch" not in python.user_site_shadowing and "envcheck-test-dup" not in python.user_site_shadowing
    assert python.packages["torch"].version == "2.0.0"
    assert torch.copies == [str(env_site), str(user_site)]


@pytest.mark.parametrize("minor", ["2.7", "3.6", "3.7", "3.8", "3.12", "3.13"])
def test_static_script_runs_on_old_and_new_pythons(minor: str, tmp_path: Path) -> None:
    python = find_python(minor)
    if python is None:
        pytest.skip(f"no Python {minor} here")
    make_pkg(tmp_path, "torch", version_py="__version__ = '1.13.1+cu117'\ncuda = '11.7'\n")
    make_dist(tmp_path, "torch", "1.13.1+cu117", installer="pip")
    info, torch, _, issues = probe_static(ctx_for(python, PYTHONPATH=str(tmp_path), PYTHONNOUSERSITE="1"))
    assert issues == [] and info.error is None
    assert info.version.startswith(minor + ".") and info.executable == python
    assert str(tmp_path) in info.sys_path
    assert (torch.version, torch.dist_version, torch.cuda) == ("1.13.1+cu117", "1.13.1+cu117", "11.7")


def test_script_fits_a_windows_command_line() -> None:
    assert len(script_source()) < 30000  # CreateProcess caps a whole command line at 32767 characters


# --------------------------------------------------------------------------- broken interpreters


@posix_only
def test_target_killed_by_sigsegv(tmp_path: Path) -> None:
    exe = fake_interpreter(tmp_path, "kill -SEGV $$")
    python, torch, _, issues = probe_static(ctx_for(exe))
    assert torch.error_kind == "signal" and torch.error.startswith("killed by SIGSEGV")
    assert python.error == torch.error and python.executable == str(exe)
    assert [i.kind for i in issues] == ["crashed"]
    assert issues[0].command == [str(exe), "-c", "<envcheck target_script.py>", "static"]
    live, _, live_issues = probe_live(ctx_for(exe))
    assert live.error_kind == "signal" and [i.kind for i in live_issues] == ["crashed"]


@posix_only
def test_target_that_hangs(tmp_path: Path) -> None:
    exe = fake_interpreter(tmp_path, "exec sleep 60")
    _, torch, _, issues = probe_static(ctx_for(exe, timeout=1.0))
    assert torch.error_kind == "timeout" and [i.kind for i in issues] == ["timeout"]


@posix_only
@pytest.mark.parametrize("body", [
    "echo 'hello from not-python'",
    "printf '\\n@@ENVCHECK-TARGET-JSON@@\\n{not json\\n'",
    "printf '\\n@@ENVCHECK-TARGET-JSON@@\\n[1, 2]\\n'",
    "echo 'Python 2 says no' >&2; exit 1",
])
def test_target_that_prints_garbage(tmp_path: Path, body: str) -> None:
    exe = fake_interpreter(tmp_path, body)
    python, torch, cudnn, issues = probe_static(ctx_for(exe))
    assert torch.error_kind == "probe" and python.error
    assert [i.kind for i in issues] == ["garbage"]
    assert python.packages == {} and cudnn.bundled is None


@posix_only
def test_target_that_is_not_python(tmp_path: Path) -> None:
    echo = shutil.which("echo")
    assert echo
    _, torch, _, issues = probe_static(ctx_for(echo))
    assert torch.error_kind == "probe" and "no envcheck answer" in torch.error
    live, _, _ = probe_live(ctx_for(echo))
    assert live.error_kind == "probe" and live.live is False


@posix_only
def test_script_failure_inside_target_is_reported(tmp_path: Path) -> None:
    exe = fake_interpreter(tmp_path, "printf '\\n@@ENVCHECK-TARGET-JSON@@\\n{\"ok\": false, \"error\": \"boom\"}\\n'")
    _, torch, _, issues = probe_static(ctx_for(exe))
    assert torch.error_kind == "probe" and "boom" in torch.error and issues[0].kind == "error"


@posix_only
def test_answer_counts_when_the_target_crashes_on_exit(tmp_path: Path) -> None:
    answer = '{"ok": true, "mode": "live", "errors": [], "torch": {"installed": true, "version": "2.5.1"}}'
    exe = fake_interpreter(tmp_path, f"printf '\\n@@ENVCHECK-TARGET-JSON@@\\n%s\\n' '{answer}'; kill -SEGV $$")
    torch, _, issues = probe_live(ctx_for(exe))
    assert torch.live is True and torch.version == "2.5.1" and torch.error is None
    assert [i.kind for i in issues] == ["crashed"] and "after answering" in issues[0].message
    assert issues[0].command == [str(exe), "-c", "<envcheck target_script.py>", "live"]


@posix_only
def test_partial_static_answer(tmp_path: Path) -> None:
    answer = '{"ok": true, "errors": ["python: AttributeError: no"], "python": null, "packages": {"torch": 3}}'
    exe = fake_interpreter(tmp_path, f"printf '\\n@@ENVCHECK-TARGET-JSON@@\\n%s\\n' '{answer}'")
    python, torch, _, issues = probe_static(ctx_for(exe))
    assert python.error == "python: AttributeError: no" and python.executable == str(exe)
    assert python.packages["torch"].version is None and torch.dist_version is None
    assert [i.kind for i in issues] == ["error"] and torch.error is None


def test_vanished_interpreter(tmp_path: Path) -> None:
    _, torch, _, issues = probe_static(ctx_for(tmp_path / "gone" / "python"))
    assert torch.error_kind == "probe" and [i.kind for i in issues] == ["not-found"]


# --------------------------------------------------------------------------- choosing the target


def test_missing_python_flag_raises_clearly(tmp_path: Path) -> None:
    with pytest.raises(TargetNotFound, match=r"--python .*nope/python3: no such file"):
        resolve_target(str(tmp_path / "nope" / "python3"), {})
    with pytest.raises(TargetNotFound, match="a directory without a Python interpreter"):
        resolve_target(str(tmp_path), {})


@posix_only
def test_non_executable_python_flag(tmp_path: Path) -> None:
    plain = tmp_path / "python"
    plain.write_text("not a program")
    with pytest.raises(TargetNotFound, match="not an executable file"):
        resolve_target(str(plain), {})


def test_env_prefix_resolves_to_its_python(bare_venv: Path) -> None:
    assert resolve_target(str(bare_venv), {}) == (str(venv_python(bare_venv)), "--python")
    assert resolve_target(str(venv_python(bare_venv)), {}) == (str(venv_python(bare_venv)), "--python")


@posix_only
def test_default_target_order(bare_venv: Path, tmp_path: Path) -> None:
    conda = tmp_path / "conda-env"
    (conda / "bin").mkdir(parents=True)
    os.symlink(sys.executable, conda / "bin" / "python")
    venv_bin = str(venv_python(bare_venv).parent)
    path_dir = tmp_path / "onpath"
    path_dir.mkdir()
    os.symlink(sys.executable, path_dir / "python3")

    assert resolve_target(None, {"PATH": str(path_dir)}) == (str(path_dir / "python3"), "PATH")
    assert resolve_target(None, {"PATH": str(path_dir), "VIRTUAL_ENV": str(bare_venv)}) == \
        (str(venv_python(bare_venv)), "VIRTUAL_ENV")
    both = {"CONDA_PREFIX": str(conda), "VIRTUAL_ENV": str(bare_venv)}
    assert resolve_target(None, dict(both, PATH=os.pathsep.join([str(conda / "bin"), venv_bin]))) == \
        (str(conda / "bin" / "python"), "CONDA_PREFIX")
    # a venv activated on top of conda's base: its bin comes first on PATH, so it is what runs
    assert resolve_target(None, dict(both, PATH=os.pathsep.join([venv_bin, str(conda / "bin")]))) == \
        (str(venv_python(bare_venv)), "VIRTUAL_ENV")
    assert resolve_target("python3", {"PATH": str(path_dir)}) == (str(path_dir / "python3"), "--python")
    # an active env whose python is gone falls through to PATH
    assert resolve_target(None, {"PATH": str(path_dir), "CONDA_PREFIX": str(tmp_path / "gone")})[1] == "PATH"
    with pytest.raises(TargetNotFound, match="no Python interpreter found"):
        resolve_target(None, {"PATH": str(tmp_path / "empty")})


def test_context_without_python_resolves_it(bare_venv: Path) -> None:
    ctx = ProbeContext(env=clean_env(VIRTUAL_ENV=str(bare_venv)), timeout=20.0)
    python, _, _, issues = probe_static(ctx)
    assert issues == [] and python.chosen_by == "VIRTUAL_ENV" and python.prefix == str(bare_venv)


# --------------------------------------------------------------------------- pure helpers


@pytest.mark.parametrize("raw, text", [(91900, "9.19.0"), (90100, "9.1.0"), (8902, "8.9.2"), (7605, "7.6.5"),
                                       (None, None), (0, None), ("91900", None), (True, None)])
def test_cudnn_version_from_int(raw: object, text: Optional[str]) -> None:
    assert cudnn_version_from_int(raw) == text


@pytest.mark.parametrize("raw, text", [([2, 28, 9], "2.28.9"), (21803, "2.18.3"), (2708, "2.7.8"),
                                       (None, None), ("x", None), ([2, "x"], None)])
def test_nccl_version_str(raw: object, text: Optional[str]) -> None:
    assert nccl_version_str(raw) == text


def test_merge_live_wins_where_known() -> None:
    static = Torch(version="2.11.0+cu130", dist_version="2.11.0", cuda="13.0", copies=["/a", "/b"],
                   location="/a/torch", installer="pip", error="no answer within 10.0 s", error_kind="timeout")
    live = Torch(live=True, version="2.11.0+cu130", cuda_available=False, arch_list=[], location="/a/torch",
                 cuda_warning="CUDA initialization: Found no NVIDIA driver on your system.")
    merged = merge_torch(static, live)
    assert merged.live is True and merged.dist_version == "2.11.0" and merged.copies == ["/a", "/b"]
    assert merged.cuda == "13.0" and merged.arch_list == [] and merged.cuda_available is False
    assert merged.error is None and merged.error_kind is None  # torch imported for real
    assert static.error == "no answer within 10.0 s"  # inputs untouched

    failed = merge_torch(static, Torch(error="killed by SIGSEGV during import torch", error_kind="signal"))
    assert (failed.error_kind, failed.live, failed.version) == ("signal", False, "2.11.0+cu130")
    assert merge_torch(static, None) == static


def test_library_name_parsing_in_the_script() -> None:
    assert target_script.lib_stem("libcudart-d0da41ae.so.11.0") == "libcudart"
    assert target_script.lib_stem("libcudnn_graph.so.9") == "libcudnn_graph"
    assert target_script.lib_stem("libcublasLt.so.13") == "libcublasLt"
    assert target_script.lib_stem("libnvrtc-builtins.so.13.0") is None
    assert target_script.lib_stem("libc.so.6") is None
    assert target_script.file_version("libcudnn.so.9.19.0") == "9.19.0"
    assert target_script.file_version("libcuda.so.1") == "1"
    assert target_script.file_version("libtorch_cuda.so") is None
