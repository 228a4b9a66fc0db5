"""Benchmark: envcheck doctor against the anchor, `python -m torch.utils.collect_env`, in one run.

Runs the commands alternately in the same environment (a venv holding torch and envcheck), takes
the median of N rounds, and prints the ratios the issue asks for:
    doctor <= 0.8x collect_env, doctor --fast <= 0.15x collect_env, install-cmd <= 0.1x.

    python bench/bench_doctor.py                 # builds bench/.venv-torch once (torch==2.13.0 CPU here)
    python bench/bench_doctor.py --python /opt/torch/.venv/bin/python --rounds 5   # an existing env
    python bench/bench_doctor.py --against cdc633a   # also the same commands from that commit, same rounds

``--against REF`` checks a change for "no slower": it checks REF out into a temporary git worktree and
times its envcheck (through PYTHONPATH, in the same venv) alternately with this checkout's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VENV = ROOT / "bench" / ".venv-torch"


def ensure_venv(venv: Path, torch_spec: str) -> Path:
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", torch_spec], check=True)
    # always refresh envcheck itself from this checkout
    subprocess.run([str(python), "-m", "pip", "install", "-q", "-e", str(ROOT)], check=True)
    return python


def timed(argv: List[str], env: Dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=str(ROOT))
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1, 2):
        raise SystemExit(f"{' '.join(argv)} failed with {proc.returncode}: {proc.stderr.decode()[-500:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", help="interpreter that has torch and envcheck installed")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--torch", default="torch==2.13.0", help="torch to install into the bench venv")
    parser.add_argument("--against", metavar="REF", help="also time envcheck as of this git commit")
    args = parser.parse_args()
    python = args.python or str(ensure_venv(DEFAULT_VENV, args.torch))
    bindir = str(Path(python).parent)
    env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""), VIRTUAL_ENV=str(Path(bindir).parent))
    env.pop("PYTHONPATH", None)
    commands = {
        "collect_env": [python, "-m", "torch.utils.collect_env"],
        "doctor": [python, "-m", "envcheck", "doctor", "--python", python, "--json"],
        "doctor --fast": [python, "-m", "envcheck", "doctor", "--python", python, "--fast", "--json"],
        # the Chinese terminal report: catalogue loading, translation and rich rendering included
        "doctor --fast zh": [python, "-m", "envcheck", "doctor", "--python", python, "--fast", "--lang", "zh"],
        "import torch": [python, "-c", "import torch"],
        "install-cmd": [python, "-m", "envcheck", "install-cmd", "--python", python, "--json"],
        "--help": [python, "-m", "envcheck", "--help"],
    }
    worktree = None
    if args.against:
        import tempfile
        worktree = Path(tempfile.mkdtemp(prefix="envcheck-bench-")) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(worktree), args.against], check=True,
                       cwd=str(ROOT))
        old = [python, "-c", "import runpy, sys; sys.path.insert(0, sys.argv.pop(1)); "
                             "runpy.run_module('envcheck', run_name='__main__')", str(worktree)]
        for name in ("doctor --fast", "install-cmd", "--help"):
            commands[f"{name} @{args.against[:7]}"] = old + commands[name][3:]
    try:
        run_rounds(commands, env, args, python)
    finally:
        if worktree is not None:
            subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=str(ROOT))


def run_rounds(commands: Dict[str, List[str]], env: Dict[str, str], args, python: str) -> None:
    # one warm-up round so every command starts with the same page cache
    for argv in commands.values():
        timed(argv, env)
    samples: Dict[str, List[float]] = {name: [] for name in commands}
    for _ in range(args.rounds):
        for name, argv in commands.items():  # alternate, so drift hits every command alike
            samples[name].append(timed(argv, env))
    median = {name: statistics.median(values) for name, values in samples.items()}
    anchor = median["collect_env"]
    targets = {"doctor": 0.8, "doctor --fast": 0.15, "doctor --fast zh": 0.15, "install-cmd": 0.1}
    print(f"python: {python}   rounds: {args.rounds}   cores: {os.cpu_count()}")
    print(f"{'command':<26}{'median s':>10}{'ratio':>9}{'target':>9}  samples")
    for name, value in median.items():
        ratio = value / anchor
        target = targets.get(name)
        verdict = "" if target is None else ("  ok" if ratio <= target else "  OVER")
        print(f"{name:<26}{value:>10.3f}{ratio:>8.2f}x{(f'{target:.2f}x' if target else ''):>9}{verdict}  "
              + " ".join(f"{v:.3f}" for v in samples[name]))
    for name in [n for n in median if " @" in n]:
        mine = name.split(" @")[0]
        print(f"{mine}: this checkout / {name.split(' @')[1]} = {median[mine] / median[name]:.2f}")


if __name__ == "__main__":
    main()
