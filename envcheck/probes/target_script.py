# Runs INSIDE the target interpreter: `python -c <this source> static|live`.
#
# Standard library only, Python >= 3.6 syntax (no f-strings so that even an old or odd
# interpreter gets as far as printing its error), and it never raises: every failure ends up in
# the JSON object printed after MARKER, so noise torch prints on import can be skipped.
# The static mode must stay fast (no torch import, no importlib.metadata: scanning the
# *.dist-info / *.egg-info directories on sys.path ourselves is quicker and works on 3.6).
#
# Progress markers ("@@ENVCHECK-STAGE@@ <stage>" lines on stderr, flushed) tell the host how far it got when it
# hangs or crashes: "started" is the very first statement (none at all: the interpreter's own start-up hangs, a
# sitecustomize or .pth file), then import, imported, cuda-available, cuda-devices, cuda-tensor, cuda-done, xpu,
# maps, done, result (the answer is out: it counts, whatever happens next) and exit.
import sys

if __name__ == "__main__":  # run as `python -c` (imported by tests, it stays quiet)
    try:
        sys.stderr.write("@@ENVCHECK-STAGE@@ started\n")
        sys.stderr.flush()
    except Exception:
        pass

import io
import json
import os
import time
import traceback

MARKER = "@@ENVCHECK-TARGET-JSON@@"
STAGE = "@@ENVCHECK-STAGE@@ "
WANTED = ("torch", "torchvision", "torchaudio", "triton", "xformers", "numpy", "ninja")
WANTED_PREFIXES = ("nvidia-", "cuda-", "pytorch-triton")
VERSION_KEYS = ("__version__", "cuda", "hip", "git_version", "debug")
LIB_STEMS = ("libcudart", "libcublas", "libcublasLt", "libnccl", "libcuda", "libnvrtc", "libtorch_cuda")


def stage(name):
    """Tell the host what we are doing, so a crash (SIGSEGV) can say where it happened."""
    try:
        sys.stderr.write(STAGE + name + "\n")
        sys.stderr.flush()
    except Exception:
        pass


def error_text(exc, frames=6):
    """'Type: message' plus the last traceback lines: what the user would see."""
    head = "%s: %s" % (type(exc).__name__, exc)
    try:
        lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
        body = "".join(lines[:-1]).rstrip("\n").splitlines()
        body = [ln for ln in body if ln.strip() and not ln.startswith("Traceback")]
        tail = body[-frames * 2:] if frames > 0 else []
        if tail:
            head = head + "\n" + "\n".join(tail)
    except Exception:
        pass
    return head[-3000:]


def normalize(name):
    out = []
    prev_sep = False
    for ch in name.lower():
        if ch in "-_.":
            if not prev_sep:
                out.append("-")
            prev_sep = True
        else:
            out.append(ch)
            prev_sep = False
    return "".join(out)


def wanted(norm):
    return norm in WANTED or norm in EXTENSIONS or norm.startswith(WANTED_PREFIXES)


def path_entries():
    """sys.path as import sees it ('' is the current directory)."""
    out = []
    for entry in sys.path:
        if not isinstance(entry, str):
            continue
        out.append(entry or os.getcwd())
    return out


def listdir(path):
    try:
        return sorted(os.listdir(path))
    except Exception:
        return []


def meta_name(entry):
    """(normalised name, suffix) from a 'name-version.dist-info' / '.egg-info' entry, or None."""
    for suffix in (".dist-info", ".egg-info"):
        if entry.endswith(suffix):
            stem = entry[: -len(suffix)]
            return normalize(stem.split("-", 1)[0]), suffix
    return None


def read_headers(path):
    """Name and Version from a METADATA / PKG-INFO file (headers only, stops at the body)."""
    found = {}
    with io.open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            line = line.rstrip("\r\n")
            if not line:
                break
            key, sep, value = line.partition(":")
            if sep and key in ("Name", "Version") and key not in found:
                found[key] = value.strip()
            if len(found) == 2:
                break
    return found


def read_small(path):
    try:
        with io.open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read(4096).strip() or None
    except Exception:
        return None


def read_meta(meta_dir, kind, reader, errors, empty):
    """A distribution's metadata file read with ``reader``: METADATA of a .dist-info, PKG-INFO of an
    .egg-info folder, or the .egg-info file itself; ``empty`` (the error noted) when it cannot be read."""
    try:
        if kind == ".dist-info":
            return reader(os.path.join(meta_dir, "METADATA"))
        if os.path.isdir(meta_dir):
            return reader(os.path.join(meta_dir, "PKG-INFO"))
        return reader(meta_dir)
    except Exception as exc:
        errors.append("%s: %s" % (meta_dir, error_text(exc, 0)))
        return empty


