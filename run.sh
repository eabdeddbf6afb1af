#!/usr/bin/env bash
# One command from a fresh clone: installs Azurite from package.json when node_modules lacks it, creates
# local.settings.json from the sample when missing, and starts the function app on http://127.0.0.1:7071.
# The host starts Azurite itself (data under .azurite/) when nothing listens on 127.0.0.1:10000, and stops it on exit.
# Extra arguments go to the host, e.g. ./run.sh --urls http://127.0.0.1:8080
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -f node_modules/azurite/dist/src/azurite.js ]; then
  npm ci --no-audit --no-fund
fi

if [ ! -f local.settings.json ]; then
  cp local.settings.sample.json local.settings.json
fi

exec dotnet run --project functions/Workflows.Functions -- "$@"
