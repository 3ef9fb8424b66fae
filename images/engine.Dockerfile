# syntax=docker/dockerfile:1
# larum-engine: built from the workspace root (`make images`, or
#   docker build -f images/engine.Dockerfile -t ghcr.io/larum-dev/larum-engine:0.1.0 .).
# Static musl binary on distroless/static: no shell, no package manager, non-root
# (uid 65532), CA certificates and time zone data from the base image.
# `make images-oci` builds the same image without Docker (scripts/images-oci.sh): the
# same cargo command, user, entrypoint, cmd, ports, workdir and labels, all read from
# images/engine.image.json; tests/chart/tests/images.rs fails when the two disagree.

ARG RUST_VERSION=1.95
FROM docker.io/library/rust:${RUST_VERSION}-alpine AS build
RUN apk add --no-cache musl-dev make perl
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --target x86_64-unknown-linux-musl -p larum-engine --bin larum-engine \
 && install -D -m 0755 target/x86_64-unknown-linux-musl/release/larum-engine /out/larum-engine \
 && strip --strip-debug /out/larum-engine

FROM gcr.io/distroless/static-debian12:nonroot
LABEL org.opencontainers.image.title="larum-engine" \
      org.opencontainers.image.source="https://github.com/larum-dev/larum" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/larum-engine /usr/bin/larum-engine
USER 65532:65532
EXPOSE 9093 9094 9094/udp
WORKDIR /alertmanager
ENTRYPOINT ["/usr/bin/larum-engine"]
CMD ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"]
