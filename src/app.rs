//! What every loop shares: settings, the store, the broker, the clock and the hasher.

use crate::amqp::Broker;
use crate::clock::Clock;
use crate::config::{ConfigError, Settings};
use crate::identity::Hasher;
use crate::store::Store;
use erasure_connector::tls::PostgresTls;
use secrecy::SecretString;
use std::collections::BTreeSet;
use std::sync::Arc;

pub struct App {
    pub settings: Settings,
    pub store: Store,
    pub broker: Broker,
    pub clock: Arc<dyn Clock>,
    pub hasher: Hasher,
    /// `database.direct_url` (else `url`): LISTEN's connection, which a pooler would break.
    pub database_direct_url: SecretString,
    /// The TLS connector of every PostgreSQL connection (the pool's and LISTEN's).
    pub database_tls: PostgresTls,
    /// Every configured connector instance, enabled or not: what `systems` and `ids` may name.
    pub known_systems: BTreeSet<String>,
    /// Checks the signatures of intake messages.
    pub verifier: crate::intake::signature::Verifier,
    /// Signs receipts, and the public keys `/.well-known/erasure-keys` publishes.
    pub receipt_keys: crate::receipt::keys::ReceiptKeys,
    /// Whether this process's loops are running (`/readyz`).
    pub liveness: crate::liveness::Liveness,
}

impl App {
    /// Resolve secrets and build the pool; connects to nothing yet.
    pub fn new(settings: Settings, clock: Arc<dyn Clock>) -> Result<App, ConfigError> {
        let database_url = settings.database_url()?;
        let database_direct_url = settings.database_direct_url()?;
        let database_tls = settings.database_tls()?;
        let store = Store::connect(&database_url, settings.database.pool_size, &database_tls)
            .map_err(|e| settings.key_error("database.url", e.to_string()))?
            .with_direct_url(database_direct_url.clone(), &database_tls)
            .with_vault(settings.data_keys()?)
            .with_expiring_copies(&settings.retention.copies)
            .with_verification(settings.verification.enabled);
        let broker = Broker::new(settings.amqp_urls()?, settings.amqp.clone()).with_tls(settings.amqp_tls()?);
        let hasher = Hasher::new(settings.hash_key()?).with_retired(settings.retired_hash_keys()?);
        let known_systems = settings.connectors.keys().cloned().collect();
        let verifier = crate::intake::signature::Verifier::from_settings(&settings.intake)?;
        let receipt_keys = settings.receipt_keys()?;
        Ok(App {
            settings,
            store,
            broker,
            clock,
            hasher,
            database_direct_url,
            database_tls,
            known_systems,
            verifier,
            receipt_keys,
            liveness: crate::liveness::Liveness::default(),
        })
    }
}
