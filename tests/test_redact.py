"""Redaction: URL credentials and secret-named variables never reach a report or a saved snapshot."""

from __future__ import annotations

import json

import pytest

from envcheck.probes import ProbeContext
from envcheck.probes import envvars
from envcheck.redact import is_secret_name, redact_data, redact_env, redact_url
from envcheck.snapshot import PipConfig, PipSetting, Snapshot


@pytest.mark.parametrize("text, expected", [
    ("https://user:pass@host/x", "https://***@host/x"),
    ("https://TOKEN@pypi.example.com/simple", "https://***@pypi.example.com/simple"),
    # several URLs in one value, as PIP_EXTRA_INDEX_URL holds them (space separated)
    ("https://a:b@one.example/simple https://download.pytorch.org/whl/cu130 http://c:d@two.example:8080/s",
     "https://***@one.example/simple https://download.pytorch.org/whl/cu130 http://***@two.example:8080/s"),
    # a raw "@" inside the password: everything up to the last "@" of the authority is hidden
    ("https://me:p@ss@host.example/simple", "https://***@host.example/simple"),
    # the "@" in a path or query is not userinfo
    ("https://host.example/u/me@x?a=b@c", "https://host.example/u/me@x?a=b@c"),
    ("git+https://ghp_abc123@github.com/org/repo.git", "git+https://***@github.com/org/repo.git"),
    ("index-url = 'https://u:p@mirror.example/simple'", "index-url = 'https://***@mirror.example/simple'"),
    ("https://pypi.org/simple", "https://pypi.org/simple"),
    ("mail user@example.com about it", "mail user@example.com about it"),
    ("", ""),
])
def test_redact_url(text: str, expected: str) -> None:
    assert redact_url(text) == expected


def test_redacted_url_never_contains_the_secret() -> None:
    text = "--extra-index-url https://alice:s3cr3t-Pa55@private.example/simple"
    out = redact_url(text)
    assert "s3cr3t" not in out and "alice" not in out
    assert "private.example/simple" in out


@pytest.mark.parametrize("name", ["HF_TOKEN", "NCCL_IB_SECRET", "AWS_SECRET_ACCESS_KEY", "db_password",
                                  "WANDB_API_KEY", "GITHUB_token"])
def test_secret_names_are_masked_whole(name: str) -> None:
    assert is_secret_name(name)
    assert redact_env(name, "https://host/nothing-secret-looking") == "***"


def test_redact_env_keeps_plain_values_and_hides_url_credentials() -> None:
    assert redact_env("CUDA_VISIBLE_DEVICES", "0,1") == "0,1"
    assert redact_env("PIP_INDEX_URL", "https://u:p@m.example/simple") == "https://***@m.example/simple"
    assert not is_secret_name("CUDA_VISIBLE_DEVICES")


def test_envvars_probe_selects_and_redacts() -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/root",
        "EDITOR": "vim",
        "CUDA_VISIBLE_DEVICES": "1",
        "NCCL_DEBUG": "INFO",
        "NCCL_IB_SECRET": "hunter2",
        "TORCH_CUDA_ARCH_LIST": "8.0;9.0",
        "TORCH_HOME": "/data/torch",
        "CUBLAS_WORKSPACE_CONFIG": ":4096:8",
        "PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True",
        "PIP_EXTRA_INDEX_URL": "https://u:pw@a.example/simple https://TOKEN123@b.example/simple",
        "HF_TOKEN": "hf_abc",
        "https_proxy": "http://proxyuser:proxypass@proxy.example:3128",
    }
    out = envvars.probe(ProbeContext(env=env))
    assert out["CUDA_VISIBLE_DEVICES"] == "1"
    assert out["NCCL_DEBUG"] == "INFO"
    assert out["NCCL_IB_SECRET"] == "***"
    assert out["TORCH_CUDA_ARCH_LIST"] == "8.0;9.0" and out["TORCH_HOME"] == "/data/torch"
    assert out["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    assert out["PIP_EXTRA_INDEX_URL"] == "https://***@a.example/simple https://***@b.example/simple"
    assert out["https_proxy"] == "http://***@proxy.example:3128"
    assert "HOME" not in out and "EDITOR" not in out
    assert "HF_TOKEN" not in out  # not relevant, and would be masked anyway
    assert "hunter2" not in json.dumps(out) and "TOKEN123" not in json.dumps(out)
    assert list(out) == sorted(out)


def test_redact_data_walks_a_whole_snapshot() -> None:
    snap = Snapshot(
        pip=PipConfig(
            index_url="https://u:p@mirror.example/simple",
            extra_index_urls=["https://tok@extra.example/simple", "https://download.pytorch.org/whl/cu130"],
            settings=[PipSetting(key="index-url", value="https://u:p@mirror.example/simple",
                                 origin="/root/.config/pip/pip.conf")],
        ),
        env={"PIP_INDEX_URL": "https://u:p@mirror.example/simple"},
    )
    data = snap.to_dict()
    clean = redact_data(data)
    text = json.dumps(clean)
    assert "u:p@" not in text and "tok@" not in text
    assert clean["pip"]["index_url"] == "https://***@mirror.example/simple"
    assert clean["pip"]["extra_index_urls"][1] == "https://download.pytorch.org/whl/cu130"
    assert clean["pip"]["settings"][0]["key"] == "index-url"  # a field named "key" is no secret
    assert data["pip"]["index_url"] == "https://u:p@mirror.example/simple"  # the input is not modified
    assert Snapshot.from_dict(clean).pip.index_url == "https://***@mirror.example/simple"
    assert redact_data((1, None, "https://a@b/c")) == (1, None, "https://***@b/c")
