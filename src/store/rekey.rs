//! `erasure keys rotate`: re-seal with the current data key every value sealed with another one,
//! and seal what rows from before encryption still hold in clear. Batches of `limit` rows per
//! transaction, each row locked while it is re-sealed; safe to run again, and alongside workers.

use super::sealed::{frame_dead_letter, identifiers_from, Identifiers, IDENTIFIER_COLUMNS, OUTBOX_REPLY_TO};
use super::{Store, StoreError};
use crate::vault::Vault;
use uuid::Uuid;

impl Store {
    /// Re-seal up to `limit` requests; returns how many.
    pub async fn reseal_requests(&self, limit: i64) -> Result<u64, StoreError> {
        let vault = self.vault();
        let current = current_key(vault)?;
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        let rows = tx
            .query(
                &format!(
                    "SELECT id, {IDENTIFIER_COLUMNS} FROM requests r
                     WHERE forgotten_at IS NULL
                       AND (identifiers_key_id <> $1 OR (identifiers_sealed IS NULL AND subject IS NOT NULL))
                     ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED"
                ),
                &[&current, &limit],
            )
            .await?;
        for row in &rows {
            let id: Uuid = row.get(0);
            let identifiers: Identifiers = identifiers_from(vault, id, row, 1)?.unwrap_or_default();
            let sealed = identifiers.seal(vault, id)?;
            tx.execute(
                "UPDATE requests SET identifiers_sealed = $2, identifiers_key_id = $3, subject = NULL, reply_to = NULL
                 WHERE id = $1",
                &[&id, &sealed.bytes, &sealed.key_id],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(rows.len() as u64)
    }

    /// Re-seal up to `limit` dead letters; returns how many.
    pub async fn reseal_dead_letters(&self, limit: i64) -> Result<u64, StoreError> {
        let vault = self.vault();
        let current = current_key(vault)?;
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        let ids: Vec<i64> = tx
            .query(
                "SELECT id FROM dead_letters
                 WHERE sealed_key_id <> $1 OR (sealed IS NULL AND body IS NOT NULL)
                 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED",
                &[&current, &limit],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        for id in &ids {
            let letter = self.dead_letter_in(&tx, *id).await?;
            let clear = frame_dead_letter(&letter.0, letter.1.as_deref());
            let sealed = vault.seal(&id.to_be_bytes(), super::sealed::DEAD_LETTER, &clear)?;
            tx.execute(
                "UPDATE dead_letters SET sealed = $2, sealed_key_id = $3, body = NULL, reply_to = NULL WHERE id = $1",
                &[id, &sealed.bytes, &sealed.key_id],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(ids.len() as u64)
    }

    /// Re-seal up to `limit` events' `reply_to`; returns how many.
    pub async fn reseal_outbox(&self, limit: i64) -> Result<u64, StoreError> {
        let vault = self.vault();
        let current = current_key(vault)?;
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        let rows = tx
            .query(
                "SELECT id, message_id, routing_key, reply_to_sealed, reply_to_key_id FROM outbox
                 WHERE destination = 'reply'
                   AND (reply_to_key_id <> $1 OR (reply_to_sealed IS NULL AND routing_key <> ''))
                 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED",
                &[&current, &limit],
            )
            .await?;
        for row in &rows {
            let (id, message_id): (i64, Uuid) = (row.get(0), row.get(1));
            let clear = match (row.get::<_, Option<Vec<u8>>>(3), row.get::<_, Option<String>>(4)) {
                (Some(sealed), Some(key_id)) => vault.open(&key_id, message_id.as_bytes(), OUTBOX_REPLY_TO, &sealed)?,
                _ => row.get::<_, String>(2).into_bytes(),
            };
            let sealed = vault.seal(message_id.as_bytes(), OUTBOX_REPLY_TO, &clear)?;
            tx.execute(
                "UPDATE outbox SET reply_to_sealed = $2, reply_to_key_id = $3, routing_key = '' WHERE id = $1",
                &[&id, &sealed.bytes, &sealed.key_id],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(rows.len() as u64)
    }

    /// A dead letter's body and reply_to, opened, inside the caller's transaction.
    async fn dead_letter_in(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        id: i64,
    ) -> Result<(Vec<u8>, Option<String>), StoreError> {
        let row = tx
            .query_one("SELECT body, reply_to, sealed, sealed_key_id FROM dead_letters WHERE id = $1", &[&id])
            .await?;
        match (row.get::<_, Option<Vec<u8>>>(2), row.get::<_, Option<String>>(3)) {
            (Some(sealed), Some(key_id)) => super::sealed::unframe_dead_letter(&self.vault().open(
                &key_id,
                &id.to_be_bytes(),
                super::sealed::DEAD_LETTER,
                &sealed,
            )?),
            _ => Ok((row.get::<_, Option<Vec<u8>>>(0).unwrap_or_default(), row.get(1))),
        }
    }
}

fn current_key(vault: &Vault) -> Result<String, StoreError> {
    Ok(vault.current_key_id().ok_or(crate::vault::VaultError::NoKey)?.to_string())
}
