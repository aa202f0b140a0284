#!/bin/bash
# liancun-healthcheck [PATH] — container health probe without curl.
#
# Sends `GET PATH` (default /healthz) to the service on 127.0.0.1 and exits 0
# only on an HTTP 200. It uses bash's /dev/tcp, so the runtime image needs no
# curl or wget (fewer packages, fewer CVEs to patch). Installed in the image as
# /usr/local/bin/liancun-healthcheck; Docker's HEALTHCHECK and compose call it.
#
# The port is taken from LIANCUN_LISTEN (the service's own setting) or from
# HEALTHCHECK_PORT. Do not name it LIANCUN_…: liancun refuses unknown
# LIANCUN_* variables as unknown configuration keys.
set -u

path=${1:-/healthz}
port=${HEALTHCHECK_PORT:-}
if [ -z "$port" ]; then
    listen=${LIANCUN_LISTEN:-127.0.0.1:8080}
    port=${listen##*:}
fi

if ! { exec 3<>"/dev/tcp/127.0.0.1/${port}"; } 2>/dev/null; then
    echo "liancun-healthcheck: nothing listens on 127.0.0.1:${port}" >&2
    exit 1
fi
printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: liancun-healthcheck\r\nConnection: close\r\n\r\n' "$path" >&3

status=
if ! IFS= read -r -t 5 status <&3; then
    echo "liancun-healthcheck: no answer from 127.0.0.1:${port}${path} within 5 s" >&2
    exit 1
fi
exec 3<&-

case $status in
    "HTTP/1."?" 200"*) exit 0 ;;
esac
echo "liancun-healthcheck: ${path} answered: ${status%$'\r'}" >&2
exit 1
