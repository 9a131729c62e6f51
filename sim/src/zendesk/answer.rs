//! Zendesk's answers: the shared `Answer` in Zendesk's dialect (its error shapes are in `routes.rs`).

use crate::answer::Dialect;

/// Bodies are `application/json`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct ZendeskDialect;

impl Dialect for ZendeskDialect {}

pub(super) type Answer = crate::answer::Answer<ZendeskDialect>;
