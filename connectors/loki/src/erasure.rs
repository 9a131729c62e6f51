//! An erasure: the subject's identifiers as whole tokens, their lines counted, one delete request
//! per identifier with lines, then the requests followed until Loki has processed them.

use crate::api::DeleteRequest;
use crate::config::{DeletionMode, IdentifierKind};
use crate::count::{self, Counted, Span};
use crate::{Loki, Token};
use erasure_connector::{Ctx, Evidence, Failure, Outcome, Pending, Subject};
use serde_json::json;
use std::collections::HashSet;
use std::time::{SystemTime, UNIX_EPOCH};

/// Loki takes a delete request's `start` as exactly 10 digits of Unix seconds (from 2001-09-09).
const EARLIEST_START: u64 = 1_000_000_000;

impl Loki {
    /// The subject's identifiers of the configured kinds as tokens to match: numeric ones in each
    /// form of `id_patterns`, others bare. `Err` (a reason naming the kind of identifier, never its
    /// value) for an identifier too short to match safely, or a number with no form declared.
    pub(crate) fn tokens(&self, ctx: &Ctx, subject: &Subject) -> Result<Vec<Token>, String> {
        let mut all: Vec<(&str, &str, bool)> = Vec::new();
        for kind in &self.identifiers {
            match kind {
                IdentifierKind::UserId => all.extend(subject.user_id().map(|id| ("user_id", id, false))),
                IdentifierKind::Emails => all.extend(subject.emails().iter().map(|e| ("e-mail", e.as_str(), true))),
                IdentifierKind::Phones => all.extend(subject.phones().iter().map(|p| ("phone", p.as_str(), false))),
                IdentifierKind::Id => {
                    all.extend(subject.id_in(&ctx.instance).map(|id| ("id for this instance", id, false)))
                }
            }
        }
        let mut tokens: Vec<Token> = Vec::new();
        for (kind, identifier, fold_case) in all {
            if identifier.chars().count() < self.min_identifier_length {
                return Err(format!(
                    "the subject's {kind} is shorter than {} characters (min_identifier_length): too short to \
                     match log lines safely",
                    self.min_identifier_length
                ));
            }
            let numeric = identifier.bytes().all(|b| b.is_ascii_digit());
            if numeric && self.id_patterns.is_empty() {
                return Err(format!(
                    "the subject's {kind} is a number: a number is matched only in the forms id_patterns declares \
                     (such as `user_id={{}}`), never bare, and none is configured"
                ));
            }
            let forms: Vec<Token> = if numeric {
                self.id_patterns.iter().map(|form| Token::new(&form.replacen("{}", identifier, 1), false)).collect()
            } else {
                vec![Token::new(identifier, fold_case)]
            };
            for token in forms {
                if !tokens.contains(&token) {
                    tokens.push(token);
                }
            }
        }
        Ok(tokens)
    }

    /// Now, the delete requests' `start` (Unix seconds) and the span to count lines in.
    pub(crate) fn times(&self) -> (u64, Span) {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let start = now.as_secs().saturating_sub(self.lookback.secs()).max(EARLIEST_START);
        let end = i64::try_from(now.as_nanos()).unwrap_or(i64::MAX).saturating_add(1);
        (start, Span { start: start as i64 * 1_000_000_000, end })
    }

    /// Count every identifier's lines, distinct lines across identifiers.
    pub(crate) async fn count_all(&self, tokens: &[Token], span: Span) -> Result<(Vec<Counted>, u64), Failure> {
        let mut seen = HashSet::new();
        let mut counts = Vec::with_capacity(tokens.len());
        let mut lines = 0;
        for token in tokens {
            let counted =
                count::count(&self.api, &token.query(&self.selector), token, span, &self.limits, &mut seen).await?;
            lines += counted.new_lines;
            counts.push(counted);
        }
        Ok((counts, lines))
    }

