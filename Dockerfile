# The `erasure` worker's image. Migrations are embedded in the binary and run at start-up under an
# advisory lock, so any number of containers can start together. README, "Deploying/Container".
#
#   docker build -t erasure-worker .          (or scripts/image, with Podman/Buildah)
#   docker run --rm -p 8080:8080 -p 9090:9090 \
#       -e ERASURE__DATABASE__URL=... -e ERASURE__AMQP__URLS=... -e ERASURE_DATABASE_PASSWORD=... \
#       -e ERASURE_HASH_KEY=... -e ERASURE_DATA_KEYS=... -e ERASURE_SIGNING_KEY=... \
#       erasure-worker
# Your own config: mount it and pass `--config /etc/erasure/production.toml run`.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
# The cache mounts keep downloaded crates and compiled dependencies between builds (BuildKit and
# Buildah); only the worker's binary is built. COPY keeps the files' times, which can be older than
# the cached build: touching them makes cargo rebuild this workspace's crates (not the crates.io ones).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    find . -path ./target -prune -o -type f -exec touch {} + \
    && cargo build --release --locked --bin erasure \
    && cp target/release/erasure /usr/local/bin/erasure

FROM debian:bookworm-slim
LABEL org.opencontainers.image.title="erasure-worker" \
      org.opencontainers.image.description="Turns \"delete my account\" events into tracked, proven erasures across vendor systems." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.documentation="README.md, Deploying"
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home erasure
COPY --from=build /usr/local/bin/erasure /usr/local/bin/erasure
COPY config/container.toml /etc/erasure/container.toml
# Reachable from outside the container, whichever config file is mounted (variables override
# files): the API, and the probes and metrics listener that every process serves.
ENV ERASURE__API__LISTEN=0.0.0.0:8080 \
    ERASURE__PROBES__LISTEN=0.0.0.0:9090
EXPOSE 8080 9090
USER 10001
# SIGTERM drains in-flight work (runner.drain_timeout) before exit.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/erasure"]
CMD ["--config", "/etc/erasure/container.toml", "run"]
