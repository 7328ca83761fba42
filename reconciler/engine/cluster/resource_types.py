"""Served resource types as discovery reports them, and the kinds no GitOps app owns."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.model.resources import split_api_version

DEFAULT_FIELD_MANAGER = "gitops-reconciler"
DISCOVERY_MAX_AGE_SECONDS = 60.0
# Kinds no GitOps app owns: listing them for prune candidates only costs requests.
UNTRACKED_KINDS = frozenset(
    {
        ("", "Event"),
        ("events.k8s.io", "Event"),
        ("", "Endpoints"),
        ("discovery.k8s.io", "EndpointSlice"),
        ("", "Binding"),
        ("", "ComponentStatus"),
        ("coordination.k8s.io", "Lease"),
        ("authentication.k8s.io", "TokenReview"),
        ("authorization.k8s.io", "SubjectAccessReview"),
        ("authorization.k8s.io", "SelfSubjectAccessReview"),
        ("authorization.k8s.io", "LocalSubjectAccessReview"),
        ("authorization.k8s.io", "SelfSubjectRulesReview"),
    }
)



@dataclass(frozen=True)
class ResourceType:
    api_version: str
    kind: str
    plural: str
    namespaced: bool
    verbs: tuple[str, ...]

    @property
    def group(self) -> str:
        return split_api_version(self.api_version)[0]


