#!/usr/bin/env bash
# The Pulumi toolchain for machines that cannot download it (they reach only the Go module
# proxy, npm and Debian). Users with internet install Pulumi the ordinary way and skip this.
#
#  1. builds the `pulumi` CLI at exactly the version of the @pulumi/pulumi SDK pinned in
#     package.json, and the Node.js language host, from the Go module proxy (module lists and
#     checksums: toolchain/go/*/go.{mod,sum}); binaries are cached by version and go.sum hash
#     outside the repo (MATRIX_TOOLCHAIN_CACHE, default ~/.cache/matrix-pulumi);
#  2. links them into a directory on PATH (MATRIX_BIN_DIR, default /usr/local/bin);
#  3. installs the resource plugins `docker` and `command` at the versions the npm SDKs request.
#     The real ones cannot be built here: the proxy refuses their modules (the script shows the
#     exact refusal). In their place it installs this project's stand-ins (toolchain/standin/,
#     the docker and command resources this program uses, behind the real plugin protocol),
#     and says so. With internet, delete them (`pulumi plugin rm resource docker`) and let
#     Pulumi download the real ones.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${MATRIX_TOOLCHAIN_CACHE:-$HOME/.cache/matrix-pulumi}"
bindir="${MATRIX_BIN_DIR:-/usr/local/bin}"
plugins="${PULUMI_HOME:-$HOME/.pulumi}/plugins"
say() { echo "install-pulumi: $*"; }

command -v go >/dev/null || { echo "install-pulumi: Go is needed to build Pulumi from the Go module proxy (apt-get install golang, or go.dev/dl)" >&2; exit 1; }
command -v node >/dev/null || { echo "install-pulumi: Node.js is needed (it reads the pinned versions from package.json)" >&2; exit 1; }

# The one place versions live: the exact pins of the npm SDKs.
pin() { node -p "const v = require('$root/package.json').dependencies['$1']; /^\\d+\\.\\d+\\.\\d+$/.test(v) ? v : 'UNPINNED ' + v"; }
sdk="$(pin @pulumi/pulumi)"; docker_v="$(pin @pulumi/docker)"; command_v="$(pin @pulumi/command)"
for v in "$sdk" "$docker_v" "$command_v"; do
  case "$v" in UNPINNED*) echo "install-pulumi: package.json must pin @pulumi/pulumi, @pulumi/docker and @pulumi/command exactly (found: $v)" >&2; exit 1;; esac
done
cli_mod="$root/toolchain/go/cli/go.mod"
grep -q "github.com/pulumi/pulumi/pkg/v3 v$sdk\$" "$cli_mod" || {
  echo "install-pulumi: toolchain/go/cli/go.mod does not require github.com/pulumi/pulumi/pkg/v3 v$sdk (the SDK in package.json);" >&2
  echo "  update it: cd toolchain/go/cli && go get github.com/pulumi/pulumi/pkg/v3@v$sdk github.com/pulumi/pulumi/sdk/v3@v$sdk && go mod tidy" >&2
  exit 1
}

# The language host left the sdk module after v3.68.0 for a module of its own that the proxy
# does not serve; v3.68.0's host speaks the same protocol to the CLI and the SDK.
host_v="$(sed -n 's#^require github.com/pulumi/pulumi/sdk/v3 v\(.*\)$#\1#p' "$root/toolchain/go/language-nodejs/go.mod")"
# One folder per set of inputs: the CLI looks for its language host beside itself.
key="$(cat "$root"/toolchain/go/*/go.mod "$root"/toolchain/go/*/go.sum | sha256sum | cut -c1-12)"
dist="$cache/pulumi-v$sdk-$key"

build() { # <folder> <package> <binary> <version for the linker>
  local work="$cache/build/$1" t0=$SECONDS
  if [ -x "$dist/$3" ]; then say "$3 $4: cached in $dist"; return; fi
  mkdir -p "$work" "$dist"
  cp "$root/toolchain/go/$1"/{go.mod,go.sum,tools.go} "$work/"
  say "$3 $4: building $2 from the Go module proxy (first time: several minutes)"
  (cd "$work" && GOFLAGS=-mod=readonly go build -o "$dist/$3.tmp" \
      -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$4" "$2")
  mv "$dist/$3.tmp" "$dist/$3"
  say "$3 $4: built in $((SECONDS - t0)) s"
}
build cli github.com/pulumi/pulumi/pkg/v3/cmd/pulumi pulumi "$sdk"
build language-nodejs github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs pulumi-language-nodejs "$host_v"

if [ -w "$bindir" ] || mkdir -p "$bindir" 2>/dev/null; then
  ln -sfn "$dist/pulumi" "$bindir/pulumi"
  ln -sfn "$dist/pulumi-language-nodejs" "$bindir/pulumi-language-nodejs"
  say "pulumi $("$bindir/pulumi" version) and its Node.js language host linked into $bindir"
else
  say "cannot write $bindir: add $dist to PATH yourself"
fi

# Resource plugins. Show why the real ones cannot be built, then install the stand-ins.
probe() { # <module@version>
  local err
  if err="$(cd "$cache" && GOFLAGS=-mod=mod go mod download -json "$1" 2>&1)"; then
    say "note: $1 is now served by the proxy: building the real plugin from it is not implemented yet"
  else
    say "not available from the Go module proxy: $1: $(echo "$err" | grep -o '"Error": "[^"]*' | head -1 | cut -c11- | sed 's/\\n.*//')"
  fi
}
probe github.com/pulumi/pulumi-docker/provider/v5@c2baf6a4997f3f53052ee9284bcf2ef0cf8081ae
probe github.com/pulumi/pulumi-command/provider@7f3eb6f3b77cd0fa3895ba437a695dd393f7dd25

# The stand-ins run as JavaScript compiled from toolchain/standin (no compiler in every plugin
# process: the engine starts one per provider, so one per host).
[ -x "$root/node_modules/.bin/tsc" ] || { echo "install-pulumi: run npm ci first (the stand-in plugins are compiled with its TypeScript)" >&2; exit 1; }
standin="$cache/standin-$(cat "$root"/toolchain/standin/*.ts "$root/package-lock.json" | sha256sum | cut -c1-12)"
if [ ! -f "$standin/main.js" ]; then
  rm -rf "$standin.tmp"
  "$root/node_modules/.bin/tsc" --outDir "$standin.tmp" --target ES2020 --module commonjs --esModuleInterop --skipLibCheck \
    --strict --types node "$root"/toolchain/standin/*.ts
  mv "$standin.tmp" "$standin"
fi

install_standin() { # <name> <version>
  local dir="$plugins/resource-$1-v$2"
  mkdir -p "$dir"
  rm -f "$dir.partial"
  cat > "$dir/pulumi-resource-$1" <<EOF
#!/bin/sh
# Stand-in for the $1 resource plugin v$2, installed by $root/scripts/install-pulumi.sh
# because the real plugin cannot be downloaded or built on this machine.
NODE_PATH="$root/node_modules" exec node "$standin/main.js" $1 "\$@"
EOF
  chmod +x "$dir/pulumi-resource-$1"
  say "STAND-IN resource plugin $1 v$2 installed in $dir (toolchain/standin of $root, compiled to $standin)"
}
install_standin docker "$docker_v"
install_standin command "$command_v"
say "done"
