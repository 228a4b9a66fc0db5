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


@pytest.mark.parametrize("text, expected", [
    # user:pass@host without a scheme: HTTPS_PROXY, pip's `proxy`, an entry of a PYTHONPATH-like list
    ("proxyuser:s3cr3t@proxy.example:3128", "***@proxy.example:3128"),
    ("proxy = u:p@proxy.example:3128", "proxy = ***@proxy.example:3128"),
    ("/opt/lib:u:p@code.example/lib:/srv", "/opt/lib:***@code.example/lib:/srv"),
    # what sys.path makes of a PYTHONPATH URL split on ":" (the password became a folder)
    ("/cwd/s3cr3t@code.example/lib", "/cwd/***@code.example/lib"),
    # private-index path tokens
    ("https://pypi.fury.io/TOK123/acct/", "https://pypi.fury.io/***/acct/"),
    ("https://TOK123@pypi.fury.io/acct/", "https://***@pypi.fury.io/acct/"),
    ("TOK123@pypi.fury.io/acct/", "***@pypi.fury.io/acct/"),
    ("https://pypi.fury.io/acct/", "https://pypi.fury.io/acct/"),  # a public index: one segment, no token
    ("https://dl.cloudsmith.io/TOK123/org/repo/python/simple/", "https://dl.cloudsmith.io/***/org/repo/python/simple/"),
    ("https://dl.cloudsmith.io/public/org/repo/python/simple/", "https://dl.cloudsmith.io/public/org/repo/python/simple/"),
    ("https://conda.anaconda.org/t/TOK123/private", "https://conda.anaconda.org/t/***/private"),
    ("https://conda.example/t/TOK123", "https://conda.example/t/***"),
    ("/data/t/run1", "/data/t/run1"),  # a folder named t is no token
    # query parameters named like secrets
    ("https://h/x?token=T1&x=1", "https://h/x?token=***&x=1"),
    ("https://h/f.whl?X-Amz-Signature=abc&X-Amz-Date=1", "https://h/f.whl?X-Amz-Signature=***&X-Amz-Date=1"),
    ("https://h/?client_secret=X&api_key=Y;sig=Z", "https://h/?client_secret=***&api_key=***;sig=***"),
    ("https://h/?auth=X", "https://h/?auth=***"),
    # NAME=value and password = value in free text (a paste, a parser's error quoting a line)
    ("HF_TOKEN=abc python train.py", "HF_TOKEN=*** python train.py"),
    ("export AWS_SECRET_ACCESS_KEY='abc'", "export AWS_SECRET_ACCESS_KEY='***'"),
    ("password = hunter2", "password = ***"),
    ("access-token: abc", "access-token: ***"),
    # left alone: versions, pins, emails, git remotes, plain paths
    ("tokenizers==0.15.0 tokenizers=0.15.0=pypi_0 keyring==24.3", "tokenizers==0.15.0 tokenizers=0.15.0=pypi_0 keyring==24.3"),
    ("max_new_tokens=5 CUDA_VISIBLE_DEVICES=0,1", "max_new_tokens=5 CUDA_VISIBLE_DEVICES=0,1"),
    ("git@github.com:org/repo.git", "git@github.com:org/repo.git"),
    ("torch @ https://h/torch.whl", "torch @ https://h/torch.whl"),
    ("git+https://github.com/org/repo@v1.2", "git+https://github.com/org/repo@v1.2"),
    ("/usr/lib/python3.11/site-packages", "/usr/lib/python3.11/site-packages"),
])
def test_redact_every_shape(text: str, expected: str) -> None:
    assert redact_url(text) == expected
    assert redact_url(expected) == expected  # redacting twice changes nothing


@pytest.mark.parametrize("name", ["PIP_ACCESS_TOKEN", "TORCH_HUB_AUTH_HEADER", "TRITON_PASSPHRASE",
                                  "NCCL_SOCKET_CREDENTIALS", "UV_INDEX_PASSWORD", "CONDA_TOKEN", "pip-password"])
def test_new_secret_names(name: str) -> None:
    assert is_secret_name(name)
    assert redact_env(name, "anything") == "***"


def test_keyring_provider_is_not_a_secret() -> None:
    assert not is_secret_name("PIP_KEYRING_PROVIDER") and not is_secret_name("keyring-provider")


def test_redact_env_hides_url_credentials_in_any_variable() -> None:
    assert redact_env("HTTPS_PROXY", "u:p@proxy:3128") == "***@proxy:3128"
    assert redact_env("PYTHONPATH", "/a:https://u:p@h/x") == "/a:https://***@h/x"
    assert redact_env("CONDA_EXE", "https://c.example/t/TOK/x") == "https://c.example/t/***/x"
    assert redact_env("PIP_FIND_LINKS", "https://h/w/?sig=abc") == "https://h/w/?sig=***"


def test_redact_data_masks_env_dicts_and_secret_keys_of_foreign_reports() -> None:
    data = {"env": {"HF_TOKEN": "abc", "db_password": "x", "HTTPS_PROXY": "u:p@proxy:1", "CUDA_HOME": "/usr"},
            "extra": {"WANDB_API_KEY": "k", "password": "p", "key": "global.index-url", "passed": "yes"}}
    clean = redact_data(data)
    assert clean["env"] == {"HF_TOKEN": "***", "db_password": "***", "HTTPS_PROXY": "***@proxy:1", "CUDA_HOME": "/usr"}
    assert clean["extra"] == {"WANDB_API_KEY": "***", "password": "***", "key": "global.index-url", "passed": "yes"}


def test_redact_keeps_a_message_that_holds_no_secret() -> None:
    from envcheck.findings import Severity
    from envcheck.i18n import N_, Message

    msg = Message(N_("{path}: {problem}"), path="/etc/pip.conf", problem="x")
    assert redact_url(msg) is msg and redact_data(msg) is msg
    assert redact_url(Severity.WARNING) is Severity.WARNING


@pytest.mark.parametrize("unit", ["a:", "a.", "a=", ";a", "?a", "a://", "/t/a", "a@", "x:y@", "TOKEN=", "token",
                                  "a,", "@a.", "fury.io/a", "a:b@c.d/"])
def test_redaction_is_linear(unit: str) -> None:
    """No pattern rescans: 8x the input costs about 8x the time (a 24 KB line stays in milliseconds)."""
    import time

    def cost(n: int) -> float:
        text = unit * (n // len(unit)) + " @ fury.io/ cloudsmith.io/ /t/ = :"
        best = float("inf")
        for _ in range(3):
            started = time.process_time()  # CPU time: tests on other xdist workers do not count
            redact_url(text)
            best = min(best, time.process_time() - started)
        return best

    small, large = cost(3000), cost(24000)
    assert large < 0.25 and large < max(small, 1e-4) * 30, (small, large)
