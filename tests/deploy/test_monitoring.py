"""The monitoring of issue 17: alert rules checked and unit-tested by promtool (Debian's prometheus
package), the Grafana dashboard and provisioning, the compose "monitoring" profile. Every series
they name must be one the backend exports (backend/components/metrics.py)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]
from sqlalchemy.pool import QueuePool

from backend.components.metrics import Metrics

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "deploy/monitoring"
DASHBOARD = MONITORING / "grafana/dashboards/sextant.json"
# Series Prometheus makes itself, not the backend.
PROMETHEUS_OWN = {"up"}


def promtool(*args: str | Path, cwd: Path = MONITORING) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    assert binary, "promtool is missing: install Debian's prometheus package (make test does, in system-deps)"
    return subprocess.run([binary, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=120)


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def alert_rules() -> dict[str, dict[str, Any]]:
    return {rule["alert"]: rule for group in load(MONITORING / "alerts.yml")["groups"] for rule in group["rules"]}


def exported_series() -> set[str]:
    """Every series name a backend exposes, those of labelled metrics that have no sample yet included."""
    metrics = Metrics()
    metrics.watch_store(QueuePool(lambda: None, pool_size=2), ROOT)  # type: ignore[arg-type]
    names: set[str] = set()
    for family in metrics.registry.collect():
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"]}.get(family.type, [""])
        names |= {family.name + suffix for suffix in suffixes}
    return names


def series_in(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (identifiers followed by a selector, a range,
    or an operator; not functions, aggregations or the labels in by/without)."""
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    expr = re.sub(r"\{[^}]*\}", "{}", expr)
    expr = re.sub(r'"[^"]*"|\[[^]]*\]', "", expr)
    names = re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", expr)
    return {name for name in names if "_" in name or name == "up"}


def dashboard_exprs() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [target["expr"] for panel in panels for target in panel.get("targets", [])]


def test_promtool_checks_the_rules_and_the_prometheus_config() -> None:
    rules = promtool("check", "rules", "alerts.yml")
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in rules.stdout
    config = promtool("check", "config", "prometheus.yml")
    assert config.returncode == 0, config.stdout + config.stderr


def test_promtool_unit_tests_of_the_alerts_pass() -> None:
    result = promtool("test", "rules", "alerts.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_is_tested_firing_and_quiet() -> None:
    cases: dict[str, set[bool]] = {}
    for test in load(MONITORING / "alerts.test.yml")["tests"]:
        for case in test.get("alert_rule_test", []):
            cases.setdefault(case["alertname"], set()).add(bool(case["exp_alerts"]))
    assert {name: {True, False} for name in alert_rules()} == cases
    for name, rule in alert_rules().items():
        assert rule["labels"]["severity"] in ("warning", "critical"), name
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], name


@pytest.mark.parametrize("replacement", ["vector(1)", "vector(0) > 1"], ids=["always-fires", "never-fires"])
def test_the_unit_tests_catch_a_broken_alert(replacement: str, tmp_path: Path) -> None:
    """Each alert's expression swapped for one that always (or never) fires must fail its tests."""
    shutil.copy(MONITORING / "alerts.test.yml", tmp_path)
    document = load(MONITORING / "alerts.yml")
    for name in alert_rules():
        for group in document["groups"]:
            for rule in group["rules"]:
                rule["expr"] = replacement if rule["alert"] == name else alert_rules()[rule["alert"]]["expr"]
        (tmp_path / "alerts.yml").write_text(yaml.safe_dump(document))
        result = promtool("test", "rules", "alerts.test.yml", cwd=tmp_path)
        assert result.returncode != 0, f"{name} as {replacement!r} still passes its tests"
        assert f"alertname: {name}," in result.stdout + result.stderr, name


def test_rules_and_dashboard_name_only_series_the_backend_exports() -> None:
    exported = exported_series()
    assert {"sextant_llm_errors_total", "sextant_store_pool_capacity", "sextant_data_dir_free_bytes"} <= exported
    for name, rule in alert_rules().items():
        used = series_in(rule["expr"])
        assert used, name
        assert used <= exported | PROMETHEUS_OWN, (name, used - exported)
    exprs = dashboard_exprs()
    assert exprs
    for expr in exprs:
        used = series_in(expr)
        assert used and used <= exported | PROMETHEUS_OWN, (expr, used - exported)
    # The parser of names is not fooled: a misspelt series is caught.
    assert series_in('sum by (le) (rate(sextant_http_request_secnds_bucket{route="/x"}[5m]))') - exported


