#!/usr/bin/env bash
# One command from a fresh clone: installs Azurite from package.json when node_modules lacks it, creates
# local.settings.json from the sample when missing, builds the function app (Release) and runs it on
# http://127.0.0.1:7071. The host starts Azurite itself (data and log under .azurite/) when nothing listens on
# 127.0.0.1:10000; the emulator outlives a killed host, and a clean stop (Ctrl+C, kill -INT or kill -TERM of this
# script, which becomes the host) stops it after the host has given back its leases.
# Extra arguments go to the host, e.g. ./run.sh --urls http://127.0.0.1:8080
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -f node_modules/azurite/dist/src/azurite.js ]; then
  echo "run.sh: installing Azurite (npm ci) ..."
  npm ci --no-audit --no-fund
fi

if [ ! -f local.settings.json ]; then
  cp local.settings.sample.json local.settings.json
fi

echo "run.sh: building the function app (Release; the first build takes a minute) ..."
dotnet build functions/Workflows.Functions -c Release -nologo -v quiet -clp:ErrorsOnly

# The host itself, not `dotnet run`: signals sent to this script reach the host, which stops cleanly.
exec functions/Workflows.Functions/bin/Release/net10.0/Workflows.Functions "$@"
