//! What the simulated HubSpot account holds: contacts with their associated activity, and the
//! addresses a GDPR deletion blocklisted.

use super::DEFAULT_PAGE_SIZE;
use crate::harness::RateWindow;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Default)]
pub(crate) struct Data {
    /// By id, in creation order.
    pub(super) contacts: BTreeMap<u64, Contact>,
    /// Lower-cased addresses of GDPR-deleted contacts (and of addresses deleted that matched no
    /// contact).
    pub(super) blocklist: BTreeSet<String>,
    pub(super) next_id: u64,
    pub(super) page_size: Option<usize>,
    /// The ten-second limit of a private app, when set.
    pub(super) rate_limit: Option<RateWindow>,
}

pub(super) struct Contact {
    pub(super) id: u64,
    pub(super) email: Option<String>,
    pub(super) phone: Option<String>,
    pub(super) firstname: Option<String>,
    pub(super) lastname: Option<String>,
    /// Engagements associated with the contact (notes, calls, e-mails, meetings), which a GDPR
    /// deletion removes with it.
    pub(super) engagements: u64,
    pub(super) created_at: String,
}

impl Data {
    pub(super) fn page_size(&self) -> usize {
        self.page_size.unwrap_or(DEFAULT_PAGE_SIZE)
    }

    /// A new contact; `None` if another contact has that address (HubSpot keeps e-mail unique
    /// among contacts).
    pub(super) fn add_contact(&mut self, email: Option<&str>, phone: Option<&str>, engagements: u64) -> Option<u64> {
        if email.is_some_and(|e| self.by_email(e).is_some()) {
            return None;
        }
        self.next_id += 1;
        let id = 1000 + self.next_id;
        let contact = Contact {
            id,
            email: email.map(str::to_string),
            phone: phone.map(str::to_string),
            firstname: None,
            lastname: None,
            engagements,
            created_at: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        };
        self.contacts.insert(id, contact);
        Some(id)
    }

    pub(super) fn by_email(&self, email: &str) -> Option<u64> {
        self.contacts.values().find(|c| c.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(email))).map(|c| c.id)
    }
}

impl Contact {
    /// The value of a property, `None` when it has none.
    pub(super) fn property(&self, name: &str) -> Option<String> {
        match name {
            "email" => self.email.clone(),
            "phone" => self.phone.clone(),
            "firstname" => self.firstname.clone(),
            "lastname" => self.lastname.clone(),
            "hs_object_id" => Some(self.id.to_string()),
            "createdate" | "lastmodifieddate" => Some(self.created_at.clone()),
            _ => None,
        }
    }

    /// The contact as the CRM object endpoints answer it, with the properties asked for or, when
    /// none are, the defaults ("including a properties array will override the default returned
    /// properties", <https://developers.hubspot.com/docs/api/crm/search>).
    pub(super) fn json(&self, asked: Option<&[String]>) -> Value {
        let defaults = ["createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"];
        let always = ["createdate", "hs_object_id", "lastmodifieddate"];
        let names: Vec<String> = match asked {
            Some(asked) => always.iter().map(|d| d.to_string()).chain(asked.iter().cloned()).collect(),
            None => defaults.iter().map(|d| d.to_string()).collect(),
        };
        let mut properties = serde_json::Map::new();
        for name in names {
            properties.insert(name.clone(), self.property(&name).map_or(Value::Null, Value::String));
        }
        json!({
            "id": self.id.to_string(),
            "properties": properties,
            "createdAt": self.created_at,
            "updatedAt": self.created_at,
            "archived": false,
        })
    }
}
