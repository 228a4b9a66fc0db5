"""One command for a machine with an NVIDIA GPU: record what `envcheck smoke` and `envcheck doctor` see there.

    python3 bench/gpu_session.py OUT_DIR                       # this interpreter's torch
    python3 bench/gpu_session.py OUT_DIR --python /opt/venv/bin/python --bench

Writes into OUT_DIR (created if missing), each file the unedited output of one command:

* ``smoke.json``: ``PYTHONPATH=. python3 -m envcheck smoke --json --python PY`` (its exit status in ``exit-codes.txt``);
* ``doctor.json``: ``PYTHONPATH=. python3 -m envcheck doctor --json --python PY``;
* ``nvidia-smi-topo.txt``, ``nvidia-smi-q.txt``, ``nvidia-smi-L.txt``: the views the smoke verdicts lean on (the
  GPU-to-GPU fabric, clocks, power and temperature at the time);
* with ``--bench``: ``bench-smoke.txt``, what ``bench/bench_smoke.py`` prints (the wall-time and rate ratios).

then prints how to keep them as a test fixture. Without an NVIDIA GPU (no ``nvidia-smi``, no GPU listed, or a torch
that sees no CUDA device) it says so in one line, writes nothing, and exits 2: no figure is made up.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
NO_GPU = 2


def _run(argv: List[str], env: Dict[str, str], timeout: float = 600) -> Tuple[int, str, str]:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=str(ROOT), timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 127, "", f"{type(exc).__name__}: {exc}"
    return proc.returncode, proc.stdout, proc.stderr


def why_no_gpu(python: str, env: Dict[str, str]) -> Optional[str]:
    """None when nvidia-smi lists a GPU and the target's torch sees CUDA; else the reason, in one line."""
    smi = shutil.which("nvidia-smi", path=env.get("PATH"))
    if smi is None:
        return "nvidia-smi not found (no NVIDIA driver here)"
    rc, out, err = _run([smi, "-L"], env, timeout=60)
    if rc != 0 or "GPU" not in out:
        return f"nvidia-smi -L lists no GPU (exit {rc}: {(err or out).strip()[:200]})"
    probe = "import json, torch; print(json.dumps([torch.__version__, torch.version.cuda, torch.cuda.is_available()]))"
    rc, out, err = _run([python, "-c", probe], env, timeout=300)
    if rc != 0:
        return f"{python} cannot import torch ({(err.strip().splitlines() or ['?'])[-1][:200]})"
    version, cuda, available = json.loads(out.strip().splitlines()[-1])
    if not cuda or not available:
        return f"torch {version} in {python} sees no CUDA GPU (torch.version.cuda={cuda})"
    return None


def fixture_hint(out: Path, smoke: Optional[dict]) -> str:
    """How to keep the folder as a fixture, named after the GPU and torch it recorded."""
    name, torch = "gpu", "torch"
    if smoke:
        devices = (smoke.get("smoke") or {}).get("devices") or []
        if devices and devices[0].get("name"):
            name = devices[0]["name"].lower().replace("nvidia", "").strip().replace(" ", "-")
        torch = "torch" + str((smoke.get("smoke") or {}).get("torch") or "").split("+")[0]
    count = len(((smoke or {}).get("smoke") or {}).get("devices") or []) or 1
    slug = f"{count}x-{name}-{torch}"
    return "\n".join([
        f"Recorded in {out}. To keep it as a test fixture:",
        f"  cp -r {out} tests/fixtures/{slug}",
        "  # describe it in tests/fixtures/README.md: the machine (GPU model and form factor, driver, torch, VM or",
        "  #   bare metal) and the files, as the h100-torch2.11-cu130 row does",
        "  # add its rates as points to envcheck/knowledge/data/smoke_bands.toml (source: that README, the date)",
        "  # and use smoke.json in tests/smoke/test_smoke.py (build_report / judge on the real answer)",
    ])


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="folder to write the recordings into")
    parser.add_argument("--python", default=sys.executable, help="interpreter whose torch runs the smoke test")
    parser.add_argument("--bench", action="store_true", help="also run bench/bench_smoke.py (a few minutes)")
    parser.add_argument("--timeout", type=float, default=300.0, help="smoke's --timeout, seconds")
    args = parser.parse_args(argv)

    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    why = why_no_gpu(args.python, env)
    if why:
        print(f"gpu_session: no NVIDIA GPU to record here: {why}; nothing written")
        return NO_GPU
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    codes = []
    envcheck = [sys.executable, "-m", "envcheck"]
    for name, argv_ in (("smoke.json", envcheck + ["smoke", "--json", "--python", args.python,
                                                   "--timeout", str(args.timeout)]),
                        ("doctor.json", envcheck + ["doctor", "--json", "--python", args.python]),
                        ("nvidia-smi-topo.txt", ["nvidia-smi", "topo", "-m"]),
                        ("nvidia-smi-q.txt", ["nvidia-smi", "-q"]),
                        ("nvidia-smi-L.txt", ["nvidia-smi", "-L"])):
        rc, stdout, stderr = _run(argv_, env)
        (out / name).write_text(stdout, encoding="utf-8")
        if stderr.strip():
            (out / (name + ".stderr")).write_text(stderr, encoding="utf-8")
        codes.append(f"{rc}\t{' '.join(argv_)}")
        print(f"  {name:<22} exit {rc}")
    if args.bench:
        rc, stdout, stderr = _run([sys.executable, str(ROOT / "bench" / "bench_smoke.py"), "--python", args.python],
                                  env, timeout=1800)
        (out / "bench-smoke.txt").write_text(stdout + stderr, encoding="utf-8")
        codes.append(f"{rc}\tbench/bench_smoke.py --python {args.python}")
        print(f"  {'bench-smoke.txt':<22} exit {rc}")
    (out / "exit-codes.txt").write_text("\n".join(codes) + "\n", encoding="utf-8")
    try:
        smoke = json.loads((out / "smoke.json").read_text(encoding="utf-8"))
    except ValueError:
        smoke = None
    print(fixture_hint(out, smoke))
    return 0


if __name__ == "__main__":
    sys.exit(main())
