"""`envcheck mirrors use` / `restore` keep every promise (issue 16, requirement 8).

One lock per backup folder; all files checked before any is written, all or none changed; owner,
group and mode kept (in place where replacing would change the owner); read-only files refused
unless ``--force``; symlinks (relative, absolute, chained, dangling) edited at their target, loops
refused; hard links written in place; restore gives back bytes, kind, mode and owner and removes what
`use` created, touching only the places `use` edits (the manifest is validated, never obeyed
blindly); temporary files removed on every way out and swept on the next run.

CLI cases run the real ``python -m envcheck`` in a temporary HOME (helpers from test_mirrors_cmd);
the failure paths that need an injected fault (a write failing half way, a signal) run in-process
with a real :class:`~envcheck.mirrors.render.Screen` printing to a buffer. The race of 100 concurrent
pairs is ``bench/bench_mirrors_race.py``.
"""

from __future__ import annotations

import io
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Tuple

import pytest

from envcheck import fileio
from envcheck.knowledge import Knowledge
from envcheck.mirrors import commands
from envcheck.mirrors.lock import JournalLock
from envcheck.mirrors.render import Screen
from envcheck.probes import ProbeContext

from test_mirrors_cmd import CONDARC, PIP_CONF, TUNA_CLOUD, TUNA_PYPI, UV_TOML, envcheck, make_env, tree, write

root_only = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                               reason="giving a file to another user needs root")
posix_only = pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX owners, links and signals")


def _home(tmp_path: Path) -> Tuple[Dict[str, str], Path]:
    env = make_env(tmp_path)
    return env, Path(env["HOME"])


def _paths(home: Path) -> Tuple[Path, Path, Path]:
    return home / ".config" / "pip" / "pip.conf", home / ".condarc", home / ".config" / "uv" / "uv.toml"


def _journal(home: Path) -> Path:
    return home / ".config" / "envcheck" / "mirrors-backup"


