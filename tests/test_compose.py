"""Static checks of the deployment files: docker-compose.yml, Dockerfile, .dockerignore.

No Docker engine is needed: the files are parsed and checked against each other and
against the server's settings, so a renamed setting or a broken wiring fails here.
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

# BAAS_* variables the compose file sets for features that later issues add to Settings.
LATER_ISSUES = {"BAAS_SECRET_KEY", "BAAS_STORAGE_URL"}
LATER_PREFIXES = ("BAAS_S3_",)


def _settings_fields() -> set[str]:
    try:
        from baas.settings import Settings
    except ImportError:
        sys.path.insert(0, str(ROOT))
        from baas.settings import Settings
    return set(Settings.model_fields)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict), "docker-compose.yml must be a mapping"
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    services = compose.get("services")
    assert isinstance(services, dict), "docker-compose.yml has no services mapping"
    return services


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # ["KEY=value", ...]
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _volume_mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, target) of each mount; source is '' for an anonymous volume."""
    mounts = []
    for item in service.get("volumes") or []:
        if isinstance(item, dict):
            mounts.append((str(item.get("source", "")), str(item["target"])))
        else:
            parts = str(item).split(":")
            if len(parts) == 1:
                mounts.append(("", parts[0]))
            else:
                mounts.append((parts[0], parts[1]))
    return mounts


def _is_named(source: str) -> bool:
    return bool(source) and not source.startswith(("/", ".", "~", "$"))


def _strings(node: Any):
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)
    elif isinstance(node, str):
        yield node


def _healthcheck_test(service: dict[str, Any]) -> str:
    check = service.get("healthcheck")
    assert isinstance(check, dict), "no healthcheck"
    assert not check.get("disable"), "healthcheck disabled"
    test = check.get("test")
    assert test, "healthcheck has no test"
    if isinstance(test, list):
        assert test[0] in ("CMD", "CMD-SHELL"), f"healthcheck test must start with CMD: {test}"
        assert len(test) > 1, "healthcheck test has no command"
        return " ".join(str(part) for part in test[1:])
    return str(test)


