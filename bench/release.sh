#!/usr/bin/env bash
# Release build: static binaries (CGO off) for every release target, stamped
# with version, commit and date; a SHA-256 checksums file; a short changelog.
# Then it checks what it built: every binary is static, the native one prints
# the stamped version, and the checksums verify.
#
#   bash bench/release.sh                      # version from `git describe`
#   VERSION=v1.2.0 OUT=dist bash bench/release.sh
#
# Output (OUT, default bench/results/release, which git ignores):
#   hookflow_<version>_<os>_<arch>[.exe]   one per target
#   SHA256SUMS                             `sha256sum -c SHA256SUMS` checks them
#   CHANGELOG.md                           commits since the previous tag (or the last 30)
#
# Builds are reproducible: -trimpath, no VCS stamping, and the date is the
# commit's (not the clock's), so the same commit gives the same bytes.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export PATH="$PATH:/usr/local/go/bin"

TARGETS=${TARGETS:-"linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64"}
OUT=${OUT:-$ROOT/bench/results/release}

COMMIT=$(git rev-parse HEAD)
SHORT=${COMMIT:0:12}
DIRTY=""
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
	DIRTY=-dirty # built with uncommitted changes
fi
COMMIT+=$DIRTY
SHORT+=$DIRTY
VERSION=${VERSION:-$(git describe --tags --match 'v*' --dirty 2>/dev/null || echo "0.1.0-dev+$SHORT")}
case "$VERSION" in
*[!A-Za-z0-9._+-]*) echo "release: VERSION $VERSION: use letters, digits and . _ + - only" >&2; exit 1 ;;
esac
DATE=$(TZ=UTC git log -1 --date=format-local:%Y-%m-%dT%H:%M:%SZ --format=%cd HEAD)
LDFLAGS="-s -w -X main.version=$VERSION -X main.commit=$COMMIT -X main.date=$DATE"

mkdir -p "$OUT"
rm -f "$OUT"/hookflow_* "$OUT/SHA256SUMS" "$OUT/CHANGELOG.md" # an earlier release's files only
echo "release $VERSION (commit $COMMIT, $DATE) into $OUT"
for target in $TARGETS; do
	os=${target%/*} arch=${target#*/}
	ext=""
	[ "$os" = windows ] && ext=.exe
	bin="hookflow_${VERSION}_${os}_${arch}${ext}"
	start=$(date +%s)
	CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -buildvcs=false -ldflags "$LDFLAGS" \
		-o "$OUT/$bin" ./cmd/hookflow
	# Static: no cgo, so no libc to match on the target machine.
	if ! go version -m "$OUT/$bin" | grep -q 'CGO_ENABLED=0'; then
		echo "release: $bin was not built with CGO_ENABLED=0" >&2
		exit 1
	fi
	printf '  %-52s %6s KiB  %3ss\n' "$bin" $(( $(stat -c %s "$OUT/$bin") / 1024 )) $(( $(date +%s) - start ))
done

# The native binary reports what was stamped.
native="$OUT/hookflow_${VERSION}_$(go env GOOS)_$(go env GOARCH)"
[ "$(go env GOOS)" = windows ] && native="$native.exe"
if [ -x "$native" ]; then
	got=$("$native" version)
	want="hookflow $VERSION (commit $SHORT, built $DATE,"
	case "$got" in
	"$want"*) echo "  native: $got" ;;
	*) echo "release: $native version printed '$got', want it to start with '$want'" >&2; exit 1 ;;
	esac
fi

(
	cd "$OUT"
	sha256sum hookflow_* >SHA256SUMS
	sha256sum --quiet -c SHA256SUMS
)
echo "  SHA256SUMS verified ($(wc -l <"$OUT/SHA256SUMS") files)"

prev=$(git describe --tags --match 'v*' --abbrev=0 HEAD^ 2>/dev/null || true)
{
	echo "# hookflow $VERSION"
	echo
	echo "Built $DATE from commit $COMMIT."
	echo
	if [ -n "$prev" ]; then
		echo "Changes since $prev:"
		echo
		git log --no-merges --format='- %s (%h)' "$prev..HEAD"
	else
		echo "Latest changes (no earlier release tag):"
		echo
		git log --no-merges --format='- %s (%h)' -30 HEAD
	fi
} >"$OUT/CHANGELOG.md"
echo "  CHANGELOG.md: $(grep -c '^- ' "$OUT/CHANGELOG.md") commits"
