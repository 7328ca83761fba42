"""The two leaf guards, one behaviour each: the sandbox process's environment and limits, and
the outbound allow-list. (tests/security/ drives them through renders, checks and fetches.)"""

from __future__ import annotations

import ipaddress
import os

import pytest

from reconciler.core.outbound import OutboundPolicy, OutboundRefused, parse_allow_list, refusal_reason
from reconciler.core.sandbox import JobFailed, Limits, run_untrusted
from reconciler.core.sandbox.child import describe_process
from reconciler.settings import Settings, SettingsError

LIMITS = Limits(memory_bytes=128 << 20, cpu_seconds=5, timeout_seconds=10)


def test_a_sandboxed_job_sees_none_of_the_workers_environment_and_none_of_its_descriptors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://:hunter2@127.0.0.1:6379/0")
    monkeypatch.setenv("RECONCILER_REPO_1_PASSWORD", "hunter2")
    seen = run_untrusted(describe_process, (), LIMITS)
    assert seen["environment"] == ["GOTRACEBACK", "HOME", "LANG", "PATH", "PYTHONDONTWRITEBYTECODE", "TMPDIR"]
    assert seen["parent"] == os.getpid() and seen["pid"] != os.getpid()
    assert set(seen["descriptors"]) <= {0, 1, 2, 3, 4}  # the pipes, its log, and the listing itself


def test_a_job_that_is_not_a_reconciler_function_is_refused_before_anything_runs() -> None:
    with pytest.raises(ValueError, match="module-level function of a reconciler"):
        run_untrusted(os.getpid, (), LIMITS)
    with pytest.raises(JobFailed, match="TypeError"):
        run_untrusted(describe_process, ("unexpected",), LIMITS)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "a loopback address"),
        ("169.254.169.254", "a link-local address (where cloud metadata services answer)"),
        ("10.1.2.3", "a private address"),
        ("100.64.0.1", "not a public address"),
        ("100.100.100.200", "a cloud metadata address"),
        ("::1", "a loopback address"),
        ("::ffff:10.0.0.1", "a private address (inside the IPv6 address)"),
        ("64:ff9b::7f00:1", "a loopback address (inside the IPv6 address)"),
        ("2002:7f00:1::", "a loopback address (inside the IPv6 address)"),
        ("fd00:ec2::254", "a cloud metadata address"),
        ("0.0.0.0", "a reserved address"),
        ("8.8.8.8", ""),
        ("2606:4700::1111", ""),
    ],
)
def test_addresses_are_refused_unless_public(address: str, reason: str) -> None:
    assert refusal_reason(ipaddress.ip_address(address)) == reason


def test_allow_list_entries_match_a_name_a_name_and_port_an_address_or_a_network() -> None:
    policy = OutboundPolicy({"RECONCILER_ALLOWED_PRIVATE_HOSTS": "git.internal, registry.internal:5000, 10.0.0.0/8,"
                                                                 "[::1]:8080, 127.0.0.1:9000"})
    loopback, private = ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("192.168.1.1")
    assert policy.permits("git.internal", 443, private) == ""
    assert policy.permits("registry.internal", 5000, private) == ""
    assert policy.permits("registry.internal", 5001, private) == "a private address"
    assert policy.permits("anything", 22, ipaddress.ip_address("10.9.8.7")) == ""
    assert policy.permits("localhost", 9000, loopback) == ""  # an address entry matches what a name resolved to
    assert policy.permits("localhost", 9001, loopback) == "a loopback address"
    assert policy.permits("ip6-localhost", 8080, ipaddress.ip_address("::1")) == ""


def test_the_hosts_of_configured_repositories_are_allowed_and_nothing_else_is() -> None:
    policy = OutboundPolicy({"RECONCILER_REPO_1_URL": "https://gitea.internal/org", "RECONCILER_REPO_2_URL":
                             "git@ssh.internal:org/repo.git"})
    private = ipaddress.ip_address("10.0.0.5")
    assert policy.permits("gitea.internal", 3000, private) == ""
    assert policy.permits("ssh.internal", 22, private) == ""
    assert policy.permits("other.internal", 443, private) == "a private address"
    with pytest.raises(OutboundRefused, match=r"localhost:80 is refused: it resolves to (127\.0\.0\.1|::1)"):
        policy.addresses("localhost", 80)


def test_an_allow_list_entry_that_cannot_be_read_stops_the_settings_naming_it() -> None:
    assert parse_allow_list("") == ()
    with pytest.raises(SettingsError, match=r"'git\.internal:https' has a port that is not a number"):
        Settings.from_env({"RECONCILER_ALLOWED_PRIVATE_HOSTS": "git.internal:https"})
