"""YAML envcheck did not write is read with its size, depth and alias expansion bounded (issue 16)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from envcheck.probes.conda import parse_condarc
from envcheck.yamlsafe import MAX_BYTES, YamlRefused, safe_load


def alias_bomb() -> str:
    """A billion laughs in 453 bytes: nine levels of nine aliases, 9**9 "lol"s once expanded, under every key."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, cur in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    lines += ["channels: [" + ",".join(["*i"] * 9) + "]", "default_channels: [" + ",".join(["*i"] * 9) + "]",
              "custom_channels: {x: *i}"]
    return "\n".join(lines) + "\n"


def test_the_alias_bomb_is_a_broken_condarc_in_milliseconds():
    start = time.process_time()
    rc = parse_condarc("/home/u/.condarc", alias_bomb())
    assert time.process_time() - start < 0.5  # was 85 s and 3 GB
    assert rc.load_failed and not rc.ok and rc.channels is None
    assert "billion laughs" in str(rc.error) and "100000" in str(rc.error)


def test_real_aliases_still_load():
    text = "mirror: &m https://mirrors.example.org/anaconda\nchannels: [conda-forge]\ncustom_channels:\n  pytorch: *m\n"
    rc = parse_condarc("/x/.condarc", text)
    assert rc.ok and rc.custom_channels == {"pytorch": "https://mirrors.example.org/anaconda"}


@pytest.mark.parametrize("text, words", [
    ("a: &a [1, *a]\n", "stands for the value that contains it"),
    ("channels: " + "[" * 20000 + "]" * 20000 + "\n", "nested deeper"),
    ("channels: [" + ", ".join(["x"] * 100_001) + "]\n", "more than 100000 values"),
])
def test_other_hostile_yaml_is_refused_with_its_reason(text, words):
    with pytest.raises(YamlRefused) as info:
        safe_load(text)
    assert words in str(info.value)


def test_a_text_over_the_size_limit_is_refused_before_parsing():
    with pytest.raises(YamlRefused, match="bytes long"):
        safe_load("# " + "x" * MAX_BYTES + "\n")


def test_mirrors_status_names_the_bomb_and_finishes(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / ".condarc").write_text(alias_bomb())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONDA", "XDG_"))}
    env.update(HOME=str(home), NO_COLOR="1", COLUMNS="200")
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "envcheck", "mirrors", "status"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert time.monotonic() - start < 20  # the interpreter's start included; it was 24 GB and no end
    assert "billion laughs" in proc.stdout + proc.stderr and ".condarc" in proc.stdout
