# Multi-stage build of the `erasure` worker. Migrations are embedded in the binary and run at
# start-up under an advisory lock, so any number of containers can start together.
#
#   docker build -t erasure-worker .
#   docker run --rm -e ERASURE_HASH_KEY=... -e ERASURE_DATA_KEYS=... -e ERASURE__DATABASE__URL=... \
#       -e ERASURE__AMQP__URLS=... -v $PWD/config/production.toml:/etc/erasure/production.toml:ro \
#       erasure-worker --config /etc/erasure/production.toml run

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# Dependencies first, so that a source change does not rebuild them.
COPY Cargo.toml Cargo.lock ./
# Every workspace member's manifest (cargo loads them all), with stub sources and targets.
COPY connectors/sdk/Cargo.toml connectors/sdk/Cargo.toml
COPY connectors/webhook/Cargo.toml connectors/webhook/Cargo.toml
COPY connectors/zendesk/Cargo.toml connectors/zendesk/Cargo.toml
COPY connectors/intercom/Cargo.toml connectors/intercom/Cargo.toml
COPY connectors/twilio/Cargo.toml connectors/twilio/Cargo.toml
COPY connectors/elasticsearch/Cargo.toml connectors/elasticsearch/Cargo.toml
COPY connectors/loki/Cargo.toml connectors/loki/Cargo.toml
COPY connectors/sql/Cargo.toml connectors/sql/Cargo.toml
COPY sim/Cargo.toml sim/Cargo.toml
RUN mkdir -p src sim/src tests/e2e benches/chaos \
    && for c in connectors/*/; do mkdir -p "$c/src" && touch "$c/src/lib.rs"; done \
    && echo 'fn main() {}' > src/main.rs && touch src/lib.rs sim/src/lib.rs \
    && echo 'fn main() {}' > sim/src/main.rs && echo 'fn main() {}' > tests/e2e/main.rs \
    && echo 'fn main() {}' > benches/pipeline.rs && echo 'fn main() {}' > benches/chaos/main.rs \
    && cargo build --release --locked --bin erasure \
    && rm -rf src connectors/*/src sim/src tests benches
COPY . .
RUN touch src/main.rs src/lib.rs connectors/*/src/lib.rs sim/src/lib.rs \
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