def scan_distributions(entries, errors):
    """The wanted distributions, first occurrence on sys.path wins (as import would)."""
    found = {}
    for location in entries:
        for entry in listdir(location):
            parsed = meta_name(entry)
            if parsed is None or not wanted(parsed[0]) or parsed[0] in found:
                continue
            meta_dir = os.path.join(location, entry)
            headers = read_meta(meta_dir, parsed[1], read_headers, errors, {})
            norm = normalize(headers.get("Name") or parsed[0])
            if norm in found:
                continue
            found[norm] = {
                "name": headers.get("Name") or parsed[0],
                "version": headers.get("Version"),
                "location": location,
                "meta_dir": meta_dir,
                "installer": read_small(os.path.join(meta_dir, "INSTALLER")) if os.path.isdir(meta_dir) else None,
            }
    return found


def names_in(path):
    out = set()
    for entry in listdir(path):
        parsed = meta_name(entry)
        if parsed is not None:
            out.add(parsed[0])
    return out


def literal_assignments(path, keys):
    """Top-level `name = <literal>` assignments of a version.py, read without importing it."""
    import ast

    with io.open(path, encoding="utf-8", errors="replace") as fh:
        tree = ast.parse(fh.read(), path)
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, getattr(ast, "AnnAssign", ())) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name) and target.id in keys:
                try:
                    out[target.id] = ast.literal_eval(value)
                except Exception:
                    pass
    return out


def record_files(meta_dir):
    """Relative paths listed in a dist-info RECORD."""
    import csv

    out = []
    with io.open(os.path.join(meta_dir, "RECORD"), encoding="utf-8", errors="replace") as fh:
        for row in csv.reader(fh):
            if row:
                out.append(row[0])
    return out


def cudnn_candidates(dists, errors):
    out = []
    for norm in sorted(dists):
        if not norm.startswith("nvidia-cudnn"):
            continue
        dist = dists[norm]
        lib_dir = None
        try:
            for rel in record_files(dist["meta_dir"]):
                base = rel.replace("\\", "/").rsplit("/", 1)[-1]
                if base.startswith("libcudnn.so") or (base.startswith("cudnn") and base.endswith(".dll")):
                    lib_dir = os.path.normpath(os.path.join(dist["location"], os.path.dirname(rel)))
                    break
        except Exception as exc:
            errors.append("%s RECORD: %s" % (norm, error_text(exc, 0)))
        if lib_dir is None:
            guess = os.path.join(dist["location"], "nvidia", "cudnn", "lib")
            lib_dir = guess if os.path.isdir(guess) else None
        out.append({"dist": norm, "version": dist["version"], "lib_dir": lib_dir})
    return out


# CUDA extensions whose builds are tied to one torch/CUDA (issue 15): inventoried from their metadata only.
EXTENSIONS = ("xformers", "flash-attn", "flash-attn-3", "apex", "mmcv", "mmcv-full", "torch-scatter", "torch-sparse",
              "torch-cluster", "pyg-lib", "deepspeed", "bitsandbytes", "vllm", "triton", "torchcodec", "torchao")


def read_requirements(path):
    """Name, Version and the Requires-Dist lines naming torch, from a METADATA / PKG-INFO header block."""
    found = {"requires": []}
    with io.open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            line = line.rstrip("\r\n")
            if not line:
                break
            key, sep, value = line.partition(":")
            value = value.strip()
            if sep and key in ("Name", "Version") and key not in found:
                found[key] = value
            elif sep and key == "Requires-Dist" and normalize(value.split(";", 1)[0]).startswith("torch"):
                found["requires"].append(value)
    return found


def wheel_file(meta_dir):
    """The file name pip installed from (PEP 610 direct_url.json: a URL or local wheel), never the URL itself."""
    try:
        with io.open(os.path.join(meta_dir, "direct_url.json"), encoding="utf-8", errors="replace") as fh:
            url = json.loads(fh.read(65536)).get("url")
    except Exception:
        return None
    if not isinstance(url, str):
        return None
    name = url.split("?", 1)[0].split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return name if name.endswith(".whl") else None


#: the file an extension writes at build time naming the torch it was compiled against (xformers' _cpp_lib.py reads
#: the same file: {"version": {"torch": "2.10.0+cu128", "cuda": 1208, ...}})
BUILD_INFO = {"xformers": ("xformers", "cpp_lib.json")}


