"""Query parameters of API requests, decoded the way kube-apiserver decodes them."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs

from kubesim.errors import BadRequest, FieldError, Invalid

# Verb -> the options kind named in its validation errors (`CreateOptions.meta.k8s.io "" is invalid`).
OPTIONS_KIND = {"create": "CreateOptions", "update": "UpdateOptions", "patch": "PatchOptions",
                "apply": "PatchOptions", "delete": "DeleteOptions", "deletecollection": "DeleteOptions"}


def parse_bool(value: str | None) -> bool:
    """As apimachinery's Convert_Slice_string_To_bool: only "0" and "false" (any case) are false."""
    if value is None:
        return False
    return not (value == "0" or value.lower() == "false")


@dataclass
class Params:
    label_selector: str = ""
    field_selector: str = ""
    limit: int = 0
    continue_token: str = ""
    resource_version: str | None = None
    resource_version_match: str = ""
    timeout_seconds: float | None = None
    watch: bool = False
    allow_watch_bookmarks: bool = False
    send_initial_events: bool = False
    dry_run: list[str] | None = None
    field_manager: str = ""
    force: bool | None = None
    propagation_policy: str = ""
    grace_period_seconds: int | None = None
    pretty: bool = False
    field_validation: str = ""
    include_object: str = ""

    @property
    def is_dry_run(self) -> bool:
        return bool(self.dry_run)


def _int(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f'strconv.ParseInt: parsing "{value}": invalid syntax (query parameter "{name}")') \
            from None


def parse_params(query: str) -> Params:
    """Decode a raw query string; malformed numbers are a 400 naming the parameter."""
    params = Params()
    if not query:
        return params
    raw = parse_qs(query, keep_blank_values=True)
    first = {k: v[0] for k, v in raw.items()}
    params.label_selector = first.get("labelSelector", "")
    params.field_selector = first.get("fieldSelector", "")
    if first.get("limit"):
        params.limit = max(_int("limit", first["limit"]), 0)
    params.continue_token = first.get("continue", "")
    params.resource_version = first.get("resourceVersion")
    params.resource_version_match = first.get("resourceVersionMatch", "")
    if first.get("timeoutSeconds"):
        params.timeout_seconds = float(_int("timeoutSeconds", first["timeoutSeconds"]))
    params.watch = parse_bool(first.get("watch"))
    params.allow_watch_bookmarks = parse_bool(first.get("allowWatchBookmarks"))
    params.send_initial_events = parse_bool(first.get("sendInitialEvents"))
    if "dryRun" in raw:
        params.dry_run = [v for v in raw["dryRun"] if v != ""] or None
    params.field_manager = first.get("fieldManager", "")
    params.field_validation = first.get("fieldValidation", "")
    params.include_object = first.get("includeObject", "")
    if "force" in first:
        params.force = parse_bool(first["force"])
    params.propagation_policy = first.get("propagationPolicy", "")
    if first.get("gracePeriodSeconds"):
        params.grace_period_seconds = _int("gracePeriodSeconds", first["gracePeriodSeconds"])
    return params


def validate_write_options(params: Params, verb: str) -> None:
    """Options validation the API server runs before touching storage (422 on the options kind)."""
    errors: list[FieldError] = []
    if params.dry_run and any(v != "All" for v in params.dry_run):
        errors.append(FieldError("dryRun", f"Unsupported value: {_go_slice(params.dry_run)}: "
                                           'supported values: "All"'))
    if verb == "apply" and not params.field_manager:
        errors.append(FieldError.required("fieldManager", "is required for apply patch"))
    if verb == "patch" and params.force is not None:
        errors.append(FieldError.forbidden("force", "may not be specified for non-apply patch"))
    if len(params.field_manager) > 128:
        errors.append(FieldError.invalid("fieldManager", params.field_manager,
                                         "must be less than 128 characters"))
    if verb in ("delete", "deletecollection") and params.propagation_policy and params.propagation_policy not in (
            "Orphan", "Background", "Foreground"):
        errors.append(FieldError("propagationPolicy", f'Unsupported value: "{params.propagation_policy}": '
                                                      'supported values: "Foreground", "Background", "Orphan"'))
    if errors:
        raise Invalid(OPTIONS_KIND.get(verb, "CreateOptions"), "", errors, group="meta.k8s.io")


def _go_slice(values: list[str]) -> str:
    return "[]string{" + ", ".join(f'"{v}"' for v in values) + "}"
