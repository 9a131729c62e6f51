//! `erasure keys rotate`: after a new data key was put first in `[encryption] keys_env` (and
//! every worker restarted with it), re-seal every stored value sealed with an older key, and seal
//! what requests, dead letters and events from before encryption still hold in clear. Then the
//! old key can leave the list. Prints counts only; safe to run again.
//!
//! `erasure keys hashes`: what still depends on each hash key (README, "Rotating the hash key").

use crate::app::App;
use crate::store::StoreError;

/// How many rows of each table were re-sealed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Report {
    pub requests: u64,
    pub dead_letters: u64,
    pub events: u64,
}

impl Report {
    pub fn lines(&self, key_id: &str) -> String {
        format!(
            "re-sealed with the data key `{key_id}`: {} request(s), {} dead letter(s), {} event(s)",
            self.requests, self.dead_letters, self.events
        )
    }
}

pub async fn rotate(app: &App, batch_size: i64) -> Result<Report, StoreError> {
    let mut report = Report::default();
    loop {
        let n = app.store.reseal_requests(batch_size).await?;
        report.requests += n;
        if n == 0 {
            break;
        }
    }
    loop {
        let n = app.store.reseal_dead_letters(batch_size).await?;
        report.dead_letters += n;
        if n == 0 {
            break;
        }
    }
    loop {
        let n = app.store.reseal_outbox(batch_size).await?;
        report.events += n;
        if n == 0 {
            break;
        }
    }
    tracing::info!(
        requests = report.requests,
        dead_letters = report.dead_letters,
        events = report.events,
        "Data keys rotated."
    );
    Ok(report)
}

/// `erasure keys hashes`: what depends on each hash key, and whether a retired key can leave
/// `[security] retired_hash_keys_env`. Key ids and counts only.
pub async fn hash_key_lines(app: &App) -> Result<Vec<String>, StoreError> {
    let configured = app.hasher.key_ids();
    let current = app.hasher.key_id();
    let report = app.store.hash_key_report(current).await?;
    let mut lines = vec![format!("current hash key: {current}")];
    let mut keys = report.keys.clone();
    for id in &configured {
        if keys.iter().all(|k| &k.key_id != id) {
            keys.push(crate::store::hash_keys::HashKeyUse { key_id: id.clone(), ..Default::default() });
        }
    }
    for key in &keys {
        let role = match configured.iter().position(|id| id == &key.key_id) {
            Some(0) => "current",
            Some(_) => "retired",
            None => "not configured",
        };
        lines.push(format!(
            "key {} ({role}): {} request(s), {} active legal hold entr{}",
            key.key_id,
            key.requests,
            key.legal_holds,
            if key.legal_holds == 1 { "y" } else { "ies" }
        ));
        if role == "current" {
            continue;
        }
        let alone = key.rehashable + key.tombstones + key.legal_holds;
        if alone == 0 {
            lines.push("  nothing depends on it alone: it can leave the list of retired keys".into());
            continue;
        }
        lines.push(format!(
            "  found only through it: {} open request(s) (run `erasure rehash`), {} forgotten request(s) \
             (suppression and replay checks need it while they are kept), {} legal hold entr{} (re-enter them)",
            key.rehashable,
            key.tombstones,
            key.legal_holds,
            if key.legal_holds == 1 { "y" } else { "ies" }
        ));
    }
    if report.unrecorded_requests + report.unrecorded_legal_holds > 0 {
        lines.push(format!(
            "stored before key ids: {} request(s), {} legal hold entr{} (attributed to the hash key when a \
             worker starts with no retired key)",
            report.unrecorded_requests,
            report.unrecorded_legal_holds,
            if report.unrecorded_legal_holds == 1 { "y" } else { "ies" }
        ));
    }
    Ok(lines)
}
