#!/usr/bin/env bash
# The genuine Pulumi toolchain for machines that cannot download it (they reach only the Go
# module proxy, npm and Debian). Users with internet install Pulumi the ordinary way and skip this:
# `pulumi up` downloads the same plugins.
#
#  1. the `pulumi` CLI at exactly the version of the @pulumi/pulumi SDK in package.json, from the
#     Go module proxy (toolchain/go/cli);
#  2. from the upstream sources in the team's third_party folder (MATRIX_THIRD_PARTY, default
#     ../shared/third_party beside the clone; checksums checked against toolchain/third-party.sha256)
#     plus the proxy for their dependencies: the Node.js language host at the CLI's version and the
#     resource plugins `command` and `docker` at the versions the npm SDKs pin (docker "5.2.0" is
#     the reconstruction third_party/README.md describes);
#  3. the CLI and the language host linked into MATRIX_BIN_DIR (default /usr/local/bin), the
#     plugins installed into Pulumi's plugin cache with `pulumi plugin install … --file`.
#
# Every build uses a go.mod/go.sum checked in under toolchain/go/<name> and -mod=readonly.
# Binaries are cached by the hash of their inputs (MATRIX_TOOLCHAIN_CACHE, default
# ~/.cache/matrix-pulumi): a second run takes seconds. Each step prints its time.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${MATRIX_TOOLCHAIN_CACHE:-$HOME/.cache/matrix-pulumi}"
bindir="${MATRIX_BIN_DIR:-/usr/local/bin}"
say() { echo "install-pulumi: $*"; }
die() { echo "install-pulumi: $*" >&2; exit 1; }
export GOFLAGS="-mod=readonly -buildvcs=false" GOTOOLCHAIN=local

command -v go >/dev/null || die "Go is needed to build Pulumi from the Go module proxy (apt-get install golang, or go.dev/dl)"
command -v node >/dev/null || die "Node.js is needed (it reads the pinned versions from package.json)"

third="${MATRIX_THIRD_PARTY:-$root/../shared/third_party}"
if [ ! -f "$third/SHA256SUMS" ]; then
  say "the upstream sources of the plugins are not here ($third, or set MATRIX_THIRD_PARTY)."
  say "A machine with internet installs Pulumi the ordinary way (https://www.pulumi.com/docs/install/);"
  say "\`pulumi up\` then downloads the docker and command plugins itself. Nothing was installed."
  exit 1
fi
third="$(cd "$third" && pwd)"

# The one place versions live: the exact pins of the npm SDKs.
pin() { node -p "const v = require('$root/package.json').dependencies['$1']; /^\\d+\\.\\d+\\.\\d+$/.test(v) ? v : 'UNPINNED ' + v"; }
sdk="$(pin @pulumi/pulumi)"; docker_v="$(pin @pulumi/docker)"; command_v="$(pin @pulumi/command)"
for v in "$sdk" "$docker_v" "$command_v"; do
  case "$v" in UNPINNED*) die "package.json must pin @pulumi/pulumi, @pulumi/docker and @pulumi/command exactly (found: $v)";; esac
done
grep -q "github.com/pulumi/pulumi/pkg/v3 v$sdk\$" "$root/toolchain/go/cli/go.mod" || die "toolchain/go/cli/go.mod does not require github.com/pulumi/pulumi/pkg/v3 v$sdk (the SDK in package.json);
  update it: cd toolchain/go/cli && go get github.com/pulumi/pulumi/pkg/v3@v$sdk github.com/pulumi/pulumi/sdk/v3@v$sdk && go mod tidy"

# The archives must be the ones this project's go.sum files were made from.
t0=$SECONDS
(cd "$third" && sha256sum --quiet -c "$root/toolchain/third-party.sha256") \
  || die "the archives in $third differ from toolchain/third-party.sha256 (the sources the checked-in go.sum files were made from)"
say "third_party archives verified in $((SECONDS - t0)) s ($third)"
archive() { grep -o "[^ ]*$1[^ ]*\$" "$root/toolchain/third-party.sha256" | sed "s#^[*]##; s#^#$third/#"; }

