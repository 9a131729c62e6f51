# Multi-stage build of the `erasure` worker. Migrations are embedded in the binary and run at
# start-up under an advisory lock, so any number of containers can start together.
#
#   docker build -t erasure-worker .
#   docker run --rm -e ERASURE_HASH_KEY=... -e ERASURE__DATABASE__URL=... \
#       -e ERASURE__AMQP__URLS=... -v $PWD/config/production.toml:/etc/erasure/production.toml:ro \
#       erasure-worker --config /etc/erasure/production.toml run

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# Dependencies first, so that a source change does not rebuild them.
COPY Cargo.toml Cargo.lock ./
COPY connectors/sdk/Cargo.toml connectors/sdk/Cargo.toml
COPY connectors/webhook/Cargo.toml connectors/webhook/Cargo.toml
COPY sim/Cargo.toml sim/Cargo.toml
RUN mkdir -p src connectors/sdk/src connectors/webhook/src sim/src tests/e2e \
    && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && touch connectors/sdk/src/lib.rs connectors/webhook/src/lib.rs sim/src/lib.rs \
    && echo 'fn main() {}' > sim/src/main.rs && echo 'fn main() {}' > tests/e2e/main.rs \
    && cargo build --release --locked --bin erasure \
    && rm -rf src connectors/*/src sim/src tests
COPY . .
RUN touch src/main.rs src/lib.rs connectors/sdk/src/lib.rs connectors/webhook/src/lib.rs \
    && cargo build --release --locked --bin erasure

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home erasure
COPY --from=build /src/target/release/erasure /usr/local/bin/erasure
COPY config/ /etc/erasure/
USER 10001
# SIGTERM drains in-flight work (runner.drain_timeout) before exit.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/erasure"]
CMD ["--config", "/etc/erasure/production.example.toml", "run"]
