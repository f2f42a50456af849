#!/usr/bin/env bash
# Installs the Debian packages the tests need, only those that are missing.
set -euo pipefail

need=()
command -v psql >/dev/null 2>&1 || need+=(postgresql-client)
command -v python3 >/dev/null 2>&1 || need+=(python3 python3-venv)
# The browser tests drive Debian's Chromium; no tool may download a browser of its own.
[[ -x /usr/bin/chromium ]] || need+=(chromium)
command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
# Static checks of the deployment (no Docker engine needed) and the offline proof.
command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || need+=(nginx)
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v unshare >/dev/null 2>&1 || need+=(util-linux)
# The replica tests (tests/cluster) cut one host off from the store with iptables in its namespace.
command -v iptables >/dev/null 2>&1 || [[ -x /usr/sbin/iptables ]] || need+=(iptables)
# The answer-cache tests run against a real Redis on 127.0.0.1:6379 (.ci/run starts it).
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
# promtool checks and unit-tests the alert rules; only Debian's prometheus package has it.
lean=()
command -v promtool >/dev/null 2>&1 || lean+=(prometheus)

if ((${#need[@]} + ${#lean[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        echo "missing packages: ${need[*]} ${lean[*]}; install them (apt-get install ${need[*]} ${lean[*]}) or run as root" >&2
        exit 1
    fi
    apt-get update -qq
    if ((${#need[@]})); then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
    fi
    if ((${#lean[@]})); then
        # Without the node exporter it recommends; where systemd runs, the Prometheus server the
        # package starts is stopped again: the tests need promtool only.
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${lean[@]}"
        if [[ -d /run/systemd/system ]]; then
            systemctl disable --now prometheus >/dev/null 2>&1 || true
        fi
    fi
fi
