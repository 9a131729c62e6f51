//! Whose records a pass may touch. A phone number is Twilio's only key and numbers change hands,
//! so a call or message is the person's only if it is to or from one of their numbers, was
//! created no later than the request, and (when `own_numbers` is set) has one of the company's
//! numbers on the other side.

use chrono::{DateTime, Utc};

pub(crate) struct Scope<'a> {
    pub phones: &'a [String],
    pub requested_at: DateTime<Utc>,
    /// The company's numbers; empty means any other party.
    pub own_numbers: &'a [String],
}

/// Why a record to or from one of the person's numbers is left alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Theirs,
    /// Created after the request (or with no readable date): it may be a new owner's.
    AfterRequest,
    /// The other party is not one of `own_numbers`.
    OtherNumber,
}

impl Scope<'_> {
    /// `phone` is the person's number the record was listed under; `party` the number on that
    /// side of the record, `other` the other side, `created` Twilio's `date_created` (RFC 2822).
    /// `None` when the record is not to or from `phone` at all (Twilio's filter is exact, but an
    /// answer is checked, never trusted).
    pub fn judge(
        &self,
        phone: &str,
        party: Option<&str>,
        other: Option<&str>,
        created: Option<&str>,
    ) -> Option<Verdict> {
        if party != Some(phone) {
            return None;
        }
        let created = created.and_then(|c| DateTime::parse_from_rfc2822(c).ok()).map(|c| c.with_timezone(&Utc));
        if created.is_none_or(|c| c > self.requested_at) {
            return Some(Verdict::AfterRequest);
        }
        if !self.own_numbers.is_empty() && !other.is_some_and(|o| self.own_numbers.iter().any(|n| n == o)) {
            return Some(Verdict::OtherNumber);
        }
        Some(Verdict::Theirs)
    }
}

/// Records left alone by the scope, for the evidence.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LeftAlone {
    pub after_request: u64,
    pub other_numbers: u64,
}

impl LeftAlone {
    pub fn add(&mut self, verdict: Verdict) {
        match verdict {
            Verdict::Theirs => {}
            Verdict::AfterRequest => self.after_request += 1,
            Verdict::OtherNumber => self.other_numbers += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANA: &str = "+33612345678";
    const COMPANY: &str = "+14155550199";

    fn scope(own: &[String]) -> Scope<'_> {
        Scope {
            phones: &[],
            requested_at: DateTime::parse_from_rfc3339("2025-11-25T10:00:00Z").unwrap().with_timezone(&Utc),
            own_numbers: own,
        }
    }

    #[test]
    fn records_after_the_request_or_undated_are_left_alone() {
        let s = scope(&[]);
        let before = Some("Tue, 25 Nov 2025 09:30:00 +0000");
        let after = Some("Tue, 25 Nov 2025 10:00:01 +0000");
        assert_eq!(s.judge(ANA, Some(ANA), Some(COMPANY), before), Some(Verdict::Theirs));
        assert_eq!(s.judge(ANA, Some(ANA), Some(COMPANY), after), Some(Verdict::AfterRequest));
        assert_eq!(s.judge(ANA, Some(ANA), Some(COMPANY), None), Some(Verdict::AfterRequest));
        assert_eq!(s.judge(ANA, Some(ANA), Some(COMPANY), Some("yesterday")), Some(Verdict::AfterRequest));
        assert_eq!(s.judge(ANA, Some("+3361234567"), Some(COMPANY), before), None, "not the number");
    }

    #[test]
    fn own_numbers_restrict_the_other_party() {
        let own = vec![COMPANY.to_string()];
        let s = scope(&own);
        let before = Some("Tue, 25 Nov 2025 09:30:00 +0000");
        assert_eq!(s.judge(ANA, Some(ANA), Some(COMPANY), before), Some(Verdict::Theirs));
        assert_eq!(s.judge(ANA, Some(ANA), Some("+14155550100"), before), Some(Verdict::OtherNumber));
        assert_eq!(s.judge(ANA, Some(ANA), None, before), Some(Verdict::OtherNumber));
    }
}
