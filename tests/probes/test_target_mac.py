"""The macOS facts of the live target probe and the system probe (issue 15 req 3: mps-unavailable): what
torch.backends.mps says, the macOS and architecture the target Python sees, and the host's own version and CPU."""

from __future__ import annotations

import platform
import sys
from types import SimpleNamespace

from envcheck.probes import ProbeContext, system, target_script
from envcheck.runner import CommandResult


def fake_torch(built: bool, available: bool) -> SimpleNamespace:
    mps = SimpleNamespace(is_built=lambda: built, is_available=lambda: available)
    return SimpleNamespace(backends=SimpleNamespace(mps=mps))


def test_mac_facts_under_rosetta(monkeypatch):
    monkeypatch.setattr(platform, "mac_ver", lambda: ("10.16", ("", "", ""), "x86_64"))
    monkeypatch.setattr(platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(target_script, "rosetta_translated", lambda: True)
    facts = {}
    target_script.mac_facts(fake_torch(True, False), facts, platform_name="darwin")
    assert facts == {"mps_built": True, "mps_available": False, "mac_version": "10.16", "machine": "x86_64",
                     "translated": True}


def test_mac_facts_survive_a_torch_without_mps(monkeypatch):
    monkeypatch.setattr(platform, "mac_ver", lambda: ("15.1", ("", "", ""), "arm64"))
    monkeypatch.setattr(platform, "machine", lambda: "arm64")
    monkeypatch.setattr(target_script, "rosetta_translated", lambda: False)
    facts = {}
    target_script.mac_facts(SimpleNamespace(backends=SimpleNamespace()), facts, platform_name="darwin")
    assert facts == {"mps_built": None, "mps_available": None, "mac_version": "15.1", "machine": "arm64",
                     "translated": False}


def test_mac_facts_are_not_asked_elsewhere():
    facts = {}
    target_script.mac_facts(fake_torch(True, True), facts, platform_name="linux")
    assert facts == {}


def test_rosetta_sysctl_is_false_or_unknown_off_a_mac():
    if sys.platform != "darwin":
        # Linux's libc has no sysctlbyname: the lookup fails and mac_facts' optional() turns that into None
        assert target_script.optional(target_script.rosetta_translated) is None


class Answers(ProbeContext):
    def __init__(self, answers):
        super().__init__(env={}, home="/nonexistent")
        self.answers = answers

    def run(self, argv, timeout=None, **kw):
        return self.answers[argv[0]]


def test_system_mac_facts_on_apple_silicon_and_intel():
    ok = lambda text: CommandResult(argv=[], returncode=0, stdout=text)
    ctx = Answers({"sw_vers": ok("15.1\n"), "sysctl": ok("1\n")})
    assert system.mac_facts(ctx) == ("15.1", True)
    # an Intel Mac has no hw.optional.arm64: sysctl fails ("unknown oid")
    ctx = Answers({"sw_vers": ok("13.6.9\n"),
                   "sysctl": CommandResult(argv=[], returncode=1, stderr="sysctl: unknown oid 'hw.optional.arm64'")})
    assert system.mac_facts(ctx) == ("13.6.9", False)
