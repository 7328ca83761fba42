"""Argo CD's glob dialects, from gobwas/glob's documented examples (Argo CD's util/glob) and Go's
path/filepath.Match (AppProject resource lists), plus the Argo CD project docs' patterns."""

from __future__ import annotations

import pytest

from reconciler.core.globs import GlobError, compile_glob, compile_kind_pattern, glob_error, glob_match, kind_match

GOBWAS_CASES = [
    # gobwas/glob README
    ("*.github.com", "", "api.github.com", True),
    ("*.github.com", ".", "api.github.com", True),
    ("*.github.com", ".", "api.gi.github.com", False),
    ("{https,http}://*.github.com", "", "https://api.github.com", True),
    ("{https,http}://*.github.com", "", "ftp://api.github.com", False),
    ("[abc]at", "", "cat", True),
    ("[abc]at", "", "fat", False),
    ("[abc]at", "", "at", False),
    ("[!abc]at", "", "fat", True),
    ("[!abc]at", "", "cat", False),
    ("[a-c]at", "", "bat", True),
    ("[!a-c]at", "", "bat", False),
    ("[!a-c]at", "", "fat", True),
    ("api.*.com", ".", "api.github.com", True),
    ("api.*.com", ".", "api.gi.hub.com", False),
    ("api.**.com", ".", "api.gi.hub.com", True),
    ("google.*", "", "google.com", True),
    ("?at", "", "cat", True),
    ("?at", "", "at", False),
    # `^` is an ordinary character in gobwas brackets; only `!` negates
    ("[^a]b", "", "cb", False),
    ("[^a]b", "", "^b", True),
    ("[^a]b", "", "ab", True),
    # `}` and `,` are ordinary outside braces; a trailing backslash is dropped
    ("x}", "", "x}", True),
    ("a,b", "", "a,b", True),
    ("a\\", "", "a", True),
    ("a\\*", "", "a*", True),
    ("a\\*", "", "ab", False),
    # braces nest and hold wildcards
    ("{a,b{c,d*}}", "", "bdzz", True),
    ("{a,b{c,d*}}", "", "bc", True),
    ("{a,b{c,d*}}", "", "b", False),
    # Argo CD's project docs
    ("https://github.com/argoproj/*", "", "https://github.com/argoproj/argo-cd", True),
    ("team1-*", "", "team1-prod", True),
    ("*", "", "https://kubernetes.default.svc", True),
]


@pytest.mark.parametrize(("pattern", "separators", "text", "matches"), GOBWAS_CASES)
def test_argo_cd_glob(pattern: str, separators: str, text: str, matches: bool):
    assert glob_match(pattern, text, separators) is matches


@pytest.mark.parametrize(
    ("pattern", "why"), [("[abc", "never closed"), ("{a,b", "never closed"), ("[a-z0]", "one range")]
)
def test_a_glob_argo_cd_cannot_read_matches_nothing_and_says_why(pattern: str, why: str):
    assert glob_match(pattern, "a") is False
    assert why in (glob_error(pattern) or "")
    with pytest.raises(GlobError):
        compile_glob(pattern)


KIND_CASES = [
    ("*", "Deployment", True),
    ("Config*", "ConfigMap", True),
    ("*.k8s.io", "rbac.authorization.k8s.io", True),
    ("?ecret", "Secret", True),
    ("[^S]ecret", "Secret", False),  # Go negates with ^
    ("[!S]ecret", "Secret", True),  # ... and `!` is just a character in the class
    ("[A-CS]ecret", "Secret", True),  # several ranges in one class
    ("{a,b}", "a", False),  # no braces in filepath.Match
    ("{a,b}", "{a,b}", True),
    ("*", "a/b", False),  # `*` never crosses the separator
    ("", "", True),
]


@pytest.mark.parametrize(("pattern", "name", "matches"), KIND_CASES)
def test_resource_kind_patterns_as_go_filepath_match(pattern: str, name: str, matches: bool):
    assert kind_match(pattern, name) is matches


@pytest.mark.parametrize("pattern", ["[", "a\\", "[]a]", "[z-a]", "[a-"])
def test_a_kind_pattern_go_refuses_matches_nothing(pattern: str):
    assert kind_match(pattern, "a") is False
    with pytest.raises(GlobError):
        compile_kind_pattern(pattern)
