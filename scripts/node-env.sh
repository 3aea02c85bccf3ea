# Sourced by scripts that install npm packages: native addons (better-sqlite3)
# compile with node-gyp, which must find Node's headers locally because it
# cannot download them here. Point it at the install prefix that has them.
if [ -z "${npm_config_nodedir:-}" ]; then
  prefix="$(dirname "$(dirname "$(command -v node)")")"
  if [ -f "$prefix/include/node/node.h" ]; then
    export npm_config_nodedir="$prefix"
  fi
fi
