//! `erasure receipt verify FILE --public-key KEY`: the offline check of a receipt, with no API
//! and no database, the same check an auditor's script makes (README, "Proof of erasure").

use super::ExitStatus;
use crate::receipt::{argument, envelope};
use std::path::Path;

/// 0: the signature verifies; 1: it does not; 2: the file or key cannot be read.
pub fn verify_file(file: &Path, public_key: &str) -> ExitStatus {
    let keys = match argument::public_keys(public_key) {
        Ok(keys) => keys,
        Err(message) => {
            eprintln!("error: {message}");
            return 2;
        }
    };
    let envelope: serde_json::Value = match std::fs::read(file).map(|bytes| serde_json::from_slice(&bytes)) {
        Ok(Ok(value)) => value,
        Ok(Err(e)) => {
            eprintln!("error: {} is not JSON: {e}", file.display());
            return 2;
        }
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", file.display());
            return 2;
        }
    };
    match envelope::verify(&envelope, &keys) {
        Ok(verified) => {
            let receipt = &envelope["receipt"];
            println!(
                "valid: receipt of request {} ({}), signed by key {}",
                receipt["request_id"].as_str().unwrap_or("?"),
                receipt["state"].as_str().unwrap_or("?"),
                verified.key_id
            );
            0
        }
        Err(error) => {
            println!("NOT valid: {error}");
            1
        }
    }
}