def build_info(location, name):
    """{"torch": ..., "cuda": ...} from an extension's build-info file, or None."""
    parts = BUILD_INFO.get(name)
    if parts is None:
        return None
    try:
        with io.open(os.path.join(location, *parts), encoding="utf-8", errors="replace") as fh:
            data = json.loads(fh.read(65536))
        version = data.get("version") if isinstance(data, dict) else None
        if not isinstance(version, dict) or not isinstance(version.get("torch"), str):
            return None
        cuda = version.get("cuda")
        return {"torch": version["torch"], "cuda": cuda if isinstance(cuda, (int, str)) else None}
    except Exception:
        return None


def extension_inventory(entries, errors):
    """Every EXTENSIONS distribution on sys.path (first wins): version, torch pins, the wheel it came from."""
    found = {}
    for location in entries:
        for entry in listdir(location):
            parsed = meta_name(entry)
            if parsed is None or parsed[0] not in EXTENSIONS or parsed[0] in found:
                continue
            meta_dir = os.path.join(location, entry)
            meta = read_meta(meta_dir, parsed[1], read_requirements, errors, {"requires": []})
            found[parsed[0]] = {"name": meta.get("Name") or parsed[0], "version": meta.get("Version"),
                                "requires": meta["requires"], "location": location,
                                "wheel": wheel_file(meta_dir) if os.path.isdir(meta_dir) else None,
                                "build": build_info(location, parsed[0])}
    return [found[k] for k in sorted(found)]


def python_version():
    info = sys.version_info
    text = "%d.%d.%d" % (info[0], info[1], info[2])
    level = {"alpha": "a", "beta": "b", "candidate": "rc"}.get(info[3])
    return text + ("%s%d" % (level, info[4]) if level else "")


def implementation():
    impl = getattr(sys, "implementation", None)
    if impl is not None:
        return impl.name
    import platform

    return platform.python_implementation().lower()


def conda_facts(prefix):
    """(env name, prefix) when the target lives in a conda environment, else (None, None)."""
    if not os.path.isdir(os.path.join(prefix, "conda-meta")):
        return None, None
    active = os.environ.get("CONDA_PREFIX")
    name = None
    if active and os.path.normcase(os.path.abspath(active)) == os.path.normcase(os.path.abspath(prefix)):
        name = os.environ.get("CONDA_DEFAULT_ENV")
    if not name:
        parent = os.path.basename(os.path.dirname(os.path.abspath(prefix)))
        name = os.path.basename(prefix) if parent == "envs" else "base"
    return name, prefix


def python_facts(entries, errors):
    import site

    prefix = sys.prefix
    base_prefix = getattr(sys, "real_prefix", None) or getattr(sys, "base_prefix", prefix)
    facts = {
        "executable": sys.executable,
        "version": python_version(),
        "implementation": implementation(),
        "prefix": prefix,
        "base_prefix": base_prefix,
        "is_venv": prefix != base_prefix,
        "sys_path": list(entries),
        "user_site": None,
        "user_site_enabled": None,
        "user_site_shadowing": [],
    }
    try:
        facts["conda_env"], facts["conda_prefix"] = conda_facts(prefix)
    except Exception as exc:
        errors.append("conda: " + error_text(exc, 0))
    try:
        facts["user_site"] = site.getusersitepackages()
        facts["user_site_enabled"] = bool(site.ENABLE_USER_SITE)
    except Exception as exc:
        errors.append("user site: " + error_text(exc, 0))
    user_site = facts["user_site"]
    if user_site and user_site in entries:
        # Only what comes after the user site loses to it (in a venv with system site packages
        # the venv's own site-packages comes first; in a conda env or system Python it does not).
        later = set()
        for entry in entries[entries.index(user_site) + 1:]:
            later |= names_in(entry)
        facts["user_site_shadowing"] = sorted(names_in(user_site) & later)
    return facts


def static_facts():
    errors = []
    out = {"mode": "static", "ok": True, "errors": errors}
    entries = path_entries()
    try:
        out["python"] = python_facts(entries, errors)
    except Exception as exc:
        out["python"] = None
        errors.append("python: " + error_text(exc))
    dists = {}
    try:
        dists = scan_distributions(entries, errors)
    except Exception as exc:
        errors.append("distributions: " + error_text(exc))
    out["packages"] = dict((k, dict((f, v) for f, v in d.items() if f != "meta_dir")) for k, d in dists.items())
    copies = []
    for entry in entries:
        if os.path.isfile(os.path.join(entry, "torch", "__init__.py")) and entry not in copies:
            copies.append(entry)
    out["torch_copies"] = copies
    version_files = {}
    for pkg in ("torch", "torchvision", "torchaudio"):
        for entry in entries:
            path = os.path.join(entry, pkg, "version.py")
            if os.path.isfile(os.path.join(entry, pkg, "__init__.py")):
                if os.path.isfile(path):
                    try:
                        version_files[pkg] = literal_assignments(path, VERSION_KEYS)
                        version_files[pkg]["path"] = path
                    except Exception as exc:
                        errors.append("%s: %s" % (path, error_text(exc, 0)))
                break
    out["version_files"] = version_files
    try:
        out["extensions"] = extension_inventory(entries, errors)
    except Exception as exc:
        out["extensions"] = []
        errors.append("extensions: " + error_text(exc))
    try:
        out["cudnn"] = cudnn_candidates(dists, errors)
    except Exception as exc:
        out["cudnn"] = []
        errors.append("cudnn: " + error_text(exc))
    return out


