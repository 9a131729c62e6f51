//! The sealed columns: what identifies a person is encrypted by the store's `Vault` when written
//! and opened when read, so the rest of the code sees clear values and the database never does.
//! Each ciphertext is bound to its row and column (`vault.rs`).

use super::{Store, StoreError};
use crate::vault::{Sealed, Vault};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The associated-data names of the sealed columns.
pub(crate) const REQUEST_IDENTIFIERS: &str = "requests.identifiers";
pub(crate) const DEAD_LETTER: &str = "dead_letters.sealed";
pub(crate) const OUTBOX_REPLY_TO: &str = "outbox.reply_to";

/// What a request holds that identifies the person: sealed together, one encryption per request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Identifiers {
    /// The normalised subject (`Subject` as JSON).
    pub subject: serde_json::Value,
    /// The product's queue for this request's events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
}

/// The columns that `identifiers_from` reads, in this order, from a `requests` row aliased `r`.
pub(crate) const IDENTIFIER_COLUMNS: &str = "r.identifiers_sealed, r.identifiers_key_id, r.subject, r.reply_to";

impl Identifiers {
    pub(crate) fn seal(&self, vault: &Vault, request_id: Uuid) -> Result<Sealed, StoreError> {
        let clear = serde_json::to_vec(self).expect("identifiers serialise");
        Ok(vault.seal(request_id.as_bytes(), REQUEST_IDENTIFIERS, &clear)?)
    }
}

/// A request's identifiers from the four `IDENTIFIER_COLUMNS` starting at `first`: opened when
/// sealed, else the clear columns of a request from before encryption; `None` once forgotten.
pub(crate) fn identifiers_from(
    vault: &Vault,
    request_id: Uuid,
    row: &tokio_postgres::Row,
    first: usize,
) -> Result<Option<Identifiers>, StoreError> {
    let sealed: Option<Vec<u8>> = row.get(first);
    let key_id: Option<String> = row.get(first + 1);
    if let (Some(sealed), Some(key_id)) = (sealed, key_id) {
        let clear = vault.open(&key_id, request_id.as_bytes(), REQUEST_IDENTIFIERS, &sealed)?;
        let identifiers = serde_json::from_slice(&clear)
            .map_err(|_| StoreError::Corrupt("a request's sealed identifiers are not readable JSON".into()))?;
        return Ok(Some(identifiers));
    }
    let subject: Option<serde_json::Value> = row.get(first + 2);
    let reply_to: Option<String> = row.get(first + 3);
    Ok(subject.map(|subject| Identifiers { subject, reply_to }))
}

/// A dead letter's body and reply_to as one plaintext: the reply_to's length (4 bytes, big
/// endian; `u32::MAX` for none), the reply_to, then the body.
pub(crate) fn frame_dead_letter(body: &[u8], reply_to: Option<&str>) -> Vec<u8> {
    let mut clear = Vec::with_capacity(4 + reply_to.map_or(0, str::len) + body.len());
    match reply_to {
        Some(reply_to) => {
            clear.extend_from_slice(&(reply_to.len() as u32).to_be_bytes());
            clear.extend_from_slice(reply_to.as_bytes());
        }
        None => clear.extend_from_slice(&u32::MAX.to_be_bytes()),
    }
    clear.extend_from_slice(body);
    clear
}

/// The inverse of `frame_dead_letter`.
pub(crate) fn unframe_dead_letter(clear: &[u8]) -> Result<(Vec<u8>, Option<String>), StoreError> {
    let corrupt = || StoreError::Corrupt("a dead letter's sealed body is not readable".into());
    let (len, rest) = clear.split_first_chunk::<4>().ok_or_else(corrupt)?;
    let len = u32::from_be_bytes(*len);
    if len == u32::MAX {
        return Ok((rest.to_vec(), None));
    }
    let len = len as usize;
    if rest.len() < len {
        return Err(corrupt());
    }
    let reply_to = String::from_utf8(rest[..len].to_vec()).map_err(|_| corrupt())?;
    Ok((rest[len..].to_vec(), Some(reply_to)))
}

impl Store {
    pub(crate) fn vault(&self) -> &Vault {
        &self.vault
    }

    /// A request's identifiers, opened (`None`: no such request, or forgotten). For tools and
    /// tests: the workers read them with the rows they claim.
    pub async fn request_identifiers(&self, request_id: Uuid) -> Result<Option<Identifiers>, StoreError> {
        let client = self.client().await?;
        let sql = format!("SELECT {IDENTIFIER_COLUMNS} FROM requests r WHERE id = $1");
        match client.query_opt(&sql, &[&request_id]).await? {
            Some(row) => identifiers_from(&self.vault, request_id, &row, 0),
            None => Ok(None),
        }
    }

    /// The id of the data key that seals new values.
    pub fn current_data_key(&self) -> Option<&str> {
        self.vault.current_key_id()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_letter_frame_keeps_body_and_reply_to_apart() {
        for (body, reply_to) in [(&b"{\"a\":1}"[..], Some("amq.gen-x")), (b"", None), (b"\xff\x00", Some(""))] {
            let framed = frame_dead_letter(body, reply_to);
            assert_eq!(unframe_dead_letter(&framed).unwrap(), (body.to_vec(), reply_to.map(str::to_string)));
        }
        assert!(unframe_dead_letter(&[0, 0, 0, 9, b'x']).is_err());
    }
}
