"""Pure pieces of the Git source: URL forms, redaction, ref listings, credential lookup."""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
from pathlib import Path

import pytest

from reconciler.core.urls import normalize_repo_url, redact_text, redact_url, same_repository, split_credentials
from reconciler.source.git.credentials import CredentialStore, GitAuth, RepoCredentials
from reconciler.source.git.refs import is_short_sha, parse_ls_remote, resolve_in_listing

CANONICAL = "https://github.com/acme/config"


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/acme/config",
        "https://github.com/acme/config.git",
        "https://github.com/acme/config/",
        "https://github.com/acme/config.git/",
        "HTTPS://GitHub.com/Acme/Config.git",
        "https://github.com:443/acme/config",
        "https://deploy@github.com/acme/config",
        "https://deploy:token@github.com/acme/config.git",
        "  https://github.com/acme/config  ",
    ],
)
def test_https_forms_normalise_to_one_url(url: str) -> None:
    assert normalize_repo_url(url) == CANONICAL


@pytest.mark.parametrize(
    "url",
    [
        "git@github.com:acme/config.git",
        "git@github.com:acme/config",
        "github.com:acme/config",
        "ssh://git@github.com/acme/config.git",
        "ssh://git@github.com:22/acme/config",
        "ssh://GitHub.com/acme/Config/",
    ],
)
def test_ssh_and_scp_like_forms_normalise_to_one_url(url: str) -> None:
    assert normalize_repo_url(url) == "ssh://github.com/acme/config"


def test_non_default_port_is_kept() -> None:
    assert normalize_repo_url("https://git.example.com:8443/a/b.git") == "https://git.example.com:8443/a/b"


def test_http_default_port_is_dropped() -> None:
    assert normalize_repo_url("http://git.example.com:80/a/b") == "http://git.example.com/a/b"


def test_git_protocol_default_port_is_dropped() -> None:
    assert normalize_repo_url("git://127.0.0.1:9418/repo") == "git://127.0.0.1/repo"


def test_file_url_keeps_path_case() -> None:
    assert normalize_repo_url("file:///tmp/Repos/Config.git/") == "file:///tmp/Repos/Config"


def test_text_that_is_not_a_url_is_refused_with_the_accepted_forms() -> None:
    with pytest.raises(ValueError, match="not a URL: use https://host/org/repo"):
        normalize_repo_url("just-a-name")


def test_same_repository_ignores_the_transport() -> None:
    assert same_repository("git@github.com:Acme/config.git", "https://github.com/acme/config")


def test_same_repository_tells_different_repositories_apart() -> None:
    assert not same_repository("https://github.com/acme/config", "https://github.com/acme/config2")


def test_split_credentials_removes_user_and_token_from_the_url() -> None:
    assert split_credentials("https://deploy:tok@github.com:8443/acme/config.git") == (
        "https://github.com:8443/acme/config.git",
        "deploy",
        "tok",
    )


def test_split_credentials_leaves_ssh_user_in_place() -> None:
    assert split_credentials("ssh://git@github.com/acme/config") == ("ssh://git@github.com/acme/config", "", "")


def test_split_credentials_leaves_scp_like_url_in_place() -> None:
    assert split_credentials("git@github.com:acme/config.git") == ("git@github.com:acme/config.git", "", "")


def test_redact_url_drops_user_info() -> None:
    assert redact_url("https://deploy:tok@github.com/acme/config") == "https://github.com/acme/config"


def test_redact_text_removes_urls_with_user_info_and_known_secrets() -> None:
    text = "fatal: could not read from 'https://deploy:tok123@host/x': tok123 rejected"
    assert redact_text(text, ("tok123",)) == "fatal: could not read from 'https://host/x': *** rejected"


LS_REMOTE_OUTPUT = """\
ref: refs/heads/main\tHEAD
1111111111111111111111111111111111111111\tHEAD
2222222222222222222222222222222222222222\trefs/heads/feature
1111111111111111111111111111111111111111\trefs/heads/main
3333333333333333333333333333333333333333\trefs/heads/release
4444444444444444444444444444444444444444\trefs/tags/release
5555555555555555555555555555555555555555\trefs/tags/v1
2222222222222222222222222222222222222222\trefs/tags/v1^{}
"""


def test_listing_resolves_head_through_its_symref() -> None:
    listing = parse_ls_remote(LS_REMOTE_OUTPUT.replace("1111111111111111111111111111111111111111\tHEAD\n", ""))
    assert resolve_in_listing(listing, "HEAD") == "1" * 40


def test_listing_resolves_head_without_symref_from_the_head_line() -> None:
    listing = parse_ls_remote(LS_REMOTE_OUTPUT.replace("ref: refs/heads/main\tHEAD\n", ""))
    assert resolve_in_listing(listing, "HEAD") == "1" * 40


def test_listing_peels_annotated_tags() -> None:
    assert resolve_in_listing(parse_ls_remote(LS_REMOTE_OUTPUT), "v1") == "2" * 40


def test_listing_prefers_branch_over_tag_like_argo_cd() -> None:
    assert resolve_in_listing(parse_ls_remote(LS_REMOTE_OUTPUT), "release") == "3" * 40


def test_listing_resolves_full_tag_ref() -> None:
    assert resolve_in_listing(parse_ls_remote(LS_REMOTE_OUTPUT), "refs/tags/release") == "4" * 40


