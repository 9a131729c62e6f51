//! `erasure audit verify [<id>]`: recompute every chain (or one request's) from the database
//! and report the first break of each, by row id. Prints request ids and row ids only.

use super::chain::{Break, BreakKind, ChainCheck};
use crate::store::audit_chain::Head;
use crate::store::{Store, StoreError};
use futures_util::StreamExt;
use uuid::Uuid;

/// What a verification found.
#[derive(Debug, Default)]
pub struct Report {
    pub chains: u64,
    pub rows: u64,
    pub breaks: Vec<Break>,
}

impl Report {
    pub fn lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self.breaks.iter().map(ToString::to_string).collect();
        let verdict = if self.breaks.is_empty() {
            "every chain holds".to_string()
        } else {
            format!("{} broken", self.breaks.len())
        };
        lines.push(format!("checked {} chain(s), {} row(s): {verdict}", self.chains, self.rows));
        lines
    }
}

/// Check every chain, or only `chain` (a request id; the nil UUID for the operator chain).
pub async fn run(store: &Store, chain: Option<Uuid>) -> Result<Report, StoreError> {
    let mut report = Report::default();
    let mut current: Option<(ChainCheck, Option<Head>)> = None;
    let rows = store.audit_rows(chain).await?;
    futures_util::pin_mut!(rows);
    while let Some(item) = rows.next().await {
        let (row, head) = item?;
        report.rows += 1;
        if current.as_ref().is_none_or(|(check, _)| check.chain() != row.chain()) {
            if let Some((check, head)) = current.take() {
                finish(&mut report, check, head);
            }
            current = Some((ChainCheck::new(row.chain()), head));
        }
        if let Some((check, _)) = current.as_mut() {
            check.push(&row);
        }
    }
    if let Some((check, head)) = current.take() {
        finish(&mut report, check, head);
    }
    for (chain, length) in store.audit_heads_without_rows(chain).await? {
        report.chains += 1;
        report.breaks.push(Break {
            chain,
            row_id: None,
            seq: None,
            kind: BreakKind::TailMissing { head_length: length },
        });
    }
    Ok(report)
}

fn finish(report: &mut Report, check: ChainCheck, head: Option<Head>) {
    report.chains += 1;
    if let Err(broken) = check.finish(head.as_ref().map(|(length, hash)| (*length, hash.as_slice()))) {
        report.breaks.push(broken);
    }
}
