//! End-to-end tests against real PostgreSQL and RabbitMQ (started by `scripts/test`) and the
//! vendor simulator. One binary, several modules, so linking stays cheap.

mod support;

mod api;
mod audit_chain;
mod cli;
mod compose;
mod container;
mod dashboard;
mod deploying;
mod forgetting;
mod gauges;
mod grace;
mod hash_keys;
mod hostile;
mod intake;
mod lifecycle;
mod mail;
mod observability;
mod ops_cli;
mod pipeline;
mod probes;
mod processes;
mod receipts;
mod retries;
mod secrets;
mod signing;
mod telemetry;
mod tls;
mod vendors;
mod verification;
mod wakes;
