//! One audit row's hash, and the check of one chain. The format ("erasure-audit-v1") is the one
//! the trigger of migration V11 computes; README, "Proof of erasure", documents it:
//! `hash = SHA-256(prev_hash || "erasure-audit-v1" || id || seq || request_id || task_id || at
//! || actor || event || detail)`, each field as its length in UTF-8 bytes, `:`, then its UTF-8
//! bytes (empty for NULL); `at` in microseconds since 1970-01-01 UTC; `detail` as PostgreSQL
//! prints the jsonb. The first row of a chain follows 32 zero bytes. No I/O here.

pub use crate::store::audit_chain::{ChainRow, OPERATOR_CHAIN};
use sha2::{Digest, Sha256};
use std::fmt;
use uuid::Uuid;

/// What comes before the first row of every chain.
pub const GENESIS: [u8; 32] = [0; 32];

/// The hash this row must carry after `prev`.
pub fn row_hash(prev: &[u8], row: &ChainRow) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(prev);
    hasher.update(b"erasure-audit-v1");
    let fields = [
        row.id.to_string(),
        row.seq.to_string(),
        row.request_id.map(|id| id.to_string()).unwrap_or_default(),
        row.task_id.map(|id| id.to_string()).unwrap_or_default(),
        row.at.timestamp_micros().to_string(),
    ];
    for field in fields.iter().map(String::as_str).chain([row.actor.as_str(), row.event.as_str(), row.detail.as_str()])
    {
        hasher.update(format!("{}:", field.len()).as_bytes());
        hasher.update(field.as_bytes());
    }
    hasher.finalize().into()
}

/// Where a chain stops holding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BreakKind {
    /// The row's content no longer gives its hash: it was modified.
    Modified,
    /// The row does not carry the hash of the row before it: a row before it was replaced.
    Relinked,
    /// Positions jump (rows removed before this one), or start past 1.
    Missing { expected_seq: i64 },
    /// The chain's head records more rows, or another last hash, than the rows present.
    TailMissing { head_length: i64 },
    /// Rows without a head: the chain's `audit_chains` row was removed.
    HeadMissing,
}

/// The first break of one chain; `row_id` is the first row that does not hold, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    pub chain: Uuid,
    pub row_id: Option<i64>,
    pub seq: Option<i64>,
    pub kind: BreakKind,
}

impl fmt::Display for Break {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let chain = match self.chain {
            OPERATOR_CHAIN => "the operator chain".to_string(),
            id => format!("request {id}"),
        };
        let at = match (self.row_id, self.seq) {
            (Some(id), Some(seq)) => format!("row {id} (position {seq})"),
            _ => "its end".to_string(),
        };
        let what = match &self.kind {
            BreakKind::Modified => "the row's content does not match its hash: it was modified".to_string(),
            BreakKind::Relinked => "the row does not carry the hash of the row before it".to_string(),
            BreakKind::Missing { expected_seq } => format!("position {expected_seq} is missing: rows were removed"),
            BreakKind::TailMissing { head_length } => {
                format!("the chain's head records {head_length} row(s) and another last hash: rows were removed")
            }
            BreakKind::HeadMissing => "the chain has rows but no head in audit_chains".to_string(),
        };
        write!(f, "audit chain of {chain} breaks at {at}: {what}")
    }
}

/// The check of one chain, fed its rows in position order.
pub struct ChainCheck {
    chain: Uuid,
    prev: Vec<u8>,
    next_seq: i64,
    rows: i64,
    broken: Option<Break>,
}

impl ChainCheck {
    pub fn new(chain: Uuid) -> ChainCheck {
        ChainCheck { chain, prev: GENESIS.to_vec(), next_seq: 1, rows: 0, broken: None }
    }

    pub fn chain(&self) -> Uuid {
        self.chain
    }

    /// The next row of the chain; after a break the rest is only counted.
    pub fn push(&mut self, row: &ChainRow) {
        self.rows += 1;
        if self.broken.is_some() {
            return;
        }
        let kind = if row.seq != self.next_seq {
            Some(BreakKind::Missing { expected_seq: self.next_seq })
        } else if row.prev_hash != self.prev {
            Some(BreakKind::Relinked)
        } else if row_hash(&row.prev_hash, row) != row.hash.as_slice() {
            Some(BreakKind::Modified)
        } else {
            None
        };
        match kind {
            Some(kind) => {
                self.broken = Some(Break { chain: self.chain, row_id: Some(row.id), seq: Some(row.seq), kind })
            }
            None => {
                self.prev = row.hash.clone();
                self.next_seq += 1;
            }
        }
    }

