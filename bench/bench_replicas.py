"""Questions per second with one, two and three backends on one store, behind nginx round robin.

Each in its own process, as deployed: one fresh embedded store (PostgreSQL 18 + pgvector), one
embedding service, three backends (``uvicorn --factory`` as the Dockerfile starts them, all on
the same ``DATABASE_URL``), the scripted Ollama of the tests (``tests/fake_ollama.py``, answering
at once with each question's SQL), and Debian's nginx with the repository's location and header
files (``nginx/conf``), round robin over the first N backends. Sakila on the machine's
PostgreSQL 15 is the user database. No Redis: every question takes the whole path.

``CLIENTS`` clients (asyncio, in this process), each an account with its own Sakila connection,
ask the five questions of ``bench_ask`` in turn through ``POST /api/query/stream`` (what the web
app calls), each stream read to its ``done`` event, with no pause. Phases run N in ``PHASES``
(mirrored, so that a drift of the machine weighs on every N alike): a warm-up, then a measured
window, in which a question counts when it ends. The CPU each process used in the window
(psutil; a PostgreSQL server with its reaped backends) is divided by the questions answered; what
the machine spent beyond that is other work ("others_share"), and phases where it stayed under
``QUIET`` are also pooled apart. Ports: free ones, or ten from ``--ports START``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import psutil
from cryptography.fernet import Fernet

from bench.bench_ask import QUESTIONS
from bench.common import (
    ROOT,
    USER_PG_ADMIN,
    embedded_store,
    embedding_service,
    free_port,
    load_samples,
    percentile,
    postgres_server,
    processes,
    tree_cpu_seconds,
    wait_healthy,
    wait_synced,
)

CLIENTS = 12
BACKENDS = 3
PHASES = (1, 2, 3, 3, 2, 1, 1, 2, 3, 3, 2, 1)
WARMUP_S = 3.0
WINDOW_S = 12.0
QUIET = 0.05  # a phase is "quiet" when other work took less than this share of the machine


def _serve_ollama(port: int) -> None:
    """The scripted Ollama (its own process, so that its CPU is counted apart): each question's SQL."""
    import uvicorn

    from tests.fake_ollama import OllamaScript, create_fake_ollama

    script = OllamaScript(answer="The rows show the answer.")

    def reply(body: dict[str, Any]) -> str | None:
        script.requests.clear()  # the fake keeps every request; thousands of prompts add up
        if body.get("stream", True):
            return None
        asked = next((m["content"] for m in reversed(body["messages"]) if m["role"] == "user"), "")
        hits = [(asked.rfind(question), sql) for question, sql in QUESTIONS if question in asked]
        return json.dumps({"sql": max(hits)[1]}) if hits else None

    script.handler = reply
    uvicorn.run(create_fake_ollama(lambda: script), host="127.0.0.1", port=port, log_level="warning")


def _backend_env(port: int, common: dict[str, str], data_dir: Path) -> dict[str, str]:
    # No PG* variables (libpq would lend them to user connections) and no REDIS_URL: no cache.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG") and k != "REDIS_URL"}
    data_dir.mkdir(mode=0o700)
    return {**env, **common, "BACKEND_PORT": str(port), "SEXTANT_DATA_DIR": str(data_dir)}


