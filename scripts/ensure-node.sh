#!/usr/bin/env bash
# Source this file (`. scripts/ensure-node.sh`) to get a Node >= 22.19 first on PATH.
# Effect 4's Node packages and undici 8 need it; machine images may still ship Node 20.
# When the system Node is too old, node@24 comes from the npm registry (a real binary packaged
# there) into .tools/, which git ignores, and is reused on the next run.
_sy_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_sy_tools="$_sy_root/.tools/node"

_sy_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=19)?0:1)'
}

if [ -x "$_sy_tools/node_modules/.bin/node" ]; then
  export PATH="$_sy_tools/node_modules/.bin:$PATH"
fi
if ! _sy_node_ok; then
  echo "ensure-node: $(node --version 2>/dev/null || echo 'no node') is older than 22.19; installing node@24 into .tools/node" >&2
  mkdir -p "$_sy_tools"
  npm install --prefix "$_sy_tools" --no-save --no-audit --no-fund --loglevel=error node@24 >&2 || return 1 2>/dev/null || exit 1
  export PATH="$_sy_tools/node_modules/.bin:$PATH"
  _sy_node_ok || { echo "ensure-node: node@24 did not install" >&2; return 1 2>/dev/null || exit 1; }
fi
echo "ensure-node: using node $(node --version) at $(command -v node)" >&2
unset _sy_root _sy_tools
