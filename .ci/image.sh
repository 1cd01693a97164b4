#!/usr/bin/env bash
# Builds the Dockerfile's final stage (FROM scratch) from a static linux binary
# made outside and the host's CA certificates and time zones, for machines
# that reach no image registry (the build stage needs golang:1.26), with
# Debian's buildah (vfs storage: no overlay or fuse needed; run as root; no
# daemon), then
# inspects it (user, volume, port, healthcheck, entrypoint, env, files) and
# starts the server in it long enough for the image's healthcheck to pass.
#
#   bash .ci/image.sh BINARY [TAG]     # BINARY: e.g. from bench/release.sh
#
# Installs buildah when it is missing (apt-get). The image is removed from
# buildah's store (/var/lib/containers) at the end unless KEEP_IMAGE=1.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BINARY=${1:?usage: image.sh BINARY [TAG]}
TAG=${2:-localhost/hookflow:ci}
B=(buildah --storage-driver vfs)

if ! command -v buildah >/dev/null 2>&1; then
	echo "image: installing buildah"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah >/dev/null
fi
for f in /etc/ssl/certs/ca-certificates.crt /usr/share/zoneinfo/Europe/Paris; do
	[ -e "$f" ] || { echo "image: $f missing (apt-get install ca-certificates tzdata)" >&2; exit 1; }
done

ctx=$(mktemp -d /tmp/hookflow-image.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
r=$ctx/rootfs
mkdir -p "$r/usr/local/bin" "$r/etc/ssl/certs" "$r/usr/share" "$r/tmp" "$ctx/data"
install -m 0755 "$BINARY" "$r/usr/local/bin/hookflow"
cp /etc/ssl/certs/ca-certificates.crt "$r/etc/ssl/certs/"
cp -r /usr/share/zoneinfo "$r/usr/share/"
echo 'hookflow:x:10001:10001:hookflow:/data:/nonexistent' >"$r/etc/passwd"
echo 'hookflow:x:10001:' >"$r/etc/group"
chmod 1777 "$r/tmp"

# The Dockerfile's final stage, taking from this context what its build stage
# would have made: rootfs/ and data/.
sed -n '/^FROM scratch/,$p' "$ROOT/Dockerfile" |
	sed -e 's#^COPY --from=build /rootfs/ /$#COPY rootfs/ /#' \
		-e 's#^COPY --from=build --chown=10001:10001 /data /data$#COPY --chown=10001:10001 data/ /data/#' >"$ctx/Containerfile"
if grep -q -- '--from=' "$ctx/Containerfile" || ! grep -q '^FROM scratch' "$ctx/Containerfile"; then
	echo "image: the Dockerfile's final stage changed; teach .ci/image.sh its COPY lines:" >&2
	cat "$ctx/Containerfile" >&2
	exit 1
fi

start=$(date +%s)
# --format docker keeps HEALTHCHECK (the OCI image format has no such field).
"${B[@]}" build --quiet --format docker -f "$ctx/Containerfile" -t "$TAG" "$ctx" >/dev/null
echo "image: built $TAG in $(( $(date +%s) - start ))s"

size=$("${B[@]}" images --format '{{.Size}}' "$TAG" | head -1)
c='{{.Docker.Config'
got=$("${B[@]}" inspect --type image --format \
	"$c.User}} $c.Healthcheck.Test}} $c.Volumes}} $c.ExposedPorts}} $c.Entrypoint}} $c.Cmd}} $c.Env}}" "$TAG")
want='10001:10001 [CMD /usr/local/bin/hookflow healthcheck] map[/data:{}] map[8080/tcp:{}] [/usr/local/bin/hookflow] [serve] '
want+='[PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOOKFLOW_ADDR=:8080 HOOKFLOW_DATA=/data HOOKFLOW_BASE_URL=http://localhost:8080]'
if [ "$got" != "$want" ]; then
	printf 'image: config (user healthcheck volumes ports entrypoint cmd env)\n  got  %s\n  want %s\n' "$got" "$want" >&2
	exit 1
fi
echo "image: $size; user, healthcheck, /data volume, port 8080, entrypoint and env as in the Dockerfile"

# The files in the image are the ones given.
ctr=$("${B[@]}" from --quiet "$TAG")
mnt=$("${B[@]}" mount "$ctr")
status=0
cmp -s "$BINARY" "$mnt/usr/local/bin/hookflow" || { echo "image: binary differs" >&2; status=1; }
[ -s "$mnt/etc/ssl/certs/ca-certificates.crt" ] || { echo "image: no CA certificates" >&2; status=1; }
[ -s "$mnt/usr/share/zoneinfo/Europe/Paris" ] || { echo "image: no time-zone database" >&2; status=1; }
[ "$(stat -c %u "$mnt/data")" = 10001 ] || { echo "image: /data belongs to uid $(stat -c %u "$mnt/data")" >&2; status=1; }

# The server starts in it as the image's user, writes /data and passes the
# image's own healthcheck. (buildah run with chroot isolation: host network,
# no daemon; the server is stopped by its pid.)
port=""
for _ in $(seq 1 50); do # a port nothing listens on
	p=$((20000 + RANDOM % 12000)) # below the kernel's ephemeral range (32768+), which clients take from
	if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
"${B[@]}" run --isolation chroot "$ctr" -- /usr/local/bin/hookflow serve --addr "127.0.0.1:$port" >"$ctx/serve.log" 2>&1 &
srv=$!
healthy=""
for _ in $(seq 1 100); do
	if "${B[@]}" run --isolation chroot "$ctr" -- /usr/local/bin/hookflow healthcheck --addr "127.0.0.1:$port" >"$ctx/health.log" 2>&1; then
		healthy=1
		break
	fi
	kill -0 "$srv" 2>/dev/null || break
	sleep 0.3
done
if [ -n "$healthy" ]; then
	echo "image: server healthy in the image: $(cat "$ctx/health.log")"
	# /healthz answers 200 only after a durable write to /data; as whom?
	uid=""
	for p in /proc/[0-9]*; do
		if [ "$(tr '\0' ' ' 2>/dev/null <"$p/cmdline")" = "/usr/local/bin/hookflow serve --addr 127.0.0.1:$port " ]; then
			uid=$(awk '/^Uid:/ {print $2}' "$p/status")
		fi
	done
	[ "$uid" = 10001 ] || { echo "image: the server runs as uid '$uid', not 10001" >&2; status=1; }
else
	echo "image: the server in the image did not become healthy:" >&2
	cat "$ctx/serve.log" "$ctx/health.log" >&2
	status=1
fi
kill -TERM "$srv" 2>/dev/null || true
wait "$srv" 2>/dev/null || true

"${B[@]}" umount "$ctr" >/dev/null
"${B[@]}" rm "$ctr" >/dev/null
[ "${KEEP_IMAGE:-}" = 1 ] || "${B[@]}" rmi "$TAG" >/dev/null
[ "$status" = 0 ] && echo "image: ok ($TAG)"
exit "$status"
