"""The ApplicationSet examples of Argo CD's documentation (operator-manual/applicationset,
Generators-*.md) produce the Applications and parameters the documentation says, through
`appset generate` (generate_preview): real git repositories laid out as the examples' folders,
cluster Secrets registered as the documentation declares them, real Redis."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from reconciler.control.appsets.actions import GenerateFailed, generate_preview, register_clusters
from reconciler.control.catalog import register
from reconciler.model import parse_manifests
from reconciler.services import Services
from tests.appsets.conftest import app_template, appset
from tests.conftest import GitRepo

ARGO = "https://github.com/argoproj/argo-cd.git"


def cluster_secret(name: str, server: str, labels: dict[str, str]) -> str:
    label_lines = "".join(f"    {k}: '{v}'\n" for k, v in labels.items())
    return (
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}-secret\n  namespace: argocd\n  labels:\n"
        f"    argocd.argoproj.io/secret-type: cluster\n{label_lines}type: Opaque\n"
        f"stringData:\n  name: {name}\n  server: {server}\n"
    )


def add_clusters(services: Services, *secrets: str) -> None:
    register_clusters(services.store, parse_manifests("---\n".join(secrets)))


def by_name(apps: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {a["metadata"]["name"]: a for a in apps if not a.get("refused")}


def test_list_generator_guestbook(services: Services) -> None:
    """Generators-List.md: one app per element, `{{cluster}}` and `{{url}}` substituted."""
    spec = appset(
        "guestbook",
        [
            {
                "list": {
                    "elements": [
                        {"cluster": "engineering-dev", "url": "https://kubernetes.default.svc"},
                        {"cluster": "engineering-prod", "url": "https://kubernetes.default.svc", "foo": "bar"},
                    ]
                }
            }
        ],
        app_template(
            "{{cluster}}-guestbook",
            "applicationset/examples/list-generator/guestbook/{{cluster}}",
            "guestbook",
            server="{{url}}",
            repo=ARGO,
        ),
    )
    apps = by_name(generate_preview(services, spec))
    assert sorted(apps) == ["engineering-dev-guestbook", "engineering-prod-guestbook"]
    dev = apps["engineering-dev-guestbook"]["spec"]
    assert dev["source"]["path"] == "applicationset/examples/list-generator/guestbook/engineering-dev"
    assert dev["destination"] == {"server": "https://kubernetes.default.svc", "namespace": "guestbook"}


@pytest.fixture
def addons_repo(git_repo_factory: Callable[..., GitRepo]) -> GitRepo:
    base = "applicationset/examples/git-generator-directory"
    return git_repo_factory(
        {
            f"{base}/cluster-addons/argo-workflows/kustomization.yaml": "resources: []\n",
            f"{base}/cluster-addons/prometheus-operator/Chart.yaml": "name: p\n",
            f"{base}/excludes/cluster-addons/argo-workflows/kustomization.yaml": "resources: []\n",
            f"{base}/excludes/cluster-addons/exclude-helm-guestbook/Chart.yaml": "name: g\n",
            f"{base}/excludes/cluster-addons/prometheus-operator/Chart.yaml": "name: p\n",
            f"{base}/cluster-addons/.hidden/x.yaml": "a: 1\n",
        }
    )


def test_git_directory_generator_cluster_addons(services: Services, addons_repo: GitRepo) -> None:
    """Generators-Git.md: an app per directory matching the path; `.`-folders are never matched."""
    base = "applicationset/examples/git-generator-directory"
    for go in (False, True):
        name, path = ("{{.path.basename}}", "{{.path.path}}") if go else ("{{path.basename}}", "{{path}}")
        spec = appset(
            "cluster-addons",
            [
                {
                    "git": {
                        "repoURL": addons_repo.url,
                        "revision": "HEAD",
                        "directories": [{"path": f"{base}/cluster-addons/*"}],
                    }
                }
            ],
            app_template(name, path, name, repo=ARGO),
            goTemplate=go,
        )
        apps = by_name(generate_preview(services, spec))
        assert sorted(apps) == ["argo-workflows", "prometheus-operator"]
        assert apps["argo-workflows"]["spec"]["source"]["path"] == f"{base}/cluster-addons/argo-workflows"
        assert apps["argo-workflows"]["spec"]["destination"]["namespace"] == "argo-workflows"


def test_git_directory_generator_exclude_wins_over_include(services: Services, addons_repo: GitRepo) -> None:
    base = "applicationset/examples/git-generator-directory/excludes/cluster-addons"
    spec = appset(
        "cluster-addons",
        [
            {
                "git": {
                    "repoURL": addons_repo.url,
                    "revision": "HEAD",
                    "directories": [
                        {"path": f"{base}/*"},
                        {"path": f"{base}/exclude-helm-guestbook", "exclude": True},
                    ],
                }
            }
        ],
        app_template("{{path.basename}}", "{{path}}", "{{path.basename}}", repo=ARGO),
    )
    assert sorted(by_name(generate_preview(services, spec))) == ["argo-workflows", "prometheus-operator"]


def test_git_file_generator_cluster_config(services: Services, git_repo_factory: Callable[..., GitRepo]) -> None:
    """Generators-Git.md: each config.json's fields flattened (`cluster.name`, ...) plus `path` params."""
    base = "applicationset/examples/git-generator-files-discovery"
    config = {
        "aws_account": "123456",
        "asset_id": "11223344",
        "cluster": {"owner": "cluster-admin@company.com", "name": "engineering-dev", "address": "https://1.2.3.4"},
    }
    prod = {**config, "cluster": {**config["cluster"], "name": "engineering-prod", "address": "https://2.4.6.8"}}
    repo = git_repo_factory(
        {
            f"{base}/cluster-config/engineering/dev/config.json": json.dumps(config),
            f"{base}/cluster-config/engineering/prod/config.json": json.dumps(prod),
        }
    )
    template = app_template(
        "{{cluster.name}}-guestbook", f"{base}/apps/guestbook", "guestbook", server="{{cluster.address}}", repo=ARGO
    )
    template["metadata"]["labels"] = {
        "account": "{{aws_account}}",
        "dir": "{{path.basename}}",
        "file": "{{path.filename}}",
        "first": "{{path[0]}}",
    }
    spec = appset(
        "guestbook",
        [
            {
                "git": {
                    "repoURL": repo.url,
                    "revision": "HEAD",
                    "files": [{"path": f"{base}/cluster-config/**/config.json"}],
                }
            }
        ],
        template,
    )
    apps = by_name(generate_preview(services, spec))
    assert sorted(apps) == ["engineering-dev-guestbook", "engineering-prod-guestbook"]
    dev = apps["engineering-dev-guestbook"]
    assert dev["spec"]["destination"]["server"] == "https://1.2.3.4"
    assert dev["metadata"]["labels"] == {
        "account": "123456",
        "dir": "dev",
        "file": "config.json",
        "first": "applicationset",
    }


