//! Who the subject is in Intercom: the contacts that match one of its identifiers exactly.
//!
//! E-mails go through the contact search with the `=` operator (the value is JSON data, never
//! query syntax), the product's user id through the external-id lookup, the subject's Intercom id
//! (`ids.<instance>`) through a plain retrieval. Every result is checked again here, so only exact
//! matches are kept whatever the search returned.

use crate::api::{addressable, every_page, Api};
use crate::wire::{Contact, Pages};
use erasure_connector::subject::normalise_email;
use erasure_connector::{Failure, Subject};

/// The ids of the subject's contacts, each once, in the order found.
pub(crate) async fn contacts(api: &Api, subject: &Subject, instance: &str) -> Result<Vec<String>, Failure> {
    let mut found = Vec::new();
    for email in subject.emails() {
        for contact in search(api, "email", email).await? {
            if contact.email.as_deref().and_then(normalise_email).as_deref() == Some(email.as_str()) {
                keep(&mut found, contact);
            }
        }
    }
    if let Some(user_id) = subject.user_id() {
        let candidates = match addressable(user_id) {
            true => api.contact_by_external_id(user_id).await?.into_iter().collect(),
            false => search(api, "external_id", user_id).await?,
        };
        for contact in candidates {
            if contact.external_id.as_deref() == Some(user_id) {
                keep(&mut found, contact);
            }
        }
    }
    // An Intercom id is hex: one that cannot be a path segment cannot be an id either.
    if let Some(id) = subject.id_in(instance).filter(|id| addressable(id)) {
        if let Some(contact) = api.contact(id).await?.filter(|c| c.id == id) {
            keep(&mut found, contact);
        }
    }
    Ok(found)
}

async fn search(api: &Api, field: &str, value: &str) -> Result<Vec<Contact>, Failure> {
    every_page("contact search", |cursor| async move {
        let page = api.search_contacts(field, value, cursor.as_deref()).await?;
        Ok((page.data, Pages::cursor(&page.pages)))
    })
    .await
}

fn keep(found: &mut Vec<String>, contact: Contact) {
    if !found.contains(&contact.id) {
        found.push(contact.id);
    }
}