def _nginx_conf(work: Path, port: int, upstreams: list[int], log: Path) -> Path:
    """nginx.conf for ``port``: the repository's header and location files, round robin over ``upstreams``."""
    locations = (ROOT / "nginx" / "conf" / "sextant-locations.conf").read_text()
    # The metrics include is written by the container's entrypoint; the bench has no /metrics route.
    locations = re.sub(r"^include /etc/nginx/conf\.d/sextant-metrics\.inc;$", "", locations, flags=re.M)
    (work / "sextant-locations.conf").write_text(locations)
    # The deployment's upstream settings (keepalive...), with these servers in place of its one.
    deployed = re.search(
        r"upstream sextant_backend \{(.*?)\}", (ROOT / "nginx" / "conf" / "http.conf").read_text(), re.S
    )
    settings = [line for line in (deployed.group(1) if deployed else "").splitlines() if "server " not in line]
    servers = "\n".join([*(f"    server 127.0.0.1:{p};" for p in upstreams), *settings])
    temps = "\n".join(
        f"  {kind}_temp_path {work}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = work / f"nginx-{len(upstreams)}.conf"
    conf.write_text(f"""worker_processes auto;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  log_format bench '$upstream_addr $status $upstream_status $request_time $request_uri';
  access_log {log} bench;
{temps}
  upstream sextant_backend {{
{servers}
  }}
  server {{
    listen 127.0.0.1:{port};
    include {ROOT}/nginx/conf/security-headers.conf;
    include {work}/sextant-locations.conf;
  }}
}}
""")
    return conf


def _cpu(groups: dict[str, list[psutil.Process]]) -> dict[str, float]:
    snapshot = {name: sum(tree_cpu_seconds(p) for p in procs) for name, procs in groups.items()}
    machine = psutil.cpu_times()
    snapshot["machine_busy"] = sum(machine) - machine.idle - getattr(machine, "iowait", 0.0)
    return snapshot


async def _client(
    base: str, headers: dict[str, str], cid: str, offset: int, stop_at: float, out: list[tuple[float, float, str]]
) -> None:
    """Ask in a loop until ``stop_at``; appends (end time, milliseconds, problem or "") per question."""
    async with httpx.AsyncClient(base_url=base, timeout=120, headers=headers) as http:
        turn = offset
        while time.monotonic() < stop_at:
            question = QUESTIONS[turn % len(QUESTIONS)][0]
            turn += 1
            started = time.monotonic()
            problem = ""
            try:
                async with http.stream(
                    "POST", "/api/query/stream", json={"connection_id": cid, "question": question}
                ) as response:
                    body = (await response.aread()).decode()
                if response.status_code != 200:
                    problem = f"HTTP {response.status_code}"
                elif "event: error" in body or "event: done" not in body:
                    problem = "stream: " + body[-160:].replace("\n", " ")
                else:
                    done = json.loads(body.rsplit("event: done\ndata: ", 1)[1].split("\n", 1)[0])
                    if not done["result"]["executed"]:
                        problem = "not executed: " + str(done["result"].get("error"))[:120]
            except httpx.HTTPError as exc:
                problem = type(exc).__name__
            ended = time.monotonic()
            out.append((ended, (ended - started) * 1000, problem))


def _phase(
    n: int, base: str, users: list[tuple[dict[str, str], str]], groups: dict[str, list[psutil.Process]], log: Path
) -> dict[str, Any]:
    """Drive every client through ``base`` for a warm-up and a window; what the window saw."""
    results: list[tuple[float, float, str]] = []
    began = time.monotonic()
    window_start, window_end = began + WARMUP_S, began + WARMUP_S + WINDOW_S

    async def drive() -> dict[str, float]:
        tasks = [
            asyncio.create_task(_client(base, headers, cid, i, window_end, results))
            for i, (headers, cid) in enumerate(users)
        ]
        await asyncio.sleep(window_start - time.monotonic())
        before = _cpu(groups)
        await asyncio.sleep(window_end - time.monotonic())
        after = _cpu(groups)
        await asyncio.gather(*tasks)
        return {k: after[k] - before[k] for k in after}

    cpu = asyncio.run(drive())
    inside = [r for r in results if window_start <= r[0] < window_end]
    ok = [ms for _, ms, problem in inside if not problem]
    problems = [problem for _, _, problem in inside if problem]
    answered = max(len(ok), 1)
    upstreams = Counter(line.split()[0] for line in log.read_text().splitlines() if "/api/query/stream" in line)
    statuses = Counter(line.split()[1] for line in log.read_text().splitlines())
    busy = cpu.pop("machine_busy")
    # Per replica, the cores it used: its event loop is one thread (helper threads hash
    # passwords, run the query guard...), so near 1.0 a replica would be the bottleneck.
    replicas = {k: cpu.pop(k) for k in [k for k in cpu if k.startswith("backend:")]}
    loops = {k: round(v / WINDOW_S, 2) for k, v in replicas.items()}
    cpu = {"backends": sum(replicas.values()), **cpu}
    ours = sum(cpu.values())
    cpu["not_this_bench"] = max(0.0, busy - ours)  # other work on the machine, and the kernel's
    cores = psutil.cpu_count() or 1
    return {
        "backends": n,
        "questions_ok": len(ok),
        "errors": len(problems),
        "error_samples": sorted(Counter(problems).items(), key=lambda kv: -kv[1])[:5],
        "questions_per_s": round(len(ok) / WINDOW_S, 2),
        "latency_ms": {"p50": round(percentile(ok, 0.5), 1), "p95": round(percentile(ok, 0.95), 1)} if ok else {},
        "cpu_ms_per_question": {k: round(v * 1000 / answered, 1) for k, v in cpu.items()},
        "cpu_ms_per_question_total": round(ours * 1000 / answered, 1),
        "machine_busy_share": round(busy / (WINDOW_S * cores), 2),
        "others_share": round(cpu["not_this_bench"] / (WINDOW_S * cores), 3),
        "backend_core_share": loops,
        "requests_per_upstream": dict(sorted(upstreams.items())),
        "nginx_statuses": dict(statuses),
        "_ok_ms": ok,
    }


def _setup_users(base: str, sakila_url: str) -> list[tuple[dict[str, str], str]]:
    """``CLIENTS`` accounts, each with its own Sakila connection, indexed (the jobs run at once)."""
    users: list[tuple[dict[str, str], str]] = []
    with httpx.Client(base_url=base, timeout=120) as http:
        for i in range(CLIENTS):
            creds = {"email": f"qps{i}@example.com", "password": "bench-password"}
            http.post("/api/auth/register", json=creds).raise_for_status()
            headers = {"Authorization": f"Bearer {http.post('/api/auth/login', json=creds).json()['access_token']}"}
            body = {"name": "sakila", "kind": "postgres", "url": sakila_url}
            response = http.post("/api/connections", json=body, headers=headers)
            response.raise_for_status()
            users.append((headers, response.json()["id"]))
        for headers, cid in users:
            if (status := wait_synced(http, headers, cid))["status"] != "succeeded":
                raise RuntimeError(f"indexing failed: {status}")
    return users


def _start_backends(stack: ExitStack, work: Path, ports: list[int], common: dict[str, str]) -> list[psutil.Process]:
    """The backends, as the Dockerfile starts one, each with its log in ``work``; once all are healthy."""
    running = stack.enter_context(processes())
    for i, p in enumerate(ports):
        out = stack.enter_context((work / f"backend{i + 1}.log").open("wb"))
        cmd = [sys.executable, "-m", "uvicorn", "backend.main:create_app", "--factory", "--no-proxy-headers"]
        env = _backend_env(p, common, work / f"data{i + 1}")
        running.append(subprocess.Popen([*cmd, "--port", str(p)], cwd=ROOT, env=env, stdout=out, stderr=out))
    for p, process in zip(ports, running, strict=True):
        wait_healthy(f"http://127.0.0.1:{p}/health", process, f"the backend on {p}")
    return [psutil.Process(process.pid) for process in running]


def _behind_nginx(
    n: int, work: Path, port: int, backends: list[int], users: list[Any], groups: dict[str, list[psutil.Process]]
) -> dict[str, Any]:
    """One phase: nginx round robin over the first ``n`` backends, started for it and stopped after."""
    log = work / f"access-{n}.log"
    conf = _nginx_conf(work, port, backends[:n], log)
    with processes() as edge:
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        cmd = [nginx, "-p", str(work), "-e", str(work / "error.log"), "-c", str(conf), "-g", "daemon off;"]
        edge.append(subprocess.Popen(cmd))
        wait_healthy(f"http://127.0.0.1:{port}/health", edge[0], "nginx")
        log.write_text("")  # the health probes are not questions
        return _phase(n, f"http://127.0.0.1:{port}", users, {**groups, "nginx": [psutil.Process(edge[0].pid)]}, log)


def run(first_port: int | None = None) -> dict[str, Any]:
    if not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
        return {"skipped": "no nginx (make system-deps installs Debian's)"}
    ports = iter(range(first_port, first_port + 10)) if first_port else None

    def port() -> int:
        return next(ports) if ports else free_port()

    sakila_url = load_samples.load(USER_PG_ADMIN, "sakila")
    started = time.monotonic()
    with ExitStack() as stack:
        store_url = stack.enter_context(embedded_store())
        embedding_url = stack.enter_context(embedding_service(port()))
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sextant-qps-")))
        work.chmod(0o755)  # nginx's workers (nobody) write their temp files under it
        ollama_port = port()
        llm = stack.enter_context(processes())
        llm.append(subprocess.Popen([sys.executable, "-m", "bench.bench_replicas", "--serve-ollama", str(ollama_port)]))
        wait_healthy(f"http://127.0.0.1:{ollama_port}/api/tags", llm[0], "the scripted Ollama")
        common = {
            "PYTHONPATH": str(ROOT),
            "HF_HUB_OFFLINE": "1",
            "DATABASE_URL": store_url,
            "MIGRATE_ON_START": "false",
            # Shared by every replica, as in any deployment of several: a token from one is valid on all.
            "JWT_SECRET": secrets.token_urlsafe(32),
            "ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "EMBEDDING_URL": embedding_url,
            "OLLAMA_URL": f"http://127.0.0.1:{ollama_port}",
            "RATE_QUESTIONS_PER_MINUTE": "1000000",
            "RATE_SIGNUPS_PER_HOUR": "1000000",
            "TRUSTED_PROXIES": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
        }
        backend_ports = [port() for _ in range(BACKENDS)]
        backends = _start_backends(stack, work, backend_ports, common)
        users = _setup_users(f"http://127.0.0.1:{backend_ports[0]}", sakila_url)
        setup_s = time.monotonic() - started
        embedder = next(p for p in psutil.Process().children() if "embedding_service.main" in " ".join(p.cmdline()))
        groups = {
            **{f"backend:{bp}": [p] for bp, p in zip(backend_ports, backends, strict=True)},
            "embedding_service": [embedder],
            "store_pg18": [postgres_server(store_url)],
            "user_db_pg15": [postgres_server(sakila_url)],
            "scripted_llm": [psutil.Process(llm[0].pid)],
            "bench_clients": [psutil.Process()],
        }
        nginx_port = port()
        phases = []
        for n in PHASES:
            phases.append(_behind_nginx(n, work, nginx_port, backend_ports, users, groups))
            print(json.dumps({k: v for k, v in phases[-1].items() if k != "_ok_ms"}), file=sys.stderr, flush=True)
        backend_logs = {f"backend{i + 1}": _problems(work / f"backend{i + 1}.log") for i in range(BACKENDS)}
        nginx_errors = (work / "error.log").read_text().splitlines()[-5:]
    return _summary(phases, setup_s, time.monotonic() - started, backend_logs, nginx_errors)


def _problems(log: Path) -> list[str]:
    """The last lines of a backend's log that are warnings, errors or non-2xx answers."""
    lines = log.read_text(errors="replace").splitlines()
    return [line for line in lines if not line.startswith("INFO:") or re.search(r'" [45]\d\d\b', line)][-5:]


def _pooled(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Phases of one N taken together: questions/s, latency percentiles and CPU per question."""
    latencies = [ms for p in runs for ms in p["_ok_ms"]]
    answered = max(len(latencies), 1)
    cpu = Counter[str]()
    for p in runs:
        cpu.update({k: v * p["questions_ok"] for k, v in p["cpu_ms_per_question"].items()})
    ours = sum(v for k, v in cpu.items() if k != "not_this_bench") / answered
    return {
        "phases": len(runs),
        "questions_per_s": round(len(latencies) / (WINDOW_S * len(runs)), 2),
        "p50_ms": round(percentile(latencies, 0.5), 1) if latencies else None,
        "p95_ms": round(percentile(latencies, 0.95), 1) if latencies else None,
        "errors": sum(p["errors"] for p in runs),
        "cpu_ms_per_question": {k: round(v / answered, 1) for k, v in cpu.items()},
        "cpu_ms_per_question_ours": round(ours, 1),
        # What the machine would answer if nothing else ran on it and it stayed saturated.
        "cpu_bound_questions_per_s": round((psutil.cpu_count() or 1) * 1000 / max(ours, 0.1), 1),
    }


def _summary(
    phases: list[dict[str, Any]], setup_s: float, total_s: float, backend_logs: dict[str, Any], nginx_errors: list[str]
) -> dict[str, Any]:
    by_n = {n: _pooled([p for p in phases if p["backends"] == n]) for n in sorted(set(PHASES))}
    quiet = {
        n: _pooled(q) for n in by_n if (q := [p for p in phases if p["backends"] == n and p["others_share"] < QUIET])
    }
    for table in (by_n, quiet):
        base = table.get(1)
        for row in table.values():
            for key in ("questions_per_s", "p50_ms", "p95_ms", "cpu_bound_questions_per_s"):
                row[f"{key}_ratio"] = round(row[key] / base[key], 2) if base and base[key] and row[key] else None
    for p in phases:
        p.pop("_ok_ms")
    return {
        "clients": CLIENTS,
        "phases_order": list(PHASES),
        "warmup_s": WARMUP_S,
        "window_s": WINDOW_S,
        "setup_s": round(setup_s, 1),
        "total_s": round(total_s, 1),
        "by_backends": by_n,
        "quiet_phases_by_backends": quiet,
        "phases": phases,
        "backend_log_problems": backend_logs,
        "nginx_error_log_tail": nginx_errors,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ports", type=int, help="use ten ports from this one instead of free ones")
    parser.add_argument("--serve-ollama", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_ollama:
        _serve_ollama(args.serve_ollama)
    else:
        json.dump(run(args.ports), sys.stdout, indent=2)
        print()