def test_git_file_generator_reads_yaml_files_and_a_yaml_list_gives_one_app_per_item(
    services: Services, git_repo_factory: Callable[..., GitRepo]
) -> None:
    """Generators-Git.md: files may be YAML as well as JSON; a file holding a list gives a
    parameter set per element (each with the file's `path` params)."""
    repo = git_repo_factory({
        "envs/dev/config.yaml": "cluster:\n  name: dev\n  address: https://1.1.1.1\n",
        "envs/many/config.yaml": "- cluster: {name: qa, address: https://2.2.2.2}\n"
                                 "- cluster: {name: stage, address: https://3.3.3.3}\n",
    })  # fmt: skip
    template = app_template("{{cluster.name}}-{{path.basename}}", "p", "n", server="{{cluster.address}}")
    spec = appset("envs", [{"git": {"repoURL": repo.url, "revision": "HEAD",
                                    "files": [{"path": "envs/*/config.yaml"}]}}], template)  # fmt: skip
    apps = by_name(generate_preview(services, spec))
    assert sorted(apps) == ["dev-dev", "qa-many", "stage-many"]
    assert apps["stage-many"]["spec"]["destination"]["server"] == "https://3.3.3.3"


def test_cluster_generator_selects_cluster_secrets_by_label_and_adds_values(services: Services) -> None:
    """Generators-Cluster.md: labels select Secrets; `values` are rendered with each cluster's params;
    the in-cluster cluster is included only when no selector is given."""
    add_clusters(
        services,
        cluster_secret("staging", "https://1.2.3.4", {"staging": "true"}),
        cluster_secret("production", "https://2.4.6.8", {"env": "prod"}),
    )
    template = app_template(
        "{{name}}-guestbook",
        "guestbook",
        "guestbook",
        server="{{server}}",
        repo="https://github.com/argoproj/argocd-example-apps/",
    )
    template["spec"]["source"]["targetRevision"] = "{{values.revision}}"
    selected = appset(
        "guestbook",
        [{"clusters": {"selector": {"matchLabels": {"staging": "true"}}, "values": {"revision": "{{name}}-branch"}}}],
        template,
    )
    apps = by_name(generate_preview(services, selected))
    assert list(apps) == ["staging-guestbook"]
    assert apps["staging-guestbook"]["spec"]["source"]["targetRevision"] == "staging-branch"
    everything = appset(
        "guestbook",
        [{"clusters": {}}],
        app_template("{{name}}-guestbook", "guestbook", "guestbook", server="{{server}}"),
    )
    assert sorted(by_name(generate_preview(services, everything))) == [
        "in-cluster-guestbook",
        "production-guestbook",
        "staging-guestbook",
    ]


