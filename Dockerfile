# Hookflow container image: `docker build -t hookflow .`
#
# Stage 1 builds a static binary (CGO off) and the files the final image
# needs; stage 2 is FROM scratch: the binary, CA certificates, the time-zone
# database, a non-root user (uid 10001) and /data. About 22 MB.
# (.ci/image.sh builds the final stage alone from a binary built outside, for
# machines that reach no image registry: keep its two COPY lines as they are.)
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=docker
ARG COMMIT=unknown
ARG DATE=unknown
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.date=${DATE}" \
      -o /rootfs/usr/local/bin/hookflow ./cmd/hookflow \
 && mkdir -p /rootfs/etc/ssl/certs /rootfs/usr/share /rootfs/tmp /data \
 && cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ \
 && cp -r /usr/share/zoneinfo /rootfs/usr/share/ \
 && echo 'hookflow:x:10001:10001:hookflow:/data:/nonexistent' >/rootfs/etc/passwd \
 && echo 'hookflow:x:10001:' >/rootfs/etc/group \
 && chmod 1777 /rootfs/tmp

FROM scratch
COPY --from=build /rootfs/ /
# COPY makes files root's: /data comes on its own, owned by the user.
COPY --from=build --chown=10001:10001 /data /data
USER 10001:10001
ENV HOOKFLOW_ADDR=:8080 \
    HOOKFLOW_DATA=/data \
    HOOKFLOW_BASE_URL=http://localhost:8080
VOLUME /data
EXPOSE 8080
# No shell or curl in the image: the binary checks its own /healthz (exit 0/1).
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/hookflow", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/hookflow"]
CMD ["serve"]
