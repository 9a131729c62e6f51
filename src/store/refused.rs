//! What an operator's action answers when it does not apply: shared by the actions on requests
//! (`actions.rs`) and on the legal hold list (`legal_holds.rs`).

use super::StoreError;

/// Why an action did not apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    NotFound,
    /// The request or task is not in a state the action applies to; the sentence says why.
    Conflict(String),
}

pub type ActionResult = Result<Result<(), Refused>, StoreError>;