def test_cluster_generator_selects_by_match_expressions_as_a_label_selector_does(services: Services) -> None:
    """Generators-Cluster.md: `matchExpressions` (In, NotIn, Exists, DoesNotExist), all of them
    and `matchLabels` must hold; a selector never picks the in-cluster cluster (no Secret, no labels)."""
    add_clusters(
        services,
        cluster_secret("dev", "https://1.1.1.1", {"env": "dev", "tier": "edge"}),
        cluster_secret("qa", "https://2.2.2.2", {"env": "qa"}),
        cluster_secret("prod", "https://3.3.3.3", {"env": "prod", "tier": "edge", "frozen": "true"}),
    )

    def picked(selector: dict[str, Any]) -> list[str]:
        spec = appset("s", [{"clusters": {"selector": selector}}],
                      app_template("{{name}}-app", "p", "n", server="{{server}}"))  # fmt: skip
        return sorted(by_name(generate_preview(services, spec)))

    def expression(key: str, operator: str, *values: str) -> dict[str, Any]:
        return {"matchExpressions": [{"key": key, "operator": operator, "values": list(values)}]}

    assert picked(expression("env", "In", "dev", "qa")) == ["dev-app", "qa-app"]
    assert picked(expression("env", "NotIn", "dev")) == ["prod-app", "qa-app"]
    assert picked(expression("tier", "Exists")) == ["dev-app", "prod-app"]
    assert picked(expression("frozen", "DoesNotExist")) == ["dev-app", "qa-app"]
    both = {"matchLabels": {"tier": "edge"}, **expression("frozen", "DoesNotExist")}
    assert picked(both) == ["dev-app"]


