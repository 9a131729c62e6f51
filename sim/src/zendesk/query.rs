//! Zendesk's search syntax, as far as the simulator plays it (fuzzy, as Zendesk's is).

use super::data::{Ticket, User};
use crate::text::glob;

/// One term of a search query.
#[derive(Debug, PartialEq)]
pub(super) struct Term {
    field: Option<String>,
    value: String,
    /// Unquoted: `*` is a wildcard.
    wildcard: bool,
}

impl Term {
    pub(super) fn matches(&self, user: &User) -> bool {
        let fuzzy = |text: &Option<String>| {
            let Some(text) = text.as_ref().map(|t| t.to_lowercase()) else { return false };
            let value = self.value.to_lowercase();
            if self.wildcard && value.contains('*') {
                glob(&value, &text)
            } else {
                text.contains(&value)
            }
        };
        match self.field.as_deref() {
            None => fuzzy(&Some(user.name.clone())) || fuzzy(&user.email),
            Some("type") => self.value == "user",
            // Every e-mail identity, the secondary ones included (see `Data::search`).
            Some("email") => fuzzy(&user.email) || user.secondary_emails.iter().any(|e| fuzzy(&Some(e.clone()))),
            Some("name") => fuzzy(&Some(user.name.clone())),
            Some("external_id") => user.external_id.as_deref() == Some(self.value.as_str()),
            Some("role") => user.role == self.value,
            Some(_) => false,
        }
    }
}

/// What an index can narrow a search to for one term (`index.rs`).
#[derive(Debug, PartialEq)]
pub(super) enum Key<'a> {
    /// Users with an e-mail identity containing this run (lower case): `email:`.
    EmailContaining(String),
    /// Users with exactly this external id: `external_id:`.
    ExternalId(&'a str),
    /// Tickets requested by this user (`None`: not a user id, nothing matches): `requester:`.
    Requester(Option<u64>),
    /// Tickets this user is CC'd on or follows (`None`: nothing matches): `cc:`.
    Cc(Option<u64>),
    /// Nothing to narrow by.
    Every,
}

impl Term {
    /// The key of a user search term: every user it can match holds it (`Term::matches`).
    pub(super) fn user_key(&self) -> Key<'_> {
        match self.field.as_deref() {
            Some("email") => {
                let value = self.value.to_lowercase();
                if self.wildcard && value.contains('*') {
                    // Every run between wildcards is in a text the pattern matches.
                    let longest = value.split('*').max_by_key(|run| run.chars().count()).unwrap_or_default();
                    Key::EmailContaining(longest.to_string())
                } else {
                    Key::EmailContaining(value)
                }
            }
            Some("external_id") => Key::ExternalId(&self.value),
            _ => Key::Every,
        }
    }

    /// The key of a ticket search term: every ticket it can match holds it (`Term::matches_ticket`).
    pub(super) fn ticket_key(&self) -> Key<'_> {
        match self.field.as_deref() {
            Some("requester") => Key::Requester(self.value.parse().ok()),
            Some("cc") => Key::Cc(self.value.parse().ok()),
            _ => Key::Every,
        }
    }
}

impl Term {
    /// `type:...`, which Export Search Results refuses in its query.
    pub(super) fn is_type(&self) -> bool {
        self.field.as_deref() == Some("type")
    }

    /// A ticket search term: `type:ticket`, `requester:{user id}` or `cc:{user id}` (the CCs and
    /// followers); any other term finds nothing.
    pub(super) fn matches_ticket(&self, ticket: &Ticket) -> bool {
        let user = || self.value.parse::<u64>().ok();
        match self.field.as_deref() {
            Some("type") => self.value == "ticket",
            Some("requester") => user() == Some(ticket.requester_id),
            Some("cc") => user().is_some_and(|u| ticket.email_cc_ids.contains(&u) || ticket.follower_ids.contains(&u)),
            _ => false,
        }
    }
}

/// Split a query into terms: whitespace separates them outside quotes; `field:value` or `value`;
/// inside quotes `\"` and `\\` stand for `"` and `\`.
pub(super) fn parse_terms(query: &str) -> Vec<Term> {
    let mut terms = Vec::new();
    let mut chars = query.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return terms;
        }
        let (mut field, mut value, mut quoted) = (None, String::new(), false);
        while let Some(c) = chars.next() {
            match c {
                '"' => {
                    quoted = true;
                    while let Some(c) = chars.next() {
                        match c {
                            '\\' => value.extend(chars.next()),
                            '"' => break,
                            c => value.push(c),
                        }
                    }
                }
                ':' if field.is_none() && !quoted => field = Some(std::mem::take(&mut value).to_lowercase()),
                c if c.is_whitespace() => break,
                c => value.push(c),
            }
        }
        terms.push(Term { field, value, wildcard: !quoted });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zendesk::data::Life;

    #[test]
    fn query_terms_honour_quotes_and_escapes() {
        let terms = parse_terms(r#"type:user email:"a\"b c@x.io" ann*"#);
        assert_eq!(terms[0], Term { field: Some("type".into()), value: "user".into(), wildcard: true });
        assert_eq!(terms[1], Term { field: Some("email".into()), value: "a\"b c@x.io".into(), wildcard: false });
        assert_eq!(terms[2], Term { field: None, value: "ann*".into(), wildcard: true });
    }

    #[test]
    fn search_is_fuzzy_unless_the_caller_checks() {
        let user = User {
            id: 7,
            name: "Jo".into(),
            email: Some("joann@x.io".into()),
            secondary_emails: Vec::new(),
            external_id: None,
            role: "end-user".into(),
            life: Life::Active,
            purged_at: None,
            purged_wall: None,
            created_with: Vec::new(),
        };
        let found = |q: &str| parse_terms(q).iter().all(|t| t.matches(&user));
        assert!(found("email:ann@x.io"));
        assert!(found("email:\"ann@x.io\""));
        assert!(found("email:jo*@x.io"));
        assert!(!found("email:\"jo*@x.io\""));
        assert!(!found("email:\"bob@x.io\""));
    }

    #[test]
    fn a_term_names_the_key_its_matches_hold() {
        let key = |q: &str| parse_terms(q).remove(0);
        assert_eq!(key("email:\"Ann@X.io\"").user_key(), Key::EmailContaining("ann@x.io".into()));
        assert_eq!(key("email:jo*@x.io").user_key(), Key::EmailContaining("@x.io".into()));
        assert_eq!(key("email:\"jo*@x.io\"").user_key(), Key::EmailContaining("jo*@x.io".into()));
        assert_eq!(key("external_id:u_1").user_key(), Key::ExternalId("u_1"));
        assert_eq!(key("name:jo").user_key(), Key::Every);
        assert_eq!(key("requester:12").ticket_key(), Key::Requester(Some(12)));
        assert_eq!(key("cc:x").ticket_key(), Key::Cc(None));
        assert_eq!(key("type:ticket").ticket_key(), Key::Every);
    }
}
