"""The deployment, checked without a Docker engine: compose file against the Compose
Specification, nginx -t, shellcheck, hadolint, the EC2 script's plan, the bundle logic."""

from __future__ import annotations

import inspect
import ipaddress
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import uvicorn
import yaml  # type: ignore[import-untyped]
from cryptography.fernet import Fernet
from pydantic import SecretStr

from backend.config import AuthSettings, CryptoSettings, Settings, resolve_secrets
from backend.worker import ALIVE_FILE
from tests.deploy.nginx_harness import metrics_include, nginx_binary, render

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SCRIPTS = sorted(
    [*ROOT.glob("scripts/*.sh"), *ROOT.glob("scripts/lib/*.sh"), ROOT / ".ci/run", ROOT / "nginx/40-sextant-conf.sh"]
)
DOCKERFILES = [ROOT / "docker/backend.Dockerfile", ROOT / "docker/embedding.Dockerfile", ROOT / "nginx/Dockerfile"]


def run(
    *args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, env=env)


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


@pytest.mark.parametrize("compose_file", ["docker-compose.yml", "docker-compose.gpu.yml"])
def test_compose_files_follow_the_compose_specification(compose_file: str) -> None:
    result = run(BIN / "check-jsonschema", "--builtin-schema", "vendor.compose-spec", ROOT / compose_file)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_gpu_override_reserves_nvidia_gpus_for_ollama_only() -> None:
    override: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.gpu.yml").read_text())
    assert set(override["services"]) == {"ollama"} and "ollama" in compose()["services"]
    (device,) = override["services"]["ollama"]["deploy"]["resources"]["reservations"]["devices"]
    assert device == {"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}


def test_ollama_is_a_profile_on_by_default_that_the_backend_does_not_require() -> None:
    services: dict[str, dict[str, Any]] = compose()["services"]
    in_profile = {name for name, service in services.items() if service.get("profiles")}
    assert in_profile == {"ollama", "ollama-pull", "prometheus", "grafana", "worker"}
    assert services["worker"]["profiles"] == ["workers"]
    assert all(services[name]["profiles"] == ["ollama"] for name in ("ollama", "ollama-pull"))
    assert all(services[name]["profiles"] == ["monitoring"] for name in ("prometheus", "grafana"))
    # Left out (COMPOSE_PROFILES empty), Ollama is not waited for; present, it must be healthy first.
    assert services["backend"]["depends_on"]["ollama"] == {"condition": "service_healthy", "required": False}
    for name, service in services.items():
        for dependency, rule in (service.get("depends_on") or {}).items():
            if dependency in in_profile and name not in in_profile:
                assert rule.get("required") is False, (name, dependency)
    example = dict(
        line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines() if re.match(r"^[A-Z_]+=", line)
    )
    assert example["COMPOSE_PROFILES"] == "ollama" and example["LLM_PROVIDER"] == "ollama"


def test_compose_services_are_healthchecked_limited_and_only_nginx_is_published() -> None:
    services: dict[str, dict[str, Any]] = compose()["services"]
    assert set(services) == {
        "postgres", "embedding", "redis", "ollama", "ollama-pull", "backend", "worker", "nginx", "prometheus",
        "grafana",
    }  # fmt: skip
    for name, service in services.items():
        assert "mem_limit" in service, name
        if name == "ollama-pull":
            assert service["restart"] == "no"
            continue
        assert "healthcheck" in service, name
        assert service.get("restart") == "unless-stopped", name
        for dependency in (service.get("depends_on") or {}).values():
            assert dependency["condition"] == "service_healthy", name
        assert ("ports" in service) == (name in ("nginx", "grafana")), name
    # Grafana (monitoring profile) is published on the loopback only: reached through an SSH tunnel.
    assert services["grafana"]["ports"] == ["127.0.0.1:${GRAFANA_PORT:-3000}:3000"]
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "ollama:/root/.ollama" in services["ollama"]["volumes"]
    backend_env: dict[str, str] = services["backend"]["environment"]
    assert backend_env["SEXTANT_ENV"] == "production" and backend_env["MIGRATE_ON_START"] == "true"
    # environment beats env_file: .env's make-run data directory must not move the store's files off the volume.
    assert backend_env["SEXTANT_DATA_DIR"] == "/data" and "backend-data:/data" in services["backend"]["volumes"]
    assert services["postgres"]["image"].startswith("pgvector/pgvector:")
    # Redis: a pinned image, nothing kept on disk, memory bounded, the backend pointed at it.
    redis = services["redis"]
    assert re.fullmatch(r"redis:\d+\.\d+\.\d+-alpine", redis["image"]), redis["image"]
    assert redis["command"][redis["command"].index("--save") + 1] == "" and "--maxmemory" in redis["command"]
    assert backend_env["REDIS_URL"] == "${REDIS_URL-redis://redis:6379/0}"
    assert services["backend"]["depends_on"]["redis"] == {"condition": "service_healthy"}
    # The worker: the backend's image and store, its own command, on whatever .env says of the backend.
    worker = services["worker"]
    assert worker["image"] == services["backend"]["image"] and worker["command"] == ["python", "-m", "backend.worker"]
    assert worker["environment"]["DATABASE_URL"] == backend_env["DATABASE_URL"]
    assert worker["environment"]["WORKER_ENABLED"] == "true" and "ports" not in worker
    assert f"/tmp/{ALIVE_FILE.name}" in worker["healthcheck"]["test"][-1]  # noqa: S108 (the container's /tmp)


def test_metrics_stay_closed_unless_allowed(tmp_path: Path) -> None:
    assert "return 404;" in metrics_include(tmp_path, "")
    opened = metrics_include(tmp_path, "10.0.0.0/8 192.168.1.5")
    assert "allow 10.0.0.0/8;" in opened and "allow 192.168.1.5;" in opened and "deny all;" in opened
    script = (ROOT / "nginx/40-sextant-conf.sh").read_text().replace("/etc/nginx/", f"{tmp_path}/etc/")
    bad = subprocess.run(
        ["sh", "-c", script], env={**os.environ, "METRICS_ALLOW_CIDR": "1.2.3.4; deny"}, capture_output=True
    )
    assert bad.returncode != 0


@pytest.mark.parametrize(("variant", "metrics_allow"), [("http.conf", ""), ("tls.conf", "10.0.0.0/8")])
def test_nginx_accepts_both_configurations(variant: str, metrics_allow: str, tmp_path: Path) -> None:
    main = render(tmp_path, variant, metrics_allow=metrics_allow)
    result = run(nginx_binary(), "-t", "-p", tmp_path, "-c", main)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


def test_nginx_streams_sse_unbuffered_and_sets_security_headers() -> None:
    text = (ROOT / "nginx/conf/sextant-locations.conf").read_text()
    for location in ("location = /api/query/stream", "location = /mcp"):
        stream = text[text.index(location) :].split("}")[0]
        assert "proxy_pass http://sextant_backend;" in stream, location
        assert "proxy_buffering off;" in stream and "proxy_read_timeout 600s;" in stream, location
    headers = (ROOT / "nginx/conf/security-headers.conf").read_text()
    for header in ("Content-Security-Policy", "frame-ancestors 'none'", "X-Content-Type-Options", "Referrer-Policy"):
        assert header in headers
    assert "client_max_body_size" in text and "gzip on;" in text
    assert "return 301 https://$host$request_uri;" in (ROOT / "nginx/conf/tls.conf").read_text()


def _blocks(text: str, opener: str) -> list[str]:
    """The bodies of every ``opener ... { ... }`` block (nested blocks included in the body)."""
    text = re.sub(r"#[^\n]*", "", text)
    bodies = []
    for match in re.finditer(rf"(?<![\w.]){opener}\b[^{{;]*\{{", text):
        depth, index = 1, match.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(text[index], 0)
            index += 1
        bodies.append(text[match.end() : index - 1])
    return bodies


def test_nginx_headers_are_set_at_server_level_only(tmp_path: Path) -> None:
    """nginx drops inherited add_header (and proxy_hide_header) lines in a block that has its own."""
    confs = {path.name: path.read_text() for path in (ROOT / "nginx/conf").glob("*.conf")}
    confs["metrics.inc"] = metrics_include(tmp_path, "10.0.0.0/8")
    for name, text in confs.items():
        for body in _blocks(text, "location"):
            assert "add_header" not in body and "proxy_hide_header" not in body, (name, body)
    assert "add_header" not in re.sub(r"#[^\n]*", "", confs["sextant-locations.conf"])
    for variant in ("http.conf", "tls.conf"):
        servers = _blocks(confs[variant], "server")
        assert servers and all("include /etc/nginx/sextant/security-headers.conf;" in s for s in servers), variant
    (https,) = [s for s in _blocks(confs["tls.conf"], "server") if "ssl" in s]
    assert 'add_header Strict-Transport-Security "max-age=31536000" always;' in https
    assert "Strict-Transport-Security" not in confs["http.conf"] + confs["security-headers.conf"]


def test_nginx_overwrites_the_forwarded_headers() -> None:
    everything = "".join(path.read_text() for path in (ROOT / "nginx").rglob("*") if path.is_file())
    assert "$proxy_add_x_forwarded_for" not in everything
    text = (ROOT / "nginx/conf/sextant-locations.conf").read_text()
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in text
    assert "proxy_set_header X-Real-IP $remote_addr;" in text


def test_the_backend_trusts_exactly_nginx_in_compose() -> None:
    data = compose()
    services: dict[str, dict[str, Any]] = data["services"]
    assert "FORWARDED_ALLOW_IPS" not in (ROOT / "docker-compose.yml").read_text()
    nginx_ip = services["nginx"]["networks"]["edge"]["ipv4_address"]
    assert services["backend"]["environment"]["TRUSTED_PROXIES"] == nginx_ip == "${NGINX_EDGE_IP:-10.213.47.2}"
    # nginx is on the edge network only, so it reaches the backend from exactly that address.
    assert set(services["nginx"]["networks"]) == {"edge"}
    assert set(services["backend"]["networks"]) == {"default", "edge"}
    assert [name for name, s in services.items() if "edge" in (s.get("networks") or [])] == ["backend", "nginx"]
    (pool,) = data["networks"]["edge"]["ipam"]["config"]

    def default(value: str) -> str:
        found = re.fullmatch(r"\$\{\w+:-([^}]+)\}", value)
        assert found, value
        return found.group(1)

    subnet, dynamic = ipaddress.ip_network(default(pool["subnet"])), ipaddress.ip_network(default(pool["ip_range"]))
    address = ipaddress.ip_address(default(nginx_ip))
    # Docker draws other containers' addresses from ip_range; nginx's must never be one of them.
    assert address in subnet and dynamic.subnet_of(subnet) and address not in dynamic  # type: ignore[arg-type]
    env_example = (ROOT / ".env.example").read_text()
    for line in (f"EDGE_SUBNET={subnet}", f"EDGE_IP_RANGE={dynamic}", f"NGINX_EDGE_IP={address}", "TRUSTED_PROXIES="):
        assert f"\n{line}\n" in env_example, line


def test_uvicorn_never_trusts_forwarded_headers_itself() -> None:
    """uvicorn's default believes X-Forwarded-For from 127.0.0.1; every backend runs without it."""
    dockerfile = (ROOT / "docker/backend.Dockerfile").read_text()
    (command,) = re.findall(r"^CMD (.*)$", dockerfile, re.MULTILINE)
    assert '"--no-proxy-headers"' in command and '"--proxy-headers"' not in command
    assert "COPY nginx/conf/security-headers.conf /app/nginx/conf/security-headers.conf" in dockerfile
    assert '"--no-proxy-headers"' in (ROOT / "scripts/run.py").read_text()
    for path in [*ROOT.glob("tests/**/*.py"), *ROOT.glob("bench/*.py"), *ROOT.glob("scripts/*.py")]:
        text = path.read_text()
        for match in re.finditer(r"uvicorn\.Config\(", text):
            depth, end = 1, match.end()
            while depth:
                depth += {"(": 1, ")": -1}.get(text[end], 0)
                end += 1
            assert "proxy_headers=False" in text[match.start() : end], (path, text[match.start() : end])
        for command in re.findall(r'"uvicorn", "backend\.main:create_app".*', text):
            assert '"--no-proxy-headers"' in command, (path, command)


def test_shellcheck_passes_on_every_script() -> None:
    assert shutil.which("shellcheck"), "install Debian's shellcheck (make test does)"
    result = run("shellcheck", "-x", *[s.relative_to(ROOT) for s in SCRIPTS], cwd=ROOT)
    assert result.returncode == 0, result.stdout


def test_hadolint_passes_on_every_dockerfile() -> None:
    result = run(BIN / "hadolint", *DOCKERFILES)
    assert result.returncode == 0, result.stdout


def test_images_are_pinned_and_run_as_non_root() -> None:
    for dockerfile in DOCKERFILES:
        text = dockerfile.read_text()
        stages = set(re.findall(r"^FROM \S+ AS (\S+)", text, re.MULTILINE))
        for image in set(re.findall(r"^FROM (\S+)", text, re.MULTILINE)) - stages:
            assert re.search(r":\d+\.\d+\.\d+", image), f"{dockerfile.name}: {image} is not pinned to a version"
        assert re.search(r"^USER (10001|101)", text, re.MULTILINE), dockerfile.name
    for image in re.findall(r"image: (\S+)", (ROOT / "docker-compose.yml").read_text()):
        assert not image.endswith(":latest") and ":" in image, image
    embedding = (ROOT / "docker/embedding.Dockerfile").read_text()
    assert "HF_HUB_OFFLINE=1" in embedding and "torch==2.13.0+cpu" in embedding


def _fake_tools(tmp_path: Path) -> Path:
    """aws, ssh, scp and curl that only record that they were called."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("aws", "ssh", "scp", "curl"):
        fake = bin_dir / tool
        fake.write_text(f"#!/bin/sh\necho {tool} >> {tmp_path}/called\nexit 1\n")
        fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    return bin_dir


def test_deploy_dry_run_prints_the_plan_and_calls_nothing(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": f"{_fake_tools(tmp_path)}:{os.environ['PATH']}"}
    result = run(
        "bash", ROOT / "scripts/deploy-ec2.sh", "--dry-run", "--region", "eu-central-1", "--key-name", "ops",
        "--my-ip", "203.0.113.7", "--domain", "sextant.example.com", "--email", "ops@example.com", env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "called").exists(), "a real tool was called during --dry-run"
    plan = result.stderr
    assert "aws --region eu-central-1 ssm get-parameter --name /aws/service/canonical/ubuntu/server/24.04" in plan
    assert "create-security-group --group-name sextant-sg" in plan
    assert "--port 22 --cidr 203.0.113.7/32" in plan
    assert "--port 80 --cidr 0.0.0.0/0" in plan and "--port 443 --cidr 0.0.0.0/0" in plan
    assert not re.search(r"--port 22 --cidr 0\.0\.0\.0/0", plan)
    assert re.search(r"run-instances --image-id ami-DRYRUN --instance-type \S+ --key-name ops", plan)
    user_data = plan[plan.index("----- user-data -----") : plan.index("----- end of user-data -----")]
    assert "docker-compose-plugin" in user_data and "docker-ce" in user_data
    assert "generate-env.sh .env" in plan
    assert "certbot/certbot" in plan and "-d 'sextant.example.com'" in plan
    assert "docker compose up -d --build" in plan
    assert "https://sextant.example.com/" in result.stdout


def test_deploy_destroy_dry_run_and_missing_key(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": f"{_fake_tools(tmp_path)}:{os.environ['PATH']}"}
    destroy = run("bash", ROOT / "scripts/deploy-ec2.sh", "--destroy", "--dry-run", "--name", "demo", env=env)
    assert destroy.returncode == 0, destroy.stderr
    assert "terminate-instances --instance-ids i-DRYRUN" in destroy.stderr
    assert "delete-security-group --group-name demo-sg" in destroy.stderr
    missing = run("bash", ROOT / "scripts/deploy-ec2.sh", "--dry-run", env=env)
    assert missing.returncode == 2 and "--key-name is required" in missing.stderr
    assert not (tmp_path / "called").exists()


def _bundle(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run("bash", "-c", f"source {ROOT}/scripts/lib/bundle.sh && {command}", cwd=cwd)


def test_bundle_manifest_detects_changed_missing_and_extra_files(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    (bundle / "images").mkdir(parents=True)
    (bundle / "images/images.tar").write_bytes(b"image layers")
    (bundle / "models").mkdir()
    (bundle / "models/ollama-models.tar").write_bytes(b"weights" * 100)
    assert _bundle(f"write_manifest {bundle}", tmp_path).returncode == 0
    sums = (bundle / "SHA256SUMS").read_text().splitlines()
    assert [line.split()[1] for line in sums] == ["./images/images.tar", "./models/ollama-models.tar"]
    assert _bundle(f"verify_manifest {bundle}", tmp_path).returncode == 0
    (bundle / "models/ollama-models.tar").write_bytes(b"tampered")
    assert _bundle(f"verify_manifest {bundle}", tmp_path).returncode != 0
    (bundle / "models/ollama-models.tar").write_bytes(b"weights" * 100)
    (bundle / "extra.bin").write_bytes(b"smuggled")
    assert _bundle(f"verify_manifest {bundle}", tmp_path).returncode != 0
    (bundle / "extra.bin").unlink()
    (bundle / "images/images.tar").unlink()
    assert _bundle(f"verify_manifest {bundle}", tmp_path).returncode != 0


def test_bundle_lists_every_image_of_the_stack(tmp_path: Path) -> None:
    result = _bundle(f"images_of {ROOT}/docker-compose.yml", tmp_path)
    assert result.stdout.split() == [
        "grafana/grafana:11.4.0", "ollama/ollama:0.12.6", "pgvector/pgvector:0.8.0-pg17",
        "prom/prometheus:v2.53.3", "redis:7.4.1-alpine", "sextant/backend:0.1.0", "sextant/embedding:0.1.0",
        "sextant/nginx:0.1.0",
    ]  # fmt: skip


def test_generated_env_has_real_secrets_the_production_profile_accepts(tmp_path: Path) -> None:
    target = tmp_path / ".env"
    assert run("bash", ROOT / "scripts/generate-env.sh", target).returncode == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    values = dict(line.split("=", 1) for line in target.read_text().splitlines() if line and not line.startswith("#"))
    Fernet(values["ENCRYPTION_KEY"].encode())  # a valid key
    assert len(values["JWT_SECRET"]) >= 40 and len(values["POSTGRES_PASSWORD"]) >= 24
    settings = Settings(
        environment="production",
        data_dir=tmp_path,
        auth=AuthSettings(jwt_secret=SecretStr(values["JWT_SECRET"])),
        crypto=CryptoSettings(encryption_key=SecretStr(values["ENCRYPTION_KEY"])),
    )
    assert resolve_secrets(settings).jwt_secret.get_secret_value() == values["JWT_SECRET"]
    before = target.read_text()
    assert run("bash", ROOT / "scripts/generate-env.sh", target).returncode == 0
    assert target.read_text() == before


def test_nginx_lets_go_of_idle_backend_connections_before_uvicorn_closes_them() -> None:
    # Otherwise a request sent as uvicorn closes the connection is reset: a 502 for a POST
    # (BENCHMARKS (m): one in about 3,000 questions behind nginx).
    keep_alive = inspect.signature(uvicorn.Config).parameters["timeout_keep_alive"].default
    assert "--timeout-keep-alive" not in (ROOT / "docker/backend.Dockerfile").read_text()
    for name in ("http.conf", "tls.conf"):
        block = re.search(r"upstream sextant_backend \{(.*?)\}", (ROOT / "nginx/conf" / name).read_text(), re.S)
        assert block is not None, name
        timeout = re.search(r"keepalive_timeout (\d+)s;", block.group(1))
        assert timeout is not None and int(timeout.group(1)) < keep_alive, name