def test_matrix_git_directories_times_clusters(services: Services, addons_repo: GitRepo) -> None:
    """Generators-Matrix.md: every addon on every staging cluster, '{{path.basename}}-{{name}}'."""
    add_clusters(
        services,
        cluster_secret("staging", "https://1.2.3.4", {"argocd.argoproj.io/secret-type": "cluster", "env": "staging"}),
        cluster_secret("production", "https://2.4.6.8", {"env": "prod"}),
    )
    base = "applicationset/examples/git-generator-directory/cluster-addons"
    spec = appset(
        "cluster-git",
        [
            {
                "matrix": {
                    "generators": [
                        {
                            "git": {
                                "repoURL": addons_repo.url,
                                "revision": "HEAD",
                                "directories": [{"path": f"{base}/*"}],
                            }
                        },
                        {"clusters": {"selector": {"matchLabels": {"env": "staging"}}}},
                    ]
                }
            }
        ],
        app_template("{{path.basename}}-{{name}}", "{{path}}", "{{path.basename}}", server="{{server}}", repo=ARGO),
    )
    apps = by_name(generate_preview(services, spec))
    assert sorted(apps) == ["argo-workflows-staging", "prometheus-operator-staging"]
    assert apps["argo-workflows-staging"]["spec"]["destination"]["server"] == "https://1.2.3.4"


def test_matrix_second_generator_uses_the_first_ones_parameters(
    services: Services, git_repo_factory: Callable[..., GitRepo]
) -> None:
    """Generators-Matrix.md: a git files generator whose path comes from a list element."""
    repo = git_repo_factory({"apps/a/config.json": '{"replicas": "2"}', "apps/b/config.json": '{"replicas": "3"}'})
    spec = appset(
        "s",
        [
            {
                "matrix": {
                    "generators": [
                        {"list": {"elements": [{"app": "a"}, {"app": "b"}]}},
                        {
                            "git": {
                                "repoURL": repo.url,
                                "revision": "HEAD",
                                "files": [{"path": "apps/{{app}}/config.json"}],
                            }
                        },
                    ]
                }
            }
        ],
        app_template("{{app}}-{{replicas}}", "{{path}}", "n"),
    )
    assert sorted(by_name(generate_preview(services, spec))) == ["a-2", "b-3"]


def test_merge_generator_documentation_example(services: Services) -> None:
    """Generators-Merge.md: staging gets kafka false (label use-kafka=false), production redis true (list)."""
    add_clusters(
        services,
        cluster_secret("staging", "https://1.2.3.4", {"use-kafka": "false", "environment": "staging"}),
        cluster_secret("production", "https://2.4.6.8", {"environment": "production"}),
    )
    register(
        services.store,
        parse_manifests(
            "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata: {name: staging}\n"
            "spec: {sourceRepos: ['*'], destinations: [{server: '*', namespace: '*'}]}\n---\n"
            "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata: {name: production}\n"
            "spec: {sourceRepos: ['*'], destinations: [{server: '*', namespace: '*'}]}\n"
        ),
    )
    template = app_template(
        "{{name}}", "app", "default", server="{{server}}", repo=ARGO, project="{{metadata.labels.environment}}"
    )
    template["spec"]["source"]["helm"] = {
        "parameters": [{"name": "kafka", "value": "{{values.kafka}}"}, {"name": "redis", "value": "{{values.redis}}"}]
    }
    spec = appset(
        "cluster-git",
        [
            {
                "merge": {
                    "mergeKeys": ["server"],
                    "generators": [
                        {"clusters": {"values": {"kafka": "true", "redis": "false"}}},
                        {
                            "clusters": {
                                "selector": {"matchLabels": {"use-kafka": "false"}},
                                "values": {"kafka": "false"},
                            }
                        },
                        {"list": {"elements": [{"server": "https://2.4.6.8", "values.redis": "true"}]}},
                    ],
                }
            }
        ],
        template,
    )
    produced = generate_preview(services, spec)
    apps = by_name(produced)
    params = {
        name: {p["name"]: p["value"] for p in app["spec"]["source"]["helm"]["parameters"]}
        for name, app in apps.items()
    }
    assert params == {
        "staging": {"kafka": "false", "redis": "false"},
        "production": {"kafka": "true", "redis": "true"},
    }
    # Argo CD's cluster generator also yields the in-cluster cluster; its project placeholder stays
    # unrendered (no label), so the app is refused and shown, never silently dropped.
    [refused] = [a for a in produced if a.get("refused")]
    assert refused["metadata"]["name"] == "in-cluster" and "does not exist" in refused["refused"]