def _port_pairs(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(published, target) of each port mapping, host IP dropped."""
    pairs = []
    for item in service.get("ports") or []:
        if isinstance(item, dict):
            pairs.append((str(item.get("published", "")), str(item["target"])))
        else:
            spec = str(item).split("/", 1)[0]
            parts = spec.rsplit(":", 2)
            if len(parts) == 1:
                pairs.append(("", parts[0]))
            else:
                pairs.append((parts[-2], parts[-1]))
    return pairs


# -- compose -----------------------------------------------------------------------


def test_compose_spec_has_no_version_key(compose):
    assert "version" not in compose, "the compose spec dropped `version:`; remove it"


def test_services_exist(services):
    for name in ("mongo", "minio", "baas"):
        assert name in services, f"service {name!r} missing"


def test_mongo_is_a_replica_set_with_healthcheck_and_volume(services, compose):
    mongo = services["mongo"]
    assert str(mongo.get("image", "")).startswith("mongo:"), mongo.get("image")
    command = mongo.get("command")
    args = command if isinstance(command, list) else shlex.split(str(command or ""))
    assert "--replSet" in args, f"mongo must run a replica set: {args}"
    replset = args[args.index("--replSet") + 1]
    assert "--bind_ip_all" in args, "mongo must listen beyond loopback inside the network"
    check = _healthcheck_test(mongo)
    assert "rs.initiate" in check, "mongo healthcheck must initiate the replica set"
    assert replset in check, "healthcheck initiates a replica set under another name"
    named = [src for src, dst in _volume_mounts(mongo) if dst == "/data/db" and _is_named(src)]
    assert named, "mongo's /data/db must be a named volume"
    assert named[0] in (compose.get("volumes") or {}), f"volume {named[0]} not declared"


def test_minio_has_credentials_healthcheck_and_volume(services):
    minio = services["minio"]
    assert str(minio.get("image", "")).startswith("minio/minio"), minio.get("image")
    command = minio.get("command")
    args = command if isinstance(command, list) else shlex.split(str(command or ""))
    assert args[:1] == ["server"], f"minio must run `server`: {args}"
    env = _env(minio)
    assert "MINIO_ROOT_USER" in env and "MINIO_ROOT_PASSWORD" in env
    assert _healthcheck_test(minio)
    data = [dst for src, dst in _volume_mounts(minio) if _is_named(src)]
    assert data and args[1] in data, "minio's data dir must be a named volume"


def test_baas_builds_and_waits_for_healthy_dependencies(services):
    baas = services["baas"]
    build = baas.get("build")
    context = build.get("context") if isinstance(build, dict) else build
    assert context in (".", "./"), f"baas must build from the repo root, not {build!r}"
    depends = baas.get("depends_on")
    assert isinstance(depends, dict), "depends_on must use the long form with conditions"
    for name in ("mongo", "minio"):
        assert name in depends, f"baas must depend on {name}"
        assert depends[name].get("condition") == "service_healthy", f"{name} not waited for"
    for name in depends:
        assert name in services, f"baas depends on unknown service {name}"
    assert baas.get("restart") in ("unless-stopped", "always"), baas.get("restart")
    assert "/health" in _healthcheck_test(baas)


def test_baas_uses_mongo_replica_set(services):
    env = _env(services["baas"])
    url = env.get("BAAS_MONGODB_URL", "")
    match = re.match(r"^mongodb://([^/?]+)/?(?:[^?]*)\?(.*)$", url)
    assert match, f"BAAS_MONGODB_URL is not a mongodb:// URL with options: {url!r}"
    hosts = [h.split(":")[0] for h in match.group(1).split("@")[-1].split(",")]
    assert "mongo" in hosts, f"BAAS_MONGODB_URL must point at the mongo service: {url!r}"
    assert "replicaSet=" in match.group(2), "BAAS_MONGODB_URL must name the replica set"
    replset = re.search(r"replicaSet=([^&]+)", match.group(2)).group(1)
    mongo_cmd = services["mongo"]["command"]
    args = mongo_cmd if isinstance(mongo_cmd, list) else shlex.split(mongo_cmd)
    assert args[args.index("--replSet") + 1] == replset, "replica set names differ"


def test_baas_data_dir_is_a_mounted_volume(services):
    baas = services["baas"]
    data_dir = _env(baas).get("BAAS_DATA_DIR")
    assert data_dir, "BAAS_DATA_DIR not set"
    targets = [dst.rstrip("/") for src, dst in _volume_mounts(baas) if src]
    assert data_dir.rstrip("/") in targets, f"{data_dir} is not a mounted volume: {targets}"


def test_baas_listens_on_all_interfaces_and_publishes_its_port(services):
    baas = services["baas"]
    env = _env(baas)
    assert env.get("BAAS_HOST") == "0.0.0.0", "inside a container baas must bind 0.0.0.0"
    port = env.get("BAAS_PORT")
    assert port and port.isdigit(), f"BAAS_PORT must be a number: {port!r}"
    targets = [target for _, target in _port_pairs(baas)]
    assert port in targets, f"no port mapping targets BAAS_PORT={port}: {targets}"
    assert f":{port}/health" in _healthcheck_test(baas), "healthcheck probes another port"


def test_every_variable_is_defaulted_or_required(compose):
    bad = []
    for text in _strings(compose):
        unescaped = text.replace("$$", "")
        for expr in re.findall(r"\$\{([^}]*)\}", unescaped):
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(:-.*|:\?.+)", expr, re.S):
                bad.append(f"${{{expr}}}")
        bad.extend(re.findall(r"\$[A-Za-z_][A-Za-z0-9_]*", unescaped))
    assert not bad, f"variables without a default or a `:?` error: {bad}"


def test_secret_key_is_required_not_defaulted(services):
    value = _env(services["baas"]).get("BAAS_SECRET_KEY", "")
    assert re.fullmatch(r"\$\{BAAS_SECRET_KEY:\?.+\}", value), (
        f"BAAS_SECRET_KEY must fail when unset, never default: {value!r}"
    )


def test_named_volumes_are_declared(compose, services):
    declared = set(compose.get("volumes") or {})
    used = {src for svc in services.values() for src, _ in _volume_mounts(svc) if _is_named(src)}
    assert used, "no named volumes used"
    assert used <= declared, f"undeclared volumes: {sorted(used - declared)}"


def test_s3_credentials_match_minio(services):
    minio_env = _env(services["minio"])
    env = _env(services["baas"])
    assert env.get("BAAS_S3_ACCESS_KEY_ID") == minio_env["MINIO_ROOT_USER"]
    assert env.get("BAAS_S3_SECRET_ACCESS_KEY") == minio_env["MINIO_ROOT_PASSWORD"]
    endpoint = env.get("BAAS_S3_ENDPOINT_URL", "")
    assert re.fullmatch(r"https?://minio:\d+/?", endpoint), endpoint
    assert env.get("BAAS_STORAGE_URL", "").startswith("s3://")


def test_baas_env_vars_are_real_settings(services):
    fields = _settings_fields()
    env = _env(services["baas"])
    names = [name for name in env if name.startswith("BAAS_")]
    assert names, "baas service sets no BAAS_* variables"
    unknown = [
        name
        for name in names
        if name not in LATER_ISSUES
        and not name.startswith(LATER_PREFIXES)
        and name[5:].lower() not in fields
    ]
    assert not unknown, f"not settings (baas would refuse to start): {unknown}"


# -- Dockerfile --------------------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    lines, current = [], ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append(current + stripped)
        current = ""
    if current:
        lines.append(current)
    result = []
    for line in lines:
        keyword, _, args = line.partition(" ")
        result.append((keyword.upper(), args.strip()))
    return result


def _final_stage() -> list[tuple[str, str]]:
    instructions = _instructions()
    starts = [i for i, (kw, _) in enumerate(instructions) if kw == "FROM"]
    assert starts, "Dockerfile has no FROM"
    return instructions[starts[-1]:]


def test_dockerfile_base_image():
    bases = [args.split()[0] for kw, args in _instructions() if kw == "FROM"]
    assert bases[-1] == "python:3.11-slim", f"runtime image must be python:3.11-slim: {bases}"


def test_dockerfile_installs_sdk_and_server():
    instructions = _instructions()
    copied = " ".join(args for kw, args in instructions if kw == "COPY")
    for item in ("pyproject.toml", "README.md", "baas/", "cli/", "sdk/"):
        assert item in copied, f"Dockerfile does not copy {item}"
    installs = [args for kw, args in instructions if kw == "RUN" and "pip install" in args]
    assert installs, "Dockerfile never runs pip install"
    words = shlex.split(installs[-1])
    assert "./sdk" in words, "pip install must include ./sdk (baas depends on baas-sdk)"
    assert "." in words, "pip install must include the server (.)"
    assert "--no-cache-dir" in words


def test_dockerfile_runs_as_non_root():
    stage = _final_stage()
    users = [args for kw, args in stage if kw == "USER"]
    assert users, "final stage has no USER; the server would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), f"USER {user} is root"
    run = " ".join(args for kw, args in stage if kw == "RUN")
    assert re.search(r"useradd\b.*--uid 10001\b.*\b" + re.escape(user) + r"\b", run), (
        f"user {user} not created with uid 10001"
    )
    assert re.search(r"chown\b.*\b" + re.escape(user) + r"\b.*\s/data\b", run), (
        "/data must be owned by the runtime user"
    )


def test_dockerfile_env_expose_healthcheck_cmd():
    stage = _final_stage()
    env = " ".join(args for kw, args in stage if kw == "ENV")
    for pair in ("BAAS_DATA_DIR=/data", "BAAS_HOST=0.0.0.0", "BAAS_PORT=8080"):
        assert pair in env.split(), f"ENV {pair} missing"
    exposed = " ".join(args for kw, args in stage if kw == "EXPOSE").split()
    assert "8080" in exposed or "8080/tcp" in exposed, f"EXPOSE 8080 missing: {exposed}"
    checks = [args for kw, args in stage if kw == "HEALTHCHECK"]
    assert checks and checks[-1].upper() != "NONE", "HEALTHCHECK missing"
    assert "urllib" in checks[-1] and "/health" in checks[-1], checks[-1]
    assert "curl" not in checks[-1], "python:3.11-slim has no curl"
    cmds = [args for kw, args in stage if kw == "CMD"]
    assert cmds and cmds[-1] == '["baas", "serve"]', cmds


def test_dockerignore_keeps_local_state_out():
    patterns = {
        line.strip().rstrip("/")
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    for pattern in (".git", ".venv", "venv", "baas-data", "**/__pycache__", ".pytest_cache"):
        assert pattern in patterns, f".dockerignore must exclude {pattern}"
    for needed in ("baas", "cli", "sdk", "pyproject.toml", "README.md"):
        assert needed not in patterns, f".dockerignore excludes {needed}, which the build copies"