def test_the_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    """promtool parses each panel's query, as a recording rule ($__rate_interval is Grafana's)."""
    rules = [
        {"record": f"dashboard:panel_{i}", "expr": expr.replace("$__rate_interval", "5m")}
        for i, expr in enumerate(dashboard_exprs())
    ]
    (tmp_path / "dashboard.yml").write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = promtool("check", "rules", tmp_path / "dashboard.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    (tmp_path / "broken.yml").write_text(
        yaml.safe_dump({"groups": [{"name": "x", "rules": [{"record": "x:y", "expr": "sum(rate(x[5m]"}]}]})
    )
    assert promtool("check", "rules", tmp_path / "broken.yml").returncode != 0


def test_the_dashboard_is_provisioned_from_the_files_compose_mounts() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"] == "Sextant"
    (source,) = load(MONITORING / "grafana/provisioning/datasources/prometheus.yml")["datasources"]
    assert source["url"] == "http://prometheus:9090" and source["type"] == "prometheus"
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    titles = " ".join(p["title"] for p in panels).lower()
    for topic in ("requests", "5xx", "question latency", "llm latency", "tokens", "guard", "index jobs", "embedding",
                  "pool", "free space"):  # fmt: skip
        assert topic in titles, topic
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in panels:
        assert panel["datasource"]["uid"] == source["uid"], panel["title"]
        assert panel["targets"] and all(t["datasource"]["uid"] == source["uid"] for t in panel["targets"])
    # No two panels overlap on the grid.
    cells: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        columns, rows = range(grid["x"], grid["x"] + grid["w"]), range(grid["y"], grid["y"] + grid["h"])
        mine = {(x, y) for x in columns for y in rows}
        assert grid["x"] + grid["w"] <= 24 and not mine & cells, panel["title"]
        cells |= mine
    (provider,) = load(MONITORING / "grafana/provisioning/dashboards/sextant.yml")["providers"]
    services = load(ROOT / "docker-compose.yml")["services"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in services["grafana"]["volumes"] if v.startswith("./")}
    assert (ROOT / mounts[provider["options"]["path"]] / DASHBOARD.name).is_file()
    assert (ROOT / mounts["/etc/grafana/provisioning"] / "datasources/prometheus.yml").is_file()


def test_prometheus_scrapes_every_backend_inside_compose_and_loads_the_rules() -> None:
    services: dict[str, dict[str, Any]] = load(ROOT / "docker-compose.yml")["services"]
    prometheus = services["prometheus"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in prometheus["volumes"] if v.startswith("./")}
    assert Path(ROOT / mounts["/etc/prometheus/prometheus.yml"]) == MONITORING / "prometheus.yml"
    config = load(MONITORING / "prometheus.yml")
    (rules_file,) = config["rule_files"]
    assert Path(ROOT / mounts[f"/etc/prometheus/{rules_file}"]) == MONITORING / "alerts.yml"
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "sextant-backend"]
    # The job name the alerts select, the backend's own port (not nginx's, which hides /metrics).
    assert all('job="sextant-backend"' in r["expr"] for r in alert_rules().values() if re.search(r"\bup\{", r["expr"]))
    assert job["dns_sd_configs"] == [{"names": ["backend"], "type": "A", "port": 8000, "refresh_interval": "30s"}]
    assert '"--port", "8000"' in (ROOT / "docker/backend.Dockerfile").read_text()
    for name in ("prometheus", "grafana"):
        assert re.fullmatch(r"[\w/]+:v?\d+\.\d+\.\d+", services[name]["image"]), services[name]["image"]
        assert "default" in (services[name].get("networks") or ["default"]) and "edge" not in (
            services[name].get("networks") or []
        )
    # Prometheus must come up, and alert, when the backend does not.
    assert "depends_on" not in prometheus
    grafana_env: dict[str, str] = services["grafana"]["environment"]
    assert grafana_env["GF_ANALYTICS_REPORTING_ENABLED"] == "false" and grafana_env["GF_USERS_ALLOW_SIGN_UP"] == "false"
