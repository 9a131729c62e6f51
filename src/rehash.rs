//! `erasure rehash`: after the identifier normalisation changed (README, "Upgrading") or the hash
//! key was rotated (README, "Rotating the hash key"), recompute each request's identifier hashes
//! from its stored subject under every live hash key, so that searches and the legal hold list
//! find it by the identifier as it is normalised today, under the keys in use today.
//!
//! Idempotent: a request whose hashes are already current is not written. A forgotten request
//! (its subject purged) keeps its hashes: nothing is left to recompute them from. A stored subject
//! that today's rules refuse keeps its hashes too, and its id is reported: its tasks cannot run.
//! The legal hold list stores hashes only, so it is counted, not recomputed. `subject_hash`, the
//! short hash in log lines, is left as it was so that past log lines still match the request.

use crate::app::App;
use crate::store::rehash::LegalHoldCounts;
use crate::store::StoreError;
use erasure_connector::Subject;
use uuid::Uuid;

/// What one run did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub read: u64,
    pub updated: u64,
    pub current: u64,
    /// Requests whose subject was purged: their hashes stay as they were.
    pub forgotten: u64,
    /// Requests whose stored subject today's rules refuse (ids only: no identifier).
    pub invalid: Vec<Uuid>,
    /// Requests that the legal hold list holds once their hashes were updated.
    pub held: u64,
    pub legal_holds: LegalHoldCounts,
}

pub async fn run(app: &App, batch_size: i64) -> Result<Report, StoreError> {
    let mut report = Report::default();
    let mut after = None;
    let key_ids = app.hasher.key_ids();
    loop {
        let rows = app.store.stored_subjects(after, batch_size).await?;
        let Some(last) = rows.last() else { break };
        after = Some(last.id);
        let mut updates = Vec::new();
        for row in rows {
            report.read += 1;
            let Some(subject) = row.subject else {
                report.forgotten += 1;
                continue;
            };
            let Ok(subject) = serde_json::from_value::<Subject>(subject) else {
                report.invalid.push(row.id);
                continue;
            };
            let hashes = app.hasher.identifiers(&subject);
            if hashes == row.identifier_hashes && row.hash_key_ids.as_ref() == Some(&key_ids) {
                report.current += 1;
            } else {
                updates.push((row.id, row.identifier_hashes, hashes));
            }
        }
        let (updated, held) = app.store.replace_identifier_hashes(&updates, &key_ids, app.clock.now()).await?;
        report.updated += updated;
        report.held += held;
        tracing::info!(read = report.read, updated = report.updated, "Rehash: one batch done.");
    }
    report.legal_holds = app.store.legal_hold_counts().await?;
    Ok(report)
}

impl Report {
    /// The lines `erasure rehash` prints: counts and request ids, never an identifier.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "requests: {} read, {} updated, {} already current, {} forgotten, {} no longer valid",
            self.read,
            self.updated,
            self.current,
            self.forgotten,
            self.invalid.len()
        )];
        lines.push(format!("held by the legal hold list: {}", self.held));
        for id in &self.invalid {
            lines.push(format!("no longer valid: {id}"));
        }
        if !self.invalid.is_empty() {
            lines.push(
                "  (their stored subject fails today's rules: their tasks fail; the product must submit them again)"
                    .into(),
            );
        }
        let active: i64 = self.legal_holds.active.iter().map(|(_, n)| n).sum();
        let kinds: Vec<String> = self.legal_holds.active.iter().map(|(kind, n)| format!("{n} {kind}")).collect();
        let kinds = if kinds.is_empty() { String::new() } else { format!(" ({})", kinds.join(", ")) };
        lines.push(format!("legal hold entries: {active} active{kinds}, {} released", self.legal_holds.released));
        if active > 0 {
            lines.push(
                "  (stored as hashes only, not recomputed: re-enter each e-mail or phone entry whose identifier \
                 normalises differently today; see the README, \"Upgrading\")"
                    .into(),
            );
        }
        lines
    }
}
