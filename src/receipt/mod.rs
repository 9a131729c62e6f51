//! Signed receipts (README, "Proof of erasure"): `document` builds the receipt of a settled or
//! closed request from the store's facts, `jcs` gives its RFC 8785 bytes, `envelope` signs and
//! verifies them with Ed25519, `keys` reads the keys from the environment and publishes the
//! public ones, `argument` reads the public keys `erasure receipt verify` is given.

pub mod argument;
pub mod document;
pub mod envelope;
pub mod jcs;
pub mod keys;

use crate::store::receipts::ReceiptData;

/// Why a request has no receipt to show.
#[derive(Debug, PartialEq, Eq)]
pub enum NoReceipt {
    /// Not settled or closed yet (or cancelled): nothing to prove.
    NotSettled,
    /// No signing key is configured.
    NotConfigured,
    /// A number of the receipt is beyond what every JSON reader holds exactly (2^53).
    Unrepresentable,
}

/// The signed receipt of `data`, with the declared expiring copies `copies`.
pub fn signed(
    data: &ReceiptData,
    copies: &[crate::config::ExpiringCopy],
    keys: &keys::ReceiptKeys,
) -> Result<serde_json::Value, NoReceipt> {
    if !data.state.has_receipt() {
        return Err(NoReceipt::NotSettled);
    }
    let signer = keys.signer.as_ref().ok_or(NoReceipt::NotConfigured)?;
    envelope::sign(document::document(data, copies), signer).map_err(|_| NoReceipt::Unrepresentable)
}