# --------------------------------------------------------------------------- live


def lib_stem(base):
    """'libcudart-d0da41ae.so.11.0' -> 'libcudart'; None for a library we do not track."""
    if ".so" not in base:
        return None
    stem = base.split(".so", 1)[0]
    head, sep, tail = stem.rpartition("-")
    if sep and len(tail) == 8 and all(c in "0123456789abcdef" for c in tail):
        stem = head
    if stem in LIB_STEMS or stem.startswith("libcudnn"):
        return stem
    return None


def file_version(base):
    """'libcudnn.so.9.19.0' -> '9.19.0'; None when the name carries no number."""
    rest = base.split(".so", 1)[1] if ".so" in base else ""
    rest = rest.lstrip(".")
    parts = []
    for part in rest.split("."):
        if not part.isdigit():
            break
        parts.append(part)
    return ".".join(parts) or None


def owners(errors):
    """Real path of each shared library a nvidia-* / torch wheel installed -> (dist, version)."""
    out = {}
    dists = scan_distributions(path_entries(), errors)
    for norm, dist in dists.items():
        if not (norm.startswith("nvidia-") or norm == "torch") or not dist["meta_dir"].endswith(".dist-info"):
            continue
        try:
            files = record_files(dist["meta_dir"])
        except Exception:
            continue
        for rel in files:
            base = rel.rsplit("/", 1)[-1]
            if lib_stem(base) is None:
                continue
            real = os.path.realpath(os.path.join(dist["location"], rel))
            out.setdefault(real, (dist["name"], dist["version"]))
    return out