def test_post_selector_filters_list_elements(services: Services) -> None:
    """Generators-Post-Selector.md: matchLabels env=staging keeps engineering-dev only."""
    spec = appset(
        "s",
        [
            {
                "list": {
                    "elements": [
                        {"cluster": "engineering-dev", "url": "https://kubernetes.default.svc", "env": "staging"},
                        {"cluster": "engineering-prod", "url": "https://kubernetes.default.svc", "env": "prod"},
                    ]
                },
                "selector": {"matchExpressions": [{"key": "env", "operator": "In", "values": ["staging"]}]},
            }
        ],
        app_template("{{cluster}}", "p", "n", server="{{url}}"),
    )
    assert list(by_name(generate_preview(services, spec))) == ["engineering-dev"]


def test_generator_template_override_wins_over_the_set_template(services: Services) -> None:
    """Template.md (generator templates): the generator's template fields win, the rest come from the set's."""
    spec = appset(
        "s",
        [
            {
                "list": {
                    "elements": [{"cluster": "engineering-dev"}],
                    "template": {
                        "metadata": {},
                        "spec": {
                            "project": "default",
                            "source": {
                                "repoURL": ARGO,
                                "targetRevision": "HEAD",
                                "path": "applicationset/examples/template-override/{{cluster}}-override",
                            },
                            "destination": {},
                        },
                    },
                }
            }
        ],
        app_template("{{cluster}}-guestbook", "applicationset/examples/template-override/default", "guestbook"),
    )
    [app] = generate_preview(services, spec)
    assert app["metadata"]["name"] == "engineering-dev-guestbook"
    assert app["spec"]["source"]["path"] == "applicationset/examples/template-override/engineering-dev-override"
    assert app["spec"]["destination"]["namespace"] == "guestbook"


def test_a_template_that_resolves_to_a_forbidden_destination_is_refused_with_the_apps_name(
    services: Services,
) -> None:
    register(
        services.store,
        parse_manifests(
            "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata: {name: team}\n"
            "spec: {sourceRepos: ['*'], destinations: [{server: '*', namespace: 'team-*'}]}\n"
        ),
    )
    spec = appset(
        "s",
        [{"list": {"elements": [{"ns": "team-a"}, {"ns": "kube-system"}]}}],
        app_template("app-{{ns}}", "p", "{{ns}}", project="team"),
    )
    produced = generate_preview(services, spec)
    assert [a["metadata"]["name"] for a in produced if not a.get("refused")] == ["app-team-a"]
    [refused] = [a for a in produced if a.get("refused")]
    assert "app-kube-system" in refused["refused"] and "not permitted" in refused["refused"]


def test_a_generator_error_names_the_generator(services: Services) -> None:
    spec = appset(
        "s",
        [{"git": {"repoURL": "file:///nonexistent/repo", "revision": "HEAD", "directories": [{"path": "*"}]}}],
        app_template("{{path}}", "p", "n"),
    )
    with pytest.raises(GenerateFailed) as raised:
        generate_preview(services, spec)
    assert "spec.generators[0].git" in str(raised.value)


def test_the_example_application_set_makes_one_app_per_folder_of_the_demo_repository(
    services: Services, seed_repo: GitRepo
) -> None:
    from pathlib import Path

    import yaml

    example = Path(__file__).resolve().parents[2] / "examples" / "applicationsets" / "apps-per-folder.yaml"
    manifest = yaml.safe_load(example.read_text().replace("https://github.com/your-org/k8s-config", seed_repo.url))
    apps = by_name(generate_preview(services, manifest))
    assert sorted(apps) == ["api-preview", "worker-preview"]
    assert apps["api-preview"]["spec"]["source"]["path"] == "apps/api"
    assert apps["api-preview"]["spec"]["destination"]["namespace"] == "api-preview"
