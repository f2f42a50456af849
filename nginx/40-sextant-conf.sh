#!/bin/sh
# Picks the server configuration at start: TLS_MODE=on needs certs/fullchain.pem and
# certs/privkey.pem mounted at /etc/nginx/certs; anything else serves plain HTTP.
set -eu
target=/etc/nginx/conf.d/default.conf
metrics=/etc/nginx/conf.d/sextant-metrics.inc
# METRICS_ALLOW_CIDR="10.0.0.0/8 192.168.1.5": those addresses may read /metrics; nobody else.
if [ -n "${METRICS_ALLOW_CIDR:-}" ]; then
    {
        echo "location = /metrics {"
        for cidr in $METRICS_ALLOW_CIDR; do
            case $cidr in
                *[!0-9a-fA-F.:/]*) echo "bad METRICS_ALLOW_CIDR entry: $cidr" >&2; exit 1 ;;
            esac
            echo "    allow $cidr;"
        done
        echo "    deny all;"
        echo "    proxy_pass http://sextant_backend;"
        echo "}"
    } > "$metrics"
else
    printf 'location = /metrics {\n    return 404;\n}\n' > "$metrics"
fi
if [ "${TLS_MODE:-off}" = "on" ]; then
    if [ ! -s /etc/nginx/certs/fullchain.pem ] || [ ! -s /etc/nginx/certs/privkey.pem ]; then
        echo "TLS_MODE=on but /etc/nginx/certs/fullchain.pem or privkey.pem is missing" >&2
        exit 1
    fi
    cp /etc/nginx/sextant/tls.conf "$target"
else
    cp /etc/nginx/sextant/http.conf "$target"
fi
