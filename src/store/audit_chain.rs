//! The reads of `erasure audit verify`: the audit rows in chain order, each with its chain's
//! head, streamed (a chain at a time, through the index `audit_log_chain`), and the heads whose
//! rows are all gone.

use super::{Store, StoreError};
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};
use uuid::Uuid;

/// The chain of the audit rows that name no request (searches by identifier).
pub const OPERATOR_CHAIN: Uuid = Uuid::nil();

/// One audit row as stored, `detail` as PostgreSQL's text of the jsonb.
#[derive(Debug, Clone)]
pub struct ChainRow {
    pub id: i64,
    pub seq: i64,
    pub request_id: Option<Uuid>,
    pub task_id: Option<i64>,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub event: String,
    pub detail: String,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

impl ChainRow {
    pub fn chain(&self) -> Uuid {
        self.request_id.unwrap_or(OPERATOR_CHAIN)
    }
}

/// A chain's head: its length and last hash.
pub type Head = (i64, Vec<u8>);

/// A row and its chain's head, if the chain has one.
pub type RowWithHead = (ChainRow, Option<Head>);

const ROWS: &str = "SELECT a.id, a.seq, a.request_id, a.task_id, a.at, a.actor, a.event, a.detail::text,
                           a.prev_hash, a.hash, c.length, c.head
                    FROM audit_log a
                    LEFT JOIN audit_chains c
                           ON c.chain = coalesce(a.request_id, '00000000-0000-0000-0000-000000000000'::uuid)";
const ORDER: &str = "ORDER BY coalesce(a.request_id, '00000000-0000-0000-0000-000000000000'::uuid), a.seq";

impl Store {
    /// Every audit row (or one chain's: `Some(request id)`, the nil UUID for the operator chain),
    /// chain after chain, in position order.
    pub async fn audit_rows(
        &self,
        chain: Option<Uuid>,
    ) -> Result<impl Stream<Item = Result<RowWithHead, StoreError>>, StoreError> {
        let client = self.client().await?;
        let rows = match chain {
            None => {
                client
                    .query_raw(&format!("{ROWS} {ORDER}"), Vec::<&(dyn tokio_postgres::types::ToSql + Sync)>::new())
                    .await?
            }
            Some(chain) => {
                let sql = format!(
                    "{ROWS} WHERE coalesce(a.request_id, '00000000-0000-0000-0000-000000000000'::uuid) = $1 {ORDER}"
                );
                client.query_raw(&sql, [&chain as &(dyn tokio_postgres::types::ToSql + Sync)]).await?
            }
        };
        // The pooled connection lives as long as the stream.
        Ok(rows.map(move |row| {
            let _keep = &client;
            let row = row?;
            let head = row.get::<_, Option<i64>>(10).map(|length| (length, row.get::<_, Vec<u8>>(11)));
            let chain_row = ChainRow {
                id: row.get(0),
                seq: row.get(1),
                request_id: row.get(2),
                task_id: row.get(3),
                at: row.get(4),
                actor: row.get(5),
                event: row.get(6),
                detail: row.get(7),
                prev_hash: row.get(8),
                hash: row.get(9),
            };
            Ok((chain_row, head))
        }))
    }

    /// Chains whose head records rows when none is left (or only `chain`'s).
    pub async fn audit_heads_without_rows(&self, chain: Option<Uuid>) -> Result<Vec<(Uuid, i64)>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT c.chain, c.length FROM audit_chains c
                 WHERE c.length > 0 AND ($1::uuid IS NULL OR c.chain = $1)
                   AND NOT EXISTS (SELECT 1 FROM audit_log a
                       WHERE coalesce(a.request_id, '00000000-0000-0000-0000-000000000000'::uuid) = c.chain)
                 ORDER BY c.chain",
                &[&chain],
            )
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}
