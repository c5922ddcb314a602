#!/usr/bin/env bash
# Lint the live view's JavaScript (mpq_app/ui/live_js) and run its node tests (tests/js); exits
# non-zero on any failure. Installs ESLint and its two packages from package-lock.json
# (npm ci) when node_modules is missing or was installed from another lock file.
set -euo pipefail

cd "$(dirname "$0")/.."

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "check_js: node and npm are needed (Node.js 20.19 or newer)" >&2
    exit 1
fi

# the lock file node_modules was installed from, kept beside it
installed=node_modules/.installed-package-lock.json
if ! cmp -s package-lock.json "$installed"; then
    echo "== npm ci (node_modules missing or stale)"
    npm ci --no-audit --no-fund </dev/null
    cp package-lock.json "$installed"
fi

echo "== eslint"
npx --no -- eslint eslint.config.js mpq_app/ui/live_js tests/js

echo "== node --test"
node --test tests/js/
