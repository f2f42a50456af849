#!/bin/sh
# Picks the server configuration at start: TLS_MODE=on needs certs/fullchain.pem and
# certs/privkey.pem mounted at /etc/nginx/certs; anything else serves plain HTTP.
set -eu
target=/etc/nginx/conf.d/default.conf
if [ "${TLS_MODE:-off}" = "on" ]; then
    if [ ! -s /etc/nginx/certs/fullchain.pem ] || [ ! -s /etc/nginx/certs/privkey.pem ]; then
        echo "TLS_MODE=on but /etc/nginx/certs/fullchain.pem or privkey.pem is missing" >&2
        exit 1
    fi
    cp /etc/nginx/sextant/tls.conf "$target"
else
    cp /etc/nginx/sextant/http.conf "$target"
fi
