#!/usr/bin/env bash
# One command from a fresh clone: installs Azurite from package.json when node_modules lacks it, creates
# local.settings.json from the sample when missing, builds the function app, the host and the serving service (Release),
# starts the serving service in the background on http://127.0.0.1:7072 (its log in .serving/serving.log) and runs the
# host on http://127.0.0.1:7071 with this folder's host.json and local.settings.json; the host starts the function app's
# build output (functions/Workflows.Functions/bin/Release/net10.0) as its worker process, as the Core Tools do. The host starts Azurite itself (data and log under .azurite/) when nothing listens on
# 127.0.0.1:10000; the emulator outlives a killed host, and a clean stop (Ctrl+C, kill -INT or kill -TERM of this
# script, passed on to the host) stops it after the host has given back its leases. When the host exits, the serving
# service is stopped and this script exits with the host's exit code.
# The host also serves the Durable Task gRPC endpoint (the sidecar Durable Task SDK clients and workers connect to) on
# 127.0.0.1:4001.
# Usage: ./run.sh [--serving-port N] [--grpc-port N] [host arguments ...]
#   --serving-port N   moves the serving service (default 7072)
#   --grpc-port N      moves the host's Durable Task gRPC endpoint (default 4001; 0 picks a free port, logged at start-up)
#   --help             prints this and exits
# Every other argument goes to the host, e.g. ./run.sh --urls http://127.0.0.1:8080
# WORKFLOWS_RUN_DRY_RUN=1 prints what would run (one line per argument) and exits without building or starting anything.
set -euo pipefail
cd "$(dirname "$0")"

serving_port=7072
host_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --serving-port)
      if [ $# -lt 2 ]; then echo "run.sh: --serving-port needs a port number" >&2; exit 2; fi
      serving_port="$2"
      shift 2
      ;;
    --serving-port=*)
      serving_port="${1#--serving-port=}"
      shift
      ;;
    --grpc-port | --grpc-port=*)
      if [ "$1" = --grpc-port ]; then
        if [ $# -lt 2 ]; then echo "run.sh: --grpc-port needs a port number" >&2; exit 2; fi
        grpc_port="$2"
        shift 2
      else
        grpc_port="${1#--grpc-port=}"
        shift
      fi
      case "$grpc_port" in
        '' | *[!0-9]*) echo "run.sh: --grpc-port must be a port number from 0 to 65535 (got '$grpc_port')" >&2; exit 2 ;;
      esac
      if [ "$grpc_port" -gt 65535 ]; then
        echo "run.sh: --grpc-port must be a port number from 0 to 65535 (got '$grpc_port')" >&2
        exit 2
      fi
      host_args+=("--WorkflowsGrpcPort=$grpc_port")
      ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      host_args+=("$1")
      shift
      ;;
  esac
done

case "$serving_port" in
  '' | *[!0-9]*) echo "run.sh: --serving-port must be a port number from 1 to 65535 (got '$serving_port')" >&2; exit 2 ;;
esac
if [ "$serving_port" -lt 1 ] || [ "$serving_port" -gt 65535 ]; then
  echo "run.sh: --serving-port must be a port number from 1 to 65535 (got '$serving_port')" >&2
  exit 2
fi
serving_url="http://127.0.0.1:$serving_port"

if [ -n "${WORKFLOWS_RUN_DRY_RUN:-}" ]; then
  echo "serving-url $serving_url"
  for arg in ${host_args[@]+"${host_args[@]}"}; do
    echo "host-arg $arg"
  done
  exit 0
fi

if [ ! -f node_modules/azurite/dist/src/azurite.js ]; then
  echo "run.sh: installing Azurite (npm ci) ..."
  npm ci --no-audit --no-fund
fi

if [ ! -f local.settings.json ]; then
  cp local.settings.sample.json local.settings.json
fi

echo "run.sh: building the function app, the host and the serving service (Release; the first build takes a minute) ..."
dotnet build functions/Workflows.Functions -c Release -nologo -v quiet -clp:ErrorsOnly
dotnet build src/Workflows.Host -c Release -nologo -v quiet -clp:ErrorsOnly
dotnet build src/Workflows.Serving -c Release -nologo -v quiet -clp:ErrorsOnly

# The serving service reads local.settings.json's Values from this folder, as the host does, so both use the same
# data root and model registry. Its admin key is Serving__AdminKey when set, else the per-checkout key in
# .serving/admin-key (created on first start; git-ignored).
mkdir -p .serving
src/Workflows.Serving/bin/Release/net10.0/Workflows.Serving --urls "$serving_url" --Serving:AdminKeyFile=.serving/admin-key \
  --Logging:LogLevel:Microsoft.AspNetCore=Warning >.serving/serving.log 2>&1 </dev/null &
serving_pid=$!
echo "run.sh: serving service on $serving_url (admin key in .serving/admin-key unless Serving__AdminKey is set; log in .serving/serving.log)"

host_pid=
stop_serving() {
  kill -TERM "$serving_pid" 2>/dev/null || true
  wait "$serving_pid" 2>/dev/null || true
}
forward() {
  if [ -n "$host_pid" ]; then
    kill -s "$1" "$host_pid" 2>/dev/null || true
  fi
}
trap stop_serving EXIT
trap 'forward INT' INT
trap 'forward TERM' TERM

# The host runs as this script's child with SIGINT restored (a background child of a script ignores it) and the
# terminal as its input, so a Ctrl+C reaches it as it reaches a foreground program; kill -INT/-TERM of this script is
# passed on to it. The loop waits again when a signal interrupted the wait, until the host has exited.
( trap - INT QUIT; exec src/Workflows.Host/bin/Release/net10.0/Workflows.Host --WorkflowsAppPath=functions/Workflows.Functions/bin/Release/net10.0 \
  ${host_args[@]+"${host_args[@]}"} ) <&0 &
host_pid=$!
host_status=0
while true; do
  if wait "$host_pid"; then host_status=0; else host_status=$?; fi
  if ! kill -0 "$host_pid" 2>/dev/null; then
    break
  fi
done
# A signal may have interrupted the last wait just as the host exited: then its status is still there to collect
# (a status already collected answers 127).
if wait "$host_pid" 2>/dev/null; then
  host_status=0
else
  last_status=$?
  if [ "$last_status" -ne 127 ]; then host_status=$last_status; fi
fi
exit "$host_status"