def _ok(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _in_process(env: Dict[str, str]) -> Tuple[ProbeContext, Screen, io.StringIO]:
    from rich.console import Console

    out = io.StringIO()
    console = Console(file=out, width=400, no_color=True)
    return ProbeContext(env=env), Screen(lambda: console), out


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return Knowledge()


class Run:
    """`mirrors use` / `restore` in this process (the CLI's own functions, a real screen): a CLI run costs
    a Python start, and these cases are about the files, not the process."""

    def __init__(self, returncode: int, stdout: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, ""


def use(env: Dict[str, str], knowledge: Knowledge, mirror: str, *tools: str, force: bool = False) -> Run:
    ctx, screen, out = _in_process(env)
    code = commands.run_use(ctx, knowledge, mirror, [t.lstrip("-") for t in tools], False, True, "linux", screen,
                            force=force)
    return Run(code, out.getvalue())


def restore(env: Dict[str, str]) -> Run:
    ctx, screen, out = _in_process(env)
    return Run(commands.run_restore(ctx, True, False, "linux", screen), out.getvalue())


# --------------------------------------------------------------------------- the lock


def test_a_run_refuses_when_another_holds_the_lock_and_queues_behind_it(tmp_path):
    env, home = _home(tmp_path)
    pip_conf = write(_paths(home)[0], PIP_CONF)
    before = tree(home)
    lock = JournalLock(_journal(home), wait=0).acquire()
    try:
        refused = envcheck(dict(env, ENVCHECK_MIRRORS_LOCK_WAIT="0.2"), "use", "tuna", "--pip", "--yes")
        assert refused.returncode == 2
        assert "another `envcheck mirrors` run holds" in refused.stdout and "nothing changed" in refused.stdout
        refused = envcheck(dict(env, ENVCHECK_MIRRORS_LOCK_WAIT="0.2"), "restore", "--yes")
        assert refused.returncode == 2 and "holds" in refused.stdout
        waiting = subprocess.Popen([sys.executable, "-m", "envcheck", "mirrors", "use", "tuna", "--pip", "--yes"],
                                   env=dict(env, ENVCHECK_MIRRORS_LOCK_WAIT="30"), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        time.sleep(0.6)
        assert waiting.poll() is None, "the second run waits for the lock"
        assert pip_conf.read_text() == PIP_CONF
    finally:
        lock.release()
    out, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, out + err
    assert TUNA_PYPI in pip_conf.read_text()
    assert not (_journal(home) / "lock").exists(), "the lock file lives only while a run holds it"
    _ok(restore(env))
    assert tree(home) == before


def test_concurrent_uses_keep_every_backup_entry(tmp_path):
    """The audit's race: two `use` runs at once dropped an entry; three at once, each for one tool, keep all."""
    env, home = _home(tmp_path)
    pip_conf, condarc, uv_toml = _paths(home)
    write(pip_conf, PIP_CONF)
    write(condarc, CONDARC)
    write(uv_toml, UV_TOML)
    before = tree(home)
    runs = [subprocess.Popen([sys.executable, "-m", "envcheck", "mirrors", "use", mirror, tool, "--yes"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for mirror in ("tuna",) for tool in ("--pip", "--conda", "--uv")]
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, out + err
    manifest = json.loads((_journal(home) / "manifest.json").read_text())
    assert sorted(e["path"] for e in manifest["files"]) == sorted(str(p) for p in (pip_conf, condarc, uv_toml))
    for entry in manifest["files"]:
        assert (_journal(home) / entry["backup"]).read_bytes() == before[str(Path(entry["path"]).relative_to(home))][1]
    _ok(restore(env))
    assert tree(home) == before


# --------------------------------------------------------------------------- all or none


def test_one_unreadable_file_blocks_the_others_and_is_named(tmp_path, knowledge):
    env, home = _home(tmp_path)
    pip_conf, condarc, uv_toml = _paths(home)
    write(pip_conf, PIP_CONF)
    write(condarc, CONDARC)
    uv_toml.mkdir(parents=True)  # uv.toml cannot be read
    before = tree(home)
    proc = use(env, knowledge, "tuna")
    assert proc.returncode == 2
    assert f"nothing changed: {uv_toml} cannot be changed" in proc.stdout
    assert tree(home) == before


def test_a_write_failing_half_way_undoes_the_files_already_written(tmp_path, monkeypatch, knowledge):
    env, home = _home(tmp_path)
    pip_conf, condarc, uv_toml = _paths(home)
    write(pip_conf, PIP_CONF)
    write(condarc, CONDARC)
    before = tree(home)
    real = commands.atomic_write

    def failing(path, data, *args, **kwargs):
        if Path(path).name == "uv.toml":
            raise OSError(28, "No space left on device")
        return real(path, data, *args, **kwargs)

    monkeypatch.setattr(commands, "atomic_write", failing)
    ctx, screen, out = _in_process(env)
    code = commands.run_use(ctx, knowledge, "tuna", [], False, True, "linux", screen)
    assert code == commands.FAILED
    assert "uv: not changed:" in out.getvalue() and "No space left on device" in out.getvalue()
    assert tree(home) == before, "pip.conf and .condarc, already written, are put back; no journal is left"


@posix_only
def test_a_signal_mid_write_removes_the_temp_file_and_undoes_the_run(tmp_path, monkeypatch, knowledge):
    env, home = _home(tmp_path)
    pip_conf, condarc, _ = _paths(home)
    write(pip_conf, PIP_CONF)
    write(condarc, CONDARC)
    before = tree(home)
    real_fsync = os.fsync

    def killed(fd):
        if os.fstat(fd).st_size and Path(os.readlink(f"/proc/self/fd/{fd}")).name.startswith(".uv.toml."):
            os.kill(os.getpid(), signal.SIGTERM)  # `kill PID` while the temporary uv.toml is being written
        return real_fsync(fd)

    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc/self/fd")
    monkeypatch.setattr(fileio.os, "fsync", killed)
    ctx, screen, _out = _in_process(env)
    handler = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit) as stop:
        commands.run_use(ctx, knowledge, "tuna", [], False, True, "linux", screen)
    assert stop.value.code == 128 + signal.SIGTERM
    assert tree(home) == before, "no temporary file, no half change, no journal"
    assert signal.getsignal(signal.SIGTERM) is handler, "the run's own handler is gone again"


def test_leftover_temp_files_are_swept_by_the_next_run(tmp_path, knowledge):
    env, home = _home(tmp_path)
    pip_conf = write(_paths(home)[0], PIP_CONF)
    before = tree(home)
    stale = [write(pip_conf.parent / ".pip.conf.k1ll3d.envcheck-tmp", "index-url = https://u:secret@x/simple\n"),
             write(home / ".condarc.x.envcheck-tmp", "not ours: no leading dot\n"),
             write(home / "notes.txt", "the user's\n")]
    _ok(use(env, knowledge, "tuna", "--pip"))
    assert not stale[0].exists(), "a killed run's temporary pip.conf is swept"
    assert stale[1].exists() and stale[2].exists(), "only envcheck's own temporary names are swept"
    journal_tmp = write(_journal(home) / ".manifest.json.zz.envcheck-tmp", "{}")
    _ok(restore(env))
    assert not journal_tmp.exists()
    stale[1].unlink()
    stale[2].unlink()
    assert tree(home) == before


def test_atomic_write_removes_its_temp_file_when_the_write_fails(tmp_path, monkeypatch):
    target = write(tmp_path / "pip.conf", "old\n")

    def boom(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(fileio.os, "fsync", boom)
    with pytest.raises(OSError):
        fileio.atomic_write(target, b"new\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pip.conf"] and target.read_text() == "old\n"


# --------------------------------------------------------------------------- owner, group, mode, read-only


@root_only
def test_root_keeps_another_users_owner_group_and_mode(tmp_path, knowledge):
    """`sudo -E envcheck mirrors use`: the user's files stay the user's, new ones too."""
    env, home = _home(tmp_path)
    pip_conf, condarc, uv_toml = _paths(home)
    write(pip_conf, PIP_CONF, mode=0o640)
    write(condarc, CONDARC, mode=0o600)
    for path in [home, home / ".config", home / ".config" / "pip", pip_conf, condarc]:
        os.chown(path, 4242, 4343)
    _ok(use(env, knowledge, "tuna"))
    for path, mode in ((pip_conf, 0o640), (condarc, 0o600)):
        st = os.stat(path)
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (4242, 4343, mode), path
    st = os.stat(uv_toml)  # created under the user's ~/.config: theirs, not root's
    assert (st.st_uid, st.st_gid) == (4242, 4343)
    assert os.stat(uv_toml.parent).st_uid == 4242
    assert os.stat(_journal(home)).st_uid == 4242
    _ok(restore(env))
    st = os.stat(pip_conf)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (4242, 4343, 0o640)
    assert pip_conf.read_text() == PIP_CONF and not uv_toml.exists() and not _journal(home).exists()


@root_only
def test_a_file_whose_owner_a_replacement_cannot_keep_is_written_in_place(tmp_path, monkeypatch):
    path = write(tmp_path / "pip.conf", "old\n", mode=0o664)
    os.chown(path, 4242, 4343)
    inode = os.stat(path).st_ino

    def refused(*args):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(fileio.os, "fchown", refused)  # as a user who may not give files away
    assert fileio.atomic_write(path, b"new\n") == "in-place"
    st = os.stat(path)
    assert (st.st_ino, st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (inode, 4242, 4343, 0o664)
    assert path.read_bytes() == b"new\n" and sorted(os.listdir(tmp_path)) == ["pip.conf"]


def test_a_read_only_file_is_refused_unless_forced(tmp_path, knowledge):
    env, home = _home(tmp_path)
    pip_conf, condarc, _ = _paths(home)
    write(pip_conf, PIP_CONF, mode=0o444)
    write(condarc, CONDARC)
    before = tree(home)
    proc = use(env, knowledge, "tuna", "--pip", "--conda")
    assert proc.returncode == 2
    assert f"{pip_conf} is read-only (mode 0444); pass --force to change it anyway" in proc.stdout
    assert tree(home) == before, "all or none: .condarc is not changed either"
    _ok(envcheck(env, "use", "tuna", "--pip", "--conda", "--yes", "--force"))  # the CLI option
    assert TUNA_PYPI in pip_conf.read_text() and stat.S_IMODE(os.stat(pip_conf).st_mode) == 0o444
    _ok(restore(env))
    assert tree(home) == before


# --------------------------------------------------------------------------- links


@posix_only
@pytest.mark.parametrize("how", ["relative", "absolute", "chained"])
def test_a_symlinked_config_is_edited_at_its_target_and_restored(tmp_path, how, knowledge):
    env, home = _home(tmp_path)
    real = write(home / "dotfiles" / "conda" / "condarc", CONDARC, mode=0o640)
    condarc = home / ".condarc"
    if how == "relative":
        condarc.symlink_to(Path("dotfiles") / "conda" / "condarc")
    elif how == "absolute":
        condarc.symlink_to(real)
    else:
        (home / "dotfiles" / "current").symlink_to("conda/condarc")
        condarc.symlink_to("dotfiles/current")
    before = tree(home)
    _ok(use(env, knowledge, "tuna", "--conda"))
    assert condarc.is_symlink() and TUNA_CLOUD in real.read_text()
    assert stat.S_IMODE(os.stat(real).st_mode) == 0o640
    entry = json.loads((_journal(home) / "manifest.json").read_text())["files"][0]
    assert (entry["kind"], entry["link"], entry["target"]) == ("link", os.readlink(condarc), str(real))
    _ok(restore(env))
    assert tree(home) == before


@posix_only
def test_a_dangling_symlink_gets_its_target_created_and_restore_removes_only_that(tmp_path, knowledge):
    env, home = _home(tmp_path)
    condarc = home / ".condarc"
    condarc.symlink_to("dotfiles/new/condarc")  # neither the file nor its folders exist yet
    before = tree(home)
    _ok(use(env, knowledge, "tuna", "--conda"))
    assert condarc.is_symlink() and TUNA_CLOUD in (home / "dotfiles" / "new" / "condarc").read_text()
    _ok(restore(env))
    assert tree(home) == before, "the link stays (dangling, as it was); the file and folders it needed go"


@posix_only
def test_a_symlink_loop_is_refused(tmp_path, knowledge):
    env, home = _home(tmp_path)
    (home / ".condarc").symlink_to("loop-b")
    (home / "loop-b").symlink_to(".condarc")
    write(_paths(home)[0], PIP_CONF)
    before = tree(home)
    proc = use(env, knowledge, "tuna", "--conda", "--pip")
    assert proc.returncode == 2 and "Too many levels of symbolic links" in proc.stdout
    assert tree(home) == before


@posix_only
def test_a_hard_linked_config_is_written_in_place_and_restored_in_place(tmp_path, knowledge):
    env, home = _home(tmp_path)
    pip_conf = write(_paths(home)[0], PIP_CONF, mode=0o600)
    other = home / "dotfiles" / "pip.conf"
    other.parent.mkdir()
    os.link(pip_conf, other)
    inode = os.stat(pip_conf).st_ino
    before = tree(home)
    _ok(use(env, knowledge, "tuna", "--pip"))
    assert os.stat(pip_conf).st_ino == inode and os.stat(pip_conf).st_nlink == 2
    assert TUNA_PYPI in other.read_text(), "the other name sees the change: still one file"
    _ok(restore(env))
    assert os.stat(pip_conf).st_ino == inode and os.stat(other).st_ino == inode
    assert tree(home) == before


# --------------------------------------------------------------------------- restore trusts nothing it reads


def _forge(home: Path, files, dirs=()) -> Path:
    folder = _journal(home)
    folder.mkdir(parents=True, exist_ok=True)
    write(folder / "manifest.json", json.dumps({"schema": 1, "files": files, "dirs": list(dirs)}))
    return folder


def test_restore_only_touches_the_places_use_edits(tmp_path):
    env, home = _home(tmp_path)
    victim = write(tmp_path / "elsewhere" / "important.txt", "keep me\n")
    empty = tmp_path / "elsewhere" / "empty"
    empty.mkdir()
    folder = _forge(home, [{"path": str(victim), "existed": True, "backup": "001-important.txt"},
                           {"path": str(tmp_path / "elsewhere" / "made.txt"), "existed": False}],
                    dirs=[str(empty)])
    write(folder / "001-important.txt", "overwritten!\n")
    write(tmp_path / "elsewhere" / "made.txt", "not envcheck's to delete\n")
    before = tree(tmp_path)
    proc = restore(env)
    assert proc.returncode == 2
    for path in (victim, tmp_path / "elsewhere" / "made.txt"):  # in the plan, then among the problems
        assert proc.stdout.count(f"{path} is not a config file envcheck edits here; left alone") == 2
    assert tree(tmp_path) == before


@pytest.mark.parametrize("row, why", [
    ({"path": "relative/pip.conf", "existed": False}, "is not an absolute path"),
    ({"path": "/x/pip.conf", "existed": True, "backup": "../../etc/shadow"}, "is not a file name inside"),
    ({"path": "/x/pip.conf", "existed": True, "backup": "001-pip.conf", "mode": "0644"}, "is not a small number"),
    ({"path": "/x/pip.conf", "existed": True}, "backup must be named exactly when the file existed"),
    ({"path": "/x/pip.conf", "existed": False, "kind": "socket"}, "is not file, link or missing"),
])
def test_a_manifest_that_fails_validation_restores_nothing(tmp_path, row, why):
    env, home = _home(tmp_path)
    _forge(home, [row])
    before = tree(home)
    proc = restore(env)
    assert proc.returncode == 2
    assert "is not an envcheck backup manifest" in proc.stdout and why in proc.stdout
    assert tree(home) == before


@posix_only
def test_restore_leaves_a_link_alone_that_now_points_elsewhere(tmp_path, knowledge):
    env, home = _home(tmp_path)
    real = write(home / "dotfiles" / "condarc", CONDARC)
    (home / ".condarc").symlink_to(real)
    _ok(use(env, knowledge, "tuna", "--conda"))
    changed = real.read_text()
    other = write(home / "dotfiles" / "other-condarc", "ssl_verify: false\n")
    (home / ".condarc").unlink()
    (home / ".condarc").symlink_to(other)
    proc = restore(env)
    assert proc.returncode == 2 and "was a symlink to" in proc.stdout and "no longer is; left alone" in proc.stdout
    assert other.read_text() == "ssl_verify: false\n" and real.read_text() == changed
    assert (_journal(home) / "manifest.json").is_file(), "the backup stays for a later restore"