def test_listing_gives_none_for_unknown_revision() -> None:
    assert resolve_in_listing(parse_ls_remote(LS_REMOTE_OUTPUT), "nope") is None


def test_listing_refuses_malformed_lines() -> None:
    with pytest.raises(ValueError, match="unexpected line in git ls-remote output"):
        parse_ls_remote("not a ref line\n")


@pytest.mark.parametrize(("revision", "expected"), [("abc1234", True), ("abc123", False), ("main", False)])
def test_short_sha_needs_seven_hex_digits(revision: str, expected: bool) -> None:
    assert is_short_sha(revision) is expected


def test_credentials_repr_hides_secrets() -> None:
    text = repr(RepoCredentials(username="deploy", password="tok", ssh_private_key="KEY"))
    assert "tok" not in text and "KEY" not in text


def test_longest_matching_prefix_wins() -> None:
    org = RepoCredentials(username="org")
    repo = RepoCredentials(username="repo")
    store = CredentialStore([("https://github.com/acme", org), ("https://github.com/acme/config.git", repo)])
    assert store.lookup("https://github.com/acme/config") is repo


def test_prefix_matches_only_on_a_path_boundary() -> None:
    store = CredentialStore([("https://github.com/acme", RepoCredentials(username="org"))])
    assert store.lookup("https://github.com/acmecorp/config") is None


def test_prefix_lookup_uses_normalised_urls() -> None:
    creds = RepoCredentials(username="org")
    store = CredentialStore([("https://GitHub.com/Acme/", creds)])
    assert store.lookup("https://deploy@github.com:443/acme/config.git") is creds


def test_credentials_are_read_from_numbered_environment_groups(tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    key.write_text("KEY\n")
    store = CredentialStore.from_env(
        {
            "RECONCILER_REPO_1_URL": "https://github.com/acme",
            "RECONCILER_REPO_1_USERNAME": "deploy",
            "RECONCILER_REPO_1_PASSWORD": "tok",
            "RECONCILER_REPO_INFRA_URL": "git@gitlab.com:infra/",
            "RECONCILER_REPO_INFRA_SSH_PRIVATE_KEY_FILE": str(key),
        }
    )
    assert store.lookup("https://github.com/acme/config") == RepoCredentials(username="deploy", password="tok")
    assert store.lookup("ssh://git@gitlab.com/infra/base") == RepoCredentials(ssh_private_key_file=str(key))


def test_missing_key_file_is_refused_naming_the_variable() -> None:
    with pytest.raises(ValueError, match="RECONCILER_REPO_1_SSH_PRIVATE_KEY_FILE names '/nope'"):
        CredentialStore.from_env(
            {"RECONCILER_REPO_1_URL": "git@github.com:acme/", "RECONCILER_REPO_1_SSH_PRIVATE_KEY_FILE": "/nope"}
        )


@pytest.fixture
def auth(tmp_path: Path):  # type: ignore[no-untyped-def]
    git_auth = GitAuth(tmp_path / "known_hosts")
    yield git_auth
    git_auth.close()


def test_ssh_command_uses_only_the_given_key_and_accepts_new_host_keys(auth: GitAuth) -> None:
    args = shlex.split(auth.ssh_command(RepoCredentials(ssh_private_key_file="/keys/id")))
    assert args[args.index("-i") + 1] == "/keys/id"
    assert "IdentitiesOnly=yes" in args
    assert "StrictHostKeyChecking=accept-new" in args
    assert "BatchMode=yes" in args


def test_inline_ssh_key_is_written_readable_by_owner_only(auth: GitAuth) -> None:
    args = shlex.split(auth.ssh_command(RepoCredentials(ssh_private_key="-----KEY-----")))
    key_file = Path(args[args.index("-i") + 1])
    assert key_file.read_text() == "-----KEY-----\n"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_git_environment_never_prompts_and_keeps_secrets_out_of_the_command(auth: GitAuth) -> None:
    env = auth.environment(RepoCredentials(username="deploy", password="tok"))
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert os.access(env["GIT_ASKPASS"], os.X_OK)
    assert "tok" not in env["GIT_SSH_COMMAND"] and "tok" not in Path(env["GIT_ASKPASS"]).read_text()


def test_close_removes_inline_key_files(tmp_path: Path) -> None:
    git_auth = GitAuth(tmp_path / "known_hosts")
    args = shlex.split(git_auth.ssh_command(RepoCredentials(ssh_private_key="KEY")))
    git_auth.close()
    assert not Path(args[args.index("-i") + 1]).exists()


def _askpass(env: dict[str, str], prompt: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([env["GIT_ASKPASS"], prompt], env=env, capture_output=True, text=True, check=False)


def test_askpass_answers_username_and_password_from_its_environment(auth: GitAuth) -> None:
    env = auth.environment(RepoCredentials(username="deploy", password="tok"))
    answers = [_askpass(env, "Username for 'https://h': ").stdout, _askpass(env, "Password for 'https://h': ").stdout]
    assert answers == ["deploy\n", "tok\n"]


def test_askpass_refuses_when_there_are_no_credentials(auth: GitAuth) -> None:
    assert _askpass(auth.environment(None), "Username for 'https://h': ").returncode == 1


def test_token_given_as_user_name_counts_as_a_secret() -> None:
    assert RepoCredentials(username="ghp_token").secrets == ("ghp_token",)
