//! Who the person is in Zendesk: the user the product named, and the users whose e-mail identity
//! or external id is exactly the subject's.

use crate::model::User;
use crate::Zendesk;
use erasure_connector::subject::normalise_email;
use erasure_connector::{Ctx, Failure, Subject};
use std::collections::BTreeMap;

impl Zendesk {
    /// The person's users: the one named by `subject.ids.<instance>`, and those whose e-mail or
    /// external id is exactly the subject's (Zendesk's search is fuzzy; its results are checked against each user's
    /// e-mail identities, the secondary ones included).
    pub(crate) async fn find_users(&self, ctx: &Ctx, subject: &Subject) -> Result<Vec<User>, Failure> {
        let mut found = BTreeMap::new();
        if let Some(raw) = subject.id_in(&ctx.instance) {
            let id = raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
                Failure::permanent(format!("subject.ids.{} is not a zendesk user id (a number)", ctx.instance))
            })?;
            if let Some(user) = self.api.user(id).await? {
                found.insert(user.id, user);
            }
        }
        for email in subject.emails() {
            for user in self.api.search_by_email(email).await? {
                if !found.contains_key(&user.id) && self.has_email(&user, email).await? {
                    found.insert(user.id, user);
                }
            }
        }
        if let Some(external_id) = subject.user_id() {
            for user in self.api.search_by_external_id(external_id).await? {
                if user.external_id.as_deref() == Some(external_id) {
                    found.entry(user.id).or_insert(user);
                }
            }
        }
        Ok(found.into_values().collect())
    }

    /// Is `email` one of the user's e-mail identities? The primary one is the user's `email`; a
    /// user found through a secondary address shows another `email`, so its identities are read.
    async fn has_email(&self, user: &User, email: &str) -> Result<bool, Failure> {
        let same = |address: &str| normalise_email(address).as_deref() == Some(email);
        if user.email.as_deref().is_some_and(same) {
            return Ok(true);
        }
        let identities = self.api.identities(user.id).await?;
        Ok(identities.iter().any(|i| i.kind == "email" && same(&i.value)))
    }
}