    pub(crate) async fn try_erase(&self, ctx: &Ctx, subject: &Subject) -> Result<Outcome, Failure> {
        let tokens = match self.tokens(ctx, subject) {
            Ok(found) => found,
            Err(reason) => return Ok(Outcome::failed(reason)),
        };
        let existing = self.api.delete_requests().await?;
        let (start, span) = self.times();
        let (counts, lines) = self.count_all(&tokens, span).await?;
        let mut tracked: Vec<String> = Vec::new();
        let mut created: Vec<String> = Vec::new();
        for (token, counted) in tokens.iter().zip(&counts) {
            let query = token.query(&self.selector);
            // A request not yet processed hides its lines from queries already: after a crash
            // between sending it and recording it, it is found here and followed, not sent again.
            tracked
                .extend(existing.iter().filter(|r| r.query == query && !r.processed()).map(|r| r.request_id.clone()));
            if counted.matched > 0 {
                self.api.create_delete_request(&query, start, self.max_interval).await?;
                created.push(query);
            }
        }
        if !created.is_empty() {
            let listed = self.api.delete_requests().await?;
            for query in &created {
                match newest(&listed, query) {
                    Some(request) => tracked.push(request.request_id.clone()),
                    None => return Err(Failure::transient("loki does not list a delete request it just accepted")),
                }
            }
        }
        tracked.sort();
        tracked.dedup();
        if tracked.is_empty() {
            return Ok(Outcome::NothingToErase);
        }
        tracing::debug!(requests = tracked.len(), created = created.len(), "loki delete requests sent");
        let mut evidence = Evidence::default().count("log_lines", lines);
        for id in &tracked {
            evidence = evidence.vendor_ref(format!("loki delete request {id}"));
        }
        let outcome = match self.deletion_mode {
            DeletionMode::FilterOnly => {
                "Loki's deletion_mode is filter-only: the lines are hidden from queries but still stored".to_string()
            }
            _ => "Loki removes the lines from storage once it processes the requests".to_string(),
        };
        let mut note = format!(
            "{} delete request(s), one per identifier (numbers in the declared id_patterns) matched as a whole \
             token, over the last {} of {}; {outcome}; a request stays cancellable and unprocessed for Loki's \
             delete_request_cancel_period ({})",
            tracked.len(),
            self.lookback,
            self.selector,
            self.cancel_period,
        );
        if counts.iter().any(|c| c.capped) {
            note.push_str(&format!("; counting stopped at {} lines per identifier", self.limits.max_lines));
        }
        Ok(Outcome::Pending(Pending {
            check_after: self.check_interval.max(self.cancel_period.get()),
            state: json!({ "delete_requests": tracked }),
            evidence: evidence.note(note),
        }))
    }

    pub(crate) async fn try_check(&self, pending: &Pending) -> Result<Outcome, Failure> {
        let ids: Vec<&str> = pending
            .state
            .get("delete_requests")
            .and_then(|r| r.as_array())
            .map(|ids| ids.iter().filter_map(|id| id.as_str()).collect())
            .unwrap_or_default();
        if ids.is_empty() {
            return Ok(Outcome::failed("the stored state names no loki delete request"));
        }
        let listed = self.api.delete_requests().await?;
        let mut processed = 0;
        for id in &ids {
            match listed.iter().find(|r| r.request_id == *id) {
                None => {
                    return Ok(Outcome::failed(format!(
                        "loki no longer lists delete request {id}: it was cancelled, and the lines it matched \
                         remain; erase again"
                    )))
                }
                Some(request) if request.processed() => processed += 1,
                Some(_) => {}
            }
        }
        if processed < ids.len() {
            return Ok(Outcome::Pending(Pending { check_after: self.check_interval, ..pending.clone() }));
        }
        let mut evidence = pending.evidence.clone();
        let note = evidence.note.take().unwrap_or_default();
        let done = match self.deletion_mode {
            DeletionMode::FilterOnly => {
                "every delete request is processed: the lines are hidden from queries but still stored \
                 (deletion_mode filter-only)"
            }
            _ => "every delete request is processed",
        };
        Ok(Outcome::Erased(evidence.note(format!("{note}; {done}"))))
    }
}

/// The request for `query` that was just accepted: the newest one not processed, else the newest.
fn newest<'a>(listed: &'a [DeleteRequest], query: &str) -> Option<&'a DeleteRequest> {
    let newest_of = |processed: bool| {
        listed
            .iter()
            .filter(|r| r.query == query && r.processed() == processed)
            .max_by(|a, b| a.created_at.total_cmp(&b.created_at))
    };
    newest_of(false).or_else(|| newest_of(true))
}