def mapped_libraries(errors):
    try:
        with io.open("/proc/self/maps", encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except Exception as exc:
        errors.append("maps: " + error_text(exc, 0))
        return None
    paths = []
    for line in text.splitlines():
        fields = line.split(None, 5)
        if len(fields) == 6 and fields[5].startswith("/"):
            path = fields[5].strip()
            if path not in paths and lib_stem(os.path.basename(path)):
                paths.append(path)
    by_file = {}
    if paths:
        try:
            by_file = owners(errors)
        except Exception as exc:
            errors.append("owners: " + error_text(exc, 0))
    out = []
    for path in paths:
        base = os.path.basename(path)
        owner = by_file.get(os.path.realpath(path), (None, None))
        out.append({"name": lib_stem(base), "path": path, "file_version": file_version(base),
                    "dist": owner[0], "dist_version": owner[1]})
    return out


def cuda_facts(torch, facts):
    """is_available (with torch's warning), devices and the first CUDA tensor."""
    import warnings

    stage("cuda-available")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        facts["cuda_available"] = bool(torch.cuda.is_available())
    texts = [str(w.message) for w in caught if "cuda" in str(w.message).lower() or "driver" in str(w.message).lower()]
    facts["cuda_warning"] = "\n".join(texts) or None
    if not facts["cuda_available"]:
        return
    stage("cuda-devices")
    facts["device_count"] = int(torch.cuda.device_count())
    devices = []
    for index in range(facts["device_count"]):
        props = torch.cuda.get_device_properties(index)
        devices.append({"index": index, "name": props.name, "major": props.major, "minor": props.minor,
                        "total_memory": props.total_memory,
                        "multi_processor_count": props.multi_processor_count})
    facts["devices"] = devices
    stage("cuda-tensor")
    start = time.perf_counter()
    torch.zeros(1, device="cuda")
    torch.cuda.synchronize()
    facts["cuda_init_s"] = time.perf_counter() - start


def optional(fn):
    try:
        return fn()
    except Exception:
        return None


def rosetta_translated():
    """True when this process runs under Rosetta 2 (sysctl.proc_translated, read in-process: no command is run);
    False on a Mac that has no such sysctl (Intel, before Big Sur); None when it cannot be read."""
    import ctypes
    import errno

    libc = ctypes.CDLL(None, use_errno=True)
    value = ctypes.c_int(0)
    size = ctypes.c_size_t(ctypes.sizeof(value))
    if libc.sysctlbyname(b"sysctl.proc_translated", ctypes.byref(value), ctypes.byref(size), None, ctypes.c_size_t(0)) == 0:
        return value.value == 1
    return False if ctypes.get_errno() == errno.ENOENT else None


def mac_facts(torch, facts, platform_name=None):
    """macOS only: whether torch can use the Apple GPU (MPS), and the macOS and architecture this Python sees."""
    if (platform_name or sys.platform) != "darwin":
        return
    import platform

    mps = getattr(getattr(torch, "backends", None), "mps", None)
    facts["mps_built"] = optional(lambda: bool(mps.is_built()))
    facts["mps_available"] = optional(lambda: bool(mps.is_available()))
    facts["mac_version"] = optional(lambda: platform.mac_ver()[0] or None)
    facts["machine"] = optional(lambda: platform.machine() or None)
    facts["translated"] = optional(rosetta_translated)


def live_facts():
    errors = []
    facts = {"installed": None, "error": None, "error_kind": None}
    out = {"mode": "live", "ok": True, "errors": errors, "torch": facts, "libraries": None}
    try:
        import faulthandler

        faulthandler.enable()
    except Exception:
        pass
    try:
        import importlib.util

        facts["installed"] = importlib.util.find_spec("torch") is not None
    except Exception as exc:
        errors.append("find_spec: " + error_text(exc, 0))
    if facts["installed"] is False:
        return out
    stage("import")
    start = time.perf_counter()
    try:
        import torch
    except BaseException as exc:
        if isinstance(exc, ImportError) and getattr(exc, "name", None) == "torch" and type(exc).__name__ == "ModuleNotFoundError":
            facts["installed"] = False
            return out
        facts["installed"] = True
        facts["error"], facts["error_kind"] = error_text(exc), "import"
        out["libraries"] = mapped_libraries(errors)
        return out
    facts["installed"] = True
    facts["import_s"] = time.perf_counter() - start
    stage("imported")
    facts["file"] = getattr(torch, "__file__", None)
    if facts["file"] is None:
        where = ", ".join(list(getattr(torch, "__path__", None) or [])) or "?"
        facts["error"] = ("ImportError: torch imported as a namespace package (a torch directory without "
                          "__init__.py, left by a partial install or uninstall): " + where)
        facts["error_kind"] = "import"
        return out
    facts["version"] = optional(lambda: str(torch.__version__))
    facts["cuda"] = optional(lambda: torch.version.cuda)
    facts["hip"] = optional(lambda: torch.version.hip)
    facts["git_version"] = optional(lambda: torch.version.git_version)
    facts["debug"] = optional(lambda: bool(torch.version.debug))
    facts["cudnn"] = optional(lambda: torch.backends.cudnn.version())
    facts["nccl"] = optional(lambda: torch.cuda.nccl.version())
    facts["arch_list"] = optional(lambda: list(torch.cuda.get_arch_list()))
    try:
        cuda_facts(torch, facts)
    except BaseException as exc:
        facts["error"], facts["error_kind"] = error_text(exc), "cuda-init"
    stage("cuda-done")
    stage("xpu")
    facts["xpu_available"] = optional(lambda: bool(torch.xpu.is_available()))
    try:
        mac_facts(torch, facts)
    except Exception as exc:
        errors.append("mac: " + error_text(exc, 0))
    stage("maps")
    out["libraries"] = mapped_libraries(errors)
    return out


def main(argv):
    mode = argv[1] if len(argv) > 1 else "static"
    try:
        if mode == "live":
            out = live_facts()
        elif mode == "static":
            out = static_facts()
        else:
            out = {"ok": False, "error": "unknown mode %r" % mode}
    except BaseException as exc:
        out = {"mode": mode, "ok": False, "error": error_text(exc)}
    stage("done")
    try:
        text = json.dumps(out, default=repr, ensure_ascii=True)
    except Exception as exc:
        text = json.dumps({"mode": mode, "ok": False, "error": error_text(exc)})
    sys.stdout.write("\n" + MARKER + "\n" + text + "\n")
    sys.stdout.flush()
    stage("result")
    stage("exit")  # what follows is the interpreter's own teardown (atexit handlers, non-daemon threads)
    if mode == "live":
        # The answer is out. Tearing down an interpreter that holds torch (and a CUDA context)
        # takes 0.2 s or more, and can hang in driver threads: skip it.
        try:
            sys.stderr.flush()
        finally:
            os._exit(0)


if __name__ == "__main__":
    main(sys.argv)
