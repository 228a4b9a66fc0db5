"""Benchmark: 100 concurrent `envcheck mirrors use` / `restore` pairs against one HOME (issue 16, req. 8).

The audit saw two `use` runs at once drop a backup entry (3 of 230 trials), after which `restore`
reported success with a file still changed. This runs ``--pairs`` pairs at once (each pair: `use` of
a mirror, then `restore`, as real ``python -m envcheck`` processes with ``--yes``) on a HOME whose
pip.conf is a plain file, ~/.condarc a symlink into ~/dotfiles and uv.toml a hard link.

After every run, holding the backup folder's lock itself (so no run is half way), it checks:

* the run exited 0 without a traceback;
* the journal covers every file that differs from its original, each backup holds the original bytes,
  and no entry is listed twice; with no journal, every file is its original;
* the link is still a link to the same file, the hard link still one inode, modes unchanged;
* no ``*.envcheck-tmp`` file is left anywhere under HOME.

At the end (the last run of all is always a `restore`) every file must be byte for byte, kind and
mode what it was, and the backup folder gone. Prints trials, runs, failures and the time.

    python bench/bench_mirrors_race.py                 # 100 pairs, all at once
    python bench/bench_mirrors_race.py --pairs 20 --jobs 8 --json-out /tmp/race.json

Exit status: 0 no failure, 1 failures (listed).
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from envcheck.mirrors.lock import JournalLock  # noqa: E402

PIP_CONF = "# mine\n[global]\ntimeout = 60\nextra-index-url = https://user:s3cret@private.example.com/simple\n"
CONDARC = "# mine\nchannels:\n  - defaults\nssl_verify: true\n"
UV_TOML = '# mine\ncache-dir = "/tmp/uv-cache"\n\n[pip]\nindex-url = "https://pypi.org/simple"\n'
MIRRORS = ("tuna", "ustc", "sjtu", "bfsu")


def tree(root: Path) -> Dict[str, Tuple[str, Optional[bytes], int]]:
    found: Dict[str, Tuple[str, Optional[bytes], int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = os.lstat(path)
            rel = str(path.relative_to(root))
            if stat.S_ISLNK(st.st_mode):
                found[rel] = ("link", os.readlink(path).encode(), 0)
            elif stat.S_ISDIR(st.st_mode):
                found[rel] = ("dir", None, stat.S_IMODE(st.st_mode))
            else:
                found[rel] = ("file", path.read_bytes(), stat.S_IMODE(st.st_mode))
    return found


class Home:
    def __init__(self, base: Path) -> None:
        self.home = base / "home"
        self.pip = self.home / ".config" / "pip" / "pip.conf"
        self.condarc = self.home / ".condarc"
        self.condarc_target = self.home / "dotfiles" / "condarc"
        self.uv = self.home / ".config" / "uv" / "uv.toml"
        self.uv_other = self.home / "dotfiles" / "uv.toml"
        self.journal = self.home / ".config" / "envcheck" / "mirrors-backup"
        for path, text, mode in ((self.pip, PIP_CONF, 0o600), (self.condarc_target, CONDARC, 0o644),
                                 (self.uv, UV_TOML, 0o640)):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            path.chmod(mode)
        self.condarc.symlink_to("dotfiles/condarc")
        os.link(self.uv, self.uv_other)
        self.files = {str(self.pip): PIP_CONF.encode(), str(self.condarc): CONDARC.encode(),
                      str(self.uv): UV_TOML.encode()}
        self.modes = {str(self.pip): 0o600, str(self.condarc): 0o644, str(self.uv): 0o640}
        self.before = tree(self.home)
        self.env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": str(self.home),
                    "XDG_CONFIG_HOME": str(self.home / ".config"), "XDG_CONFIG_DIRS": str(base / "xdg"),
                    "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "LANG": "C.UTF-8", "COLUMNS": "200",
                    "ENVCHECK_MIRRORS_LOCK_WAIT": "600"}

    def check(self) -> List[str]:
        """The invariant, read while holding the lock: what is wrong now (empty: all is well)."""
        problems: List[str] = []
        manifest = self.journal / "manifest.json"
        entries: Dict[str, dict] = {}
        if manifest.exists():
            data = json.loads(manifest.read_text())
            for e in data["files"]:
                if e["path"] in entries:
                    problems.append(f"entry listed twice: {e['path']}")
                entries[e["path"]] = e
                if e["path"] not in self.files:
                    problems.append(f"entry for a file envcheck should not touch: {e['path']}")
                elif (self.journal / (e["backup"] or "")).read_bytes() != self.files[e["path"]]:
                    problems.append(f"backup of {e['path']} is not the original")
        for path, original in self.files.items():
            now = Path(path).read_bytes()
            if now != original and path not in entries:
                problems.append(f"{path} changed but the journal has no entry for it (restore would miss it)")
            if stat.S_IMODE(os.stat(path).st_mode) != self.modes[path]:
                problems.append(f"mode of {path} changed")
        if not (self.condarc.is_symlink() and os.readlink(self.condarc) == "dotfiles/condarc"):
            problems.append("~/.condarc is no longer the symlink")
        if os.stat(self.uv).st_ino != os.stat(self.uv_other).st_ino:
            problems.append("uv.toml's hard link was broken")
        temps = [str(p) for p in self.home.rglob("*.envcheck-tmp")]
        if temps:
            problems.append(f"temporary files left: {temps}")
        return problems


def run(home: Home, args: List[str]) -> Tuple[int, str]:
    proc = subprocess.run([sys.executable, "-m", "envcheck", "mirrors", *args], env=home.env,
                          capture_output=True, text=True, timeout=900)
    return proc.returncode, proc.stdout + proc.stderr


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=0, help="pairs running at once (default: all of them)")
    parser.add_argument("--json-out", type=Path)
    opts = parser.parse_args(argv)
    failures: List[str] = []
    guard = threading.Lock()
    runs = [0]

    with tempfile.TemporaryDirectory(prefix="envcheck-race-") as base:
        home = Home(Path(base))

        def locked_check() -> List[str]:
            """The invariant under the runs' own lock. The checker never creates the backup folder (that
            would make it, not a run, the one that made it); with no folder there is no journal and no run
            writing: look, and look again if a run began meanwhile."""
            problems: List[str] = []
            for _attempt in range(100):
                lock = JournalLock(home.journal, wait=600)
                try:
                    lock.acquire(create=False)
                except FileNotFoundError:
                    problems = home.check()
                    if not problems and not home.journal.exists():
                        return []
                    time.sleep(0.05)
                    continue
                try:
                    return home.check()
                finally:
                    lock.release()
            return problems

        def after(what: str, code: int, out: str) -> None:
            problems = locked_check()
            with guard:
                runs[0] += 1
                if code != 0 or "Traceback" in out:
                    failures.append(f"{what}: exit {code}: {out.strip().splitlines()[-1:] if out.strip() else ''}")
                failures.extend(f"after {what}: {p}" for p in problems)

        def pair(i: int) -> None:
            mirror = MIRRORS[i % len(MIRRORS)]
            code, out = run(home, ["use", mirror, "--yes"])
            after(f"pair {i} use {mirror}", code, out)
            code, out = run(home, ["restore", "--yes"])
            after(f"pair {i} restore", code, out)

        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=opts.jobs or opts.pairs) as pool:
            list(pool.map(pair, range(opts.pairs)))
        elapsed = time.monotonic() - start
        final = tree(home.home)
        if final != home.before:
            changed = sorted(k for k in set(final) | set(home.before) if final.get(k) != home.before.get(k))
            failures.append(f"at the end the HOME differs from before: {changed}")

    kinds: Dict[str, int] = {}
    for failure in failures:
        kind = failure.split(": ", 1)[1] if failure.startswith("after ") else "a run failed (" + \
            failure.split(": ")[1] + ")"
        kind = kind.split(" (restore")[0].replace(str(home.home), "~")
        kinds[kind] = kinds.get(kind, 0) + 1
    result = {"trials": opts.pairs, "runs": runs[0], "failures": len(failures), "seconds": round(elapsed, 1),
              "runs_per_second": round(runs[0] / elapsed, 2) if elapsed else None,
              "jobs": opts.jobs or opts.pairs, "failure_kinds": kinds, "failure_list": failures[:20]}
    print(f"trials (use/restore pairs at once): {opts.pairs}, runs: {runs[0]}, failures: {len(failures)}, "
          f"time: {elapsed:.1f} s ({result['runs_per_second']} runs/s, {result['jobs']} at once)")
    for kind, count in sorted(kinds.items(), key=lambda kv: -kv[1]):
        print(f"  {count:4d}  {kind}")
    for failure in failures[:10]:
        print("  e.g. " + failure)
    if opts.json_out:
        opts.json_out.write_text(json.dumps(result, indent=2) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
