//! The account's secondary indexes (`crate::index`): users by e-mail identity (for the fuzzy
//! `email:` search), by external id and by the identifiers they were created with; tickets by
//! requester and by CC or follower. `Data::reindex_user` and `Data::reindex_ticket` run after
//! every change to a user's identifiers or to a ticket's people; lookups still check every
//! candidate with the search's own predicate.

use super::data::{Data, Ticket, User};
use super::query::{Key, Term};
use crate::index::narrower;
use std::collections::BTreeSet;

impl Data {
    /// Index user `id` as it now is.
    pub(super) fn reindex_user(&mut self, id: u64) {
        let user = self.users.get(&id);
        let emails: Vec<String> = user
            .map(|u| u.email.iter().chain(&u.secondary_emails).map(|e| e.to_lowercase()).collect())
            .unwrap_or_default();
        self.index.emails.set(&id, emails.iter().map(String::as_str));
        self.index.external_ids.set(&id, user.and_then(|u| u.external_id.clone()));
        self.index.created_with.set(&id, user.map(|u| u.created_with.clone()).unwrap_or_default());
    }

    /// Index ticket `id` as it now is.
    pub(super) fn reindex_ticket(&mut self, id: u64) {
        let ticket = self.tickets.get(&id);
        self.index.requested.set(&id, ticket.map(|t| t.requester_id));
        let watchers = ticket.map(|t| t.email_cc_ids.iter().chain(&t.follower_ids).copied().collect::<Vec<_>>());
        self.index.watched.set(&id, watchers.unwrap_or_default());
    }

    /// The users a search with these terms may find (`None`: any user), in id order.
    pub(super) fn user_candidates(&self, terms: &[Term]) -> Option<BTreeSet<u64>> {
        terms.iter().fold(None, |found, term| {
            let narrowed = match term.user_key() {
                Key::EmailContaining(run) => self.index.emails.candidates(&run),
                Key::ExternalId(id) => Some(self.index.external_ids.get(id).copied().collect()),
                _ => None,
            };
            narrower(found, narrowed)
        })
    }

    /// The tickets a search with these terms may find (`None`: any ticket), in id order.
    pub(super) fn ticket_candidates(&self, terms: &[Term]) -> Option<BTreeSet<u64>> {
        terms.iter().fold(None, |found, term| {
            let narrowed = match term.ticket_key() {
                Key::Requester(user) => Some(user.map(|u| self.tickets_requested_by(u)).unwrap_or_default()),
                Key::Cc(user) => Some(user.map(|u| self.tickets_watched_by(u)).unwrap_or_default()),
                _ => None,
            };
            narrower(found, narrowed)
        })
    }

    pub(super) fn tickets_requested_by(&self, user: u64) -> BTreeSet<u64> {
        self.index.requested.get(&user).copied().collect()
    }

    /// The tickets `user` is CC'd on or follows.
    pub(super) fn tickets_watched_by(&self, user: u64) -> BTreeSet<u64> {
        self.index.watched.get(&user).copied().collect()
    }

    /// The users with this external id (exactly).
    pub(super) fn users_with_external_id(&self, external_id: &str) -> BTreeSet<u64> {
        self.index.external_ids.get(external_id).copied().collect()
    }

    /// The users created with `identifier` as e-mail or external id.
    pub(super) fn users_created_with(&self, identifier: &str) -> BTreeSet<u64> {
        self.index.created_with.get(identifier).copied().collect()
    }

    /// These users (`None`: every user), in id order.
    pub(super) fn users_among(&self, ids: Option<BTreeSet<u64>>) -> Box<dyn Iterator<Item = &User> + '_> {
        match ids {
            None => Box::new(self.users.values()),
            Some(ids) => Box::new(ids.into_iter().filter_map(|id| self.users.get(&id))),
        }
    }

    /// These tickets (`None`: every ticket), in id order.
    pub(super) fn tickets_among(&self, ids: Option<BTreeSet<u64>>) -> Box<dyn Iterator<Item = &Ticket> + '_> {
        match ids {
            None => Box::new(self.tickets.values()),
            Some(ids) => Box::new(ids.into_iter().filter_map(|id| self.tickets.get(&id))),
        }
    }
}