    /// The verdict once every row was pushed, against the chain's head (`None`: no head row).
    /// Ok: the number of rows.
    pub fn finish(self, head: Option<(i64, &[u8])>) -> Result<i64, Break> {
        if let Some(broken) = self.broken {
            return Err(broken);
        }
        let end = |kind| Err(Break { chain: self.chain, row_id: None, seq: None, kind });
        match head {
            None if self.rows > 0 => end(BreakKind::HeadMissing),
            Some((length, hash)) if length != self.next_seq - 1 || (length > 0 && hash != self.prev.as_slice()) => {
                end(BreakKind::TailMissing { head_length: length })
            }
            _ => Ok(self.rows),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn chain(n: i64) -> Vec<ChainRow> {
        let request = Uuid::from_u128(7);
        let mut prev = GENESIS.to_vec();
        (1..=n)
            .map(|seq| {
                let mut row = ChainRow {
                    id: seq * 10,
                    seq,
                    request_id: Some(request),
                    task_id: (seq % 2 == 0).then_some(seq),
                    at: DateTime::from_timestamp_micros(1_764_000_000_123_456 + seq).unwrap(),
                    actor: "runner".into(),
                    event: format!("task.e{seq}"),
                    detail: r#"{"attempt": 1}"#.into(),
                    prev_hash: prev.clone(),
                    hash: vec![],
                };
                row.hash = row_hash(&prev, &row).to_vec();
                prev = row.hash.clone();
                row
            })
            .collect()
    }

    fn check(rows: &[ChainRow], head: Option<(i64, &[u8])>) -> Result<i64, Break> {
        let mut check = ChainCheck::new(rows[0].chain());
        rows.iter().for_each(|r| check.push(r));
        check.finish(head)
    }

    /// The same row hashed by the migration's SQL (`audit_row_hash`) on PostgreSQL 15:
    /// the two implementations agree byte for byte.
    #[test]
    fn a_row_hashes_as_the_database_hashes_it() {
        let row = ChainRow {
            id: 1,
            seq: 1,
            request_id: Some("11111111-1111-1111-1111-111111111111".parse().unwrap()),
            task_id: None,
            at: DateTime::parse_from_rfc3339("2026-12-03T10:00:00.123456Z").unwrap().into(),
            actor: "intake".into(),
            event: "request.received".into(),
            detail: r#"{"x": 1, "é": "ü"}"#.into(),
            prev_hash: GENESIS.to_vec(),
            hash: vec![],
        };
        assert_eq!(hex::encode(row_hash(&GENESIS, &row)), SQL_HASH);
    }
    const SQL_HASH: &str = "732ea96d5f07c7850420896b3a0a556fa91515f7ab3ca5a6c13c35684678ef07";

    #[test]
    fn an_intact_chain_holds_against_its_head() {
        let rows = chain(4);
        assert_eq!(check(&rows, Some((4, &rows[3].hash))), Ok(4));
    }

    #[test]
    fn a_modified_row_breaks_the_chain_there() {
        let mut rows = chain(4);
        rows[2].detail = r#"{"attempt": 2}"#.into();
        let broken = check(&rows, Some((4, &rows[3].hash.clone()))).unwrap_err();
        assert_eq!((broken.row_id, broken.kind.clone()), (Some(30), BreakKind::Modified));
        assert!(broken.to_string().contains("row 30 (position 3)"), "{broken}");
    }

    #[test]
    fn a_row_rehashed_after_a_change_breaks_the_next_link() {
        let mut rows = chain(4);
        rows[1].actor = "someone".into();
        rows[1].hash = row_hash(&rows[1].prev_hash, &rows[1]).to_vec();
        let broken = check(&rows, Some((4, &rows[3].hash.clone()))).unwrap_err();
        assert_eq!((broken.row_id, broken.kind), (Some(30), BreakKind::Relinked));
    }

    #[test]
    fn removed_rows_are_seen_in_the_middle_at_the_start_and_at_the_end() {
        let rows = chain(4);
        let head = rows[3].hash.clone();
        let without_second = [rows[0].clone(), rows[2].clone(), rows[3].clone()];
        assert_eq!(check(&without_second, Some((4, &head))).unwrap_err().kind, BreakKind::Missing { expected_seq: 2 });
        assert_eq!(check(&rows[1..], Some((4, &head))).unwrap_err().kind, BreakKind::Missing { expected_seq: 1 });
        assert_eq!(check(&rows[..3], Some((4, &head))).unwrap_err().kind, BreakKind::TailMissing { head_length: 4 });
        assert_eq!(check(&rows, None).unwrap_err().kind, BreakKind::HeadMissing);
    }
}
