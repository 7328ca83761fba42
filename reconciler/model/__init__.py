"""Argo CD `Application` and `AppProject` models (argoproj.io/v1alpha1).

    types            the frozen dataclasses the rest of the core reads (never raw YAML)
    parse            parsing and validation: parse_manifests, load_file, parse_application, parse_project
    parse_source     spec.source / spec.sources and their tool options (every field works or is refused)
    yaml_reader      the line-tracking YAML reader parse builds on
    serialize        back to manifests: application_to_manifest, project_to_manifest, with_source
    durations, retry Go durations and the retry arithmetic of failed syncs
    default_project  Argo CD's built-in `default` project
    resources        the identity of a Kubernetes object (ResourceKey) and tracking marks

Choices where Argo CD leaves room (each checked against its source):
- `spec.project` may be omitted: Argo CD reads an empty project as `default`.
- `spec.source.path` is required unless `chart` is set; "." is the repository root.
- A `retry` block replaces Argo CD's automated default (limit 5) as a whole, so a
  block without `limit` means no retries; `automated:` with no value is off.
- Application names are at most 63 characters: the name is a label value on every
  resource the app owns (Argo CD allows 253 with annotation tracking).
- Unknown fields are kept, except in a source (`spec.source`, `spec.sources[]` and their
  helm/kustomize/directory sections): there a field not applied is refused by name, since
  it would change what gets deployed.
"""

from reconciler.core.durations import format_duration, parse_duration
from reconciler.model.default_project import default_project
from reconciler.model.errors import Problem, SpecError
from reconciler.model.parse import load_file, parse_application, parse_manifests, parse_project
from reconciler.model.retry import effective_retry, retry_delay, should_retry
from reconciler.model.serialize import application_to_manifest, project_to_manifest, recorded_source, with_source
from reconciler.model.types import *  # noqa: F403
from reconciler.model.types import __all__ as _type_names

__all__ = [
    *_type_names,
    "Problem",
    "SpecError",
    "application_to_manifest",
    "default_project",
    "effective_retry",
    "format_duration",
    "load_file",
    "parse_application",
    "parse_duration",
    "parse_manifests",
    "parse_project",
    "project_to_manifest",
    "recorded_source",
    "retry_delay",
    "should_retry",
    "with_source",
]