# build <name> <version> <binary> <source archives…> -- <commands run in the work folder>
# The work folder has the archives unpacked and toolchain/go/<name>/go.{mod,sum} copied to $MODDIR.
build() {
  local name="$1" version="$2" bin="$3"; shift 3
  local archives=() t0=$SECONDS key out work
  while [ "$1" != "--" ]; do archives+=("$1"); shift; done; shift
  key="$( (echo "$version $* $(go env GOVERSION)"; cat "${archives[@]}" "$root/toolchain/go/$name"/go.*) | sha256sum | cut -c1-12)"
  out="$cache/$name-$version-$key"
  eval "${name//-/_}_bin=\$out/\$bin"
  if [ -x "$out/$bin" ]; then say "$bin $version: cached ($out)"; return; fi
  work="$cache/build/$name"
  rm -rf "$work" && mkdir -p "$work"
  for a in "${archives[@]}"; do tar -xzf "$a" -C "$work"; done
  say "$bin $version: building (cold: minutes; each step timed)"
  (cd "$work" && OUT="$out/$bin" MODS="$root/toolchain/go/$name" VERSION="$version" bash -euo pipefail -c "$*")
  rm -rf "$work"
  say "$bin $version: built in $((SECONDS - t0)) s, $(du -h "$out/$bin" | cut -f1)"
}
# step <label> <command…>: one timed step of a build.
export -f say
step='s() { local t=$SECONDS l="$1"; shift; "$@"; say "  $l: $((SECONDS - t)) s"; }; '

build cli "$sdk" pulumi -- "$step"'
  cp "$MODS"/go.mod "$MODS"/go.sum "$MODS"/tools.go .
  s "go build (CLI)" go build -trimpath -o "$OUT" -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$VERSION" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi'

build language-nodejs "$sdk" pulumi-language-nodejs "$(archive pulumi-language-nodejs-v$sdk)" -- "$step"'
  cd pulumi/sdk/nodejs/cmd/pulumi-language-nodejs
  cp "$MODS"/go.mod "$MODS"/go.sum .   # the relative replaces of the monorepo turned into versions
  s "go build (language host)" go build -trimpath -o "$OUT" -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$VERSION" .'

build command "$command_v" pulumi-resource-command "$(archive pulumi-command-v$command_v)" -- "$step"'
  cd pulumi-command/provider
  cp "$MODS"/go.mod "$MODS"/go.sum .
  s "go build (command provider)" go build -trimpath -o "$OUT" -ldflags "-X github.com/pulumi/pulumi-command/provider/pkg/version.Version=$VERSION" ./cmd/pulumi-resource-command'

# docker: the provider made ready for 5.2.0 (schema regenerated by its own tfgen) beside
# kreuzwerker's upstream module with pulumi-docker's two patches applied (third_party/README.md).
build docker "$docker_v" pulumi-resource-docker "$(archive pulumi-docker-$docker_v-prepared)" "$(archive terraform-provider-docker-)" -- "$step"'
  cd provider
  cp "$MODS"/go.mod "$MODS"/go.sum .
  (cd cmd/pulumi-resource-docker && s "schema-embed.json (go run generate.go)" go run generate.go)
  CGO_ENABLED=0 s "go build (docker provider)" go build -trimpath -tags no_compose -o "$OUT" \
    -ldflags "-X github.com/pulumi/pulumi-docker/provider/v5/pkg/version.Version=$VERSION -s -w" ./cmd/pulumi-resource-docker'

# The CLI looks for its language host beside its resolved executable: one folder for both.
dist="$cache/bin-$(cat "$cli_bin" "$language_nodejs_bin" | sha256sum | cut -c1-12)"
if [ ! -x "$dist/pulumi-language-nodejs" ]; then
  mkdir -p "$dist.tmp" && cp "$cli_bin" "$language_nodejs_bin" "$dist.tmp/" && rm -rf "$dist" && mv "$dist.tmp" "$dist"
fi
if [ -w "$bindir" ] || mkdir -p "$bindir" 2>/dev/null; then
  ln -sfn "$dist/pulumi" "$bindir/pulumi"
  ln -sfn "$dist/pulumi-language-nodejs" "$bindir/pulumi-language-nodejs"
  say "pulumi $("$bindir/pulumi" version) and its Node.js language host linked into $bindir"
else
  die "cannot write $bindir: set MATRIX_BIN_DIR to a folder on PATH"
fi

# Plugins: copied into Pulumi's plugin cache (nothing there points back at this clone).
plugins="${PULUMI_HOME:-$HOME/.pulumi}/plugins"
install_plugin() { # <name> <version> <binary>
  local have="$plugins/resource-$1-v$2/pulumi-resource-$1"
  if [ -f "$have" ] && cmp -s "$have" "$3"; then say "plugin $1 $2: installed"; return; fi
  PULUMI_SKIP_UPDATE_CHECK=true "$bindir/pulumi" plugin install resource "$1" "$2" --file "$3" --reinstall >/dev/null
  say "plugin $1 $2: installed from $3"
}
install_plugin command "$command_v" "$command_bin"
install_plugin docker "$docker_v" "$docker_bin"
say "done in $SECONDS s"
