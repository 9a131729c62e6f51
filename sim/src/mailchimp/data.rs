//! What the simulated Mailchimp account holds: audiences (lists), their members, the members
//! permanently deleted from each list, and batch operations.

use axum::http::Method;
use md5::{Digest, Md5};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

#[derive(Default)]
pub(crate) struct Data {
    /// By list id, in creation order (ids are fixed-width hex of a counter).
    pub(super) lists: BTreeMap<String, List>,
    pub(super) batches: BTreeMap<String, Batch>,
    pub(super) next_id: u64,
    /// Requests in progress: Mailchimp's simultaneous connections.
    pub(super) connections: Arc<AtomicUsize>,
}

pub(super) struct List {
    pub(super) id: String,
    pub(super) name: String,
    /// By subscriber hash.
    pub(super) members: BTreeMap<String, Member>,
    /// Subscriber hashes of members permanently deleted from this list: they cannot come back.
    pub(super) forgotten: BTreeSet<String>,
}

pub(super) struct Member {
    pub(super) email: String,
    pub(super) full_name: String,
    pub(super) status: String,
    pub(super) web_id: u64,
    /// Notes about the member (`/lists/{id}/members/{hash}/notes`), part of what a permanent
    /// deletion removes.
    pub(super) notes: u64,
}

/// A batch of operations (`batch.rs` runs it).
pub(super) struct Batch {
    pub(super) id: String,
    pub(super) operations: Vec<Operation>,
    /// Index in `STATUSES`.
    pub(super) stage: usize,
    /// One per operation once run: `(status_code, operation_id, response body as text)`.
    pub(super) results: Option<Vec<(u16, Option<String>, String)>>,
    pub(super) submitted_at: String,
    pub(super) completed_at: Option<String>,
}

/// One operation of a batch, as `batch.rs` parsed it.
pub(super) struct Operation {
    pub(super) method: Method,
    pub(super) path: String,
    pub(super) params: HashMap<String, String>,
    pub(super) body: Option<Value>,
    pub(super) operation_id: Option<String>,
}

/// Mailchimp's subscriber hash: "the MD5 hash of the lowercase version of the list member's email
/// address" (<https://mailchimp.com/developer/marketing/api/list-members/get-member-info/>).
pub fn subscriber_hash(email: &str) -> String {
    hex::encode(Md5::digest(email.to_lowercase().as_bytes()))
}

impl Data {
    pub(super) fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub(super) fn add_list(&mut self, name: &str) -> String {
        let id = format!("{:010x}", 0x00a1_b200_0000_u64 + self.next_id());
        let list =
            List { id: id.clone(), name: name.to_string(), members: BTreeMap::new(), forgotten: BTreeSet::new() };
        self.lists.insert(id.clone(), list);
        id
    }

    /// Add a subscribed member; `Err` with the refusal Mailchimp gives when the list is unknown,
    /// the address is already a member, or it was permanently deleted from the list.
    pub(super) fn add_member(&mut self, list_id: &str, email: &str, notes: u64) -> Result<String, &'static str> {
        let web_id = self.next_id();
        let list = self.lists.get_mut(list_id).ok_or("no such list")?;
        let hash = subscriber_hash(email);
        if list.forgotten.contains(&hash) {
            return Err("forgotten");
        }
        if list.members.contains_key(&hash) {
            return Err("exists");
        }
        let member =
            Member { email: email.to_string(), full_name: String::new(), status: "subscribed".into(), web_id, notes };
        list.members.insert(hash.clone(), member);
        Ok(hash)
    }

    /// The member of `list_id` known by `key`: its subscriber hash or, as Mailchimp also accepts,
    /// its e-mail address.
    pub(super) fn member(&self, list_id: &str, key: &str) -> Option<(&String, &Member)> {
        let list = self.lists.get(list_id)?;
        list.members.get_key_value(key).or_else(|| list.members.get_key_value(&subscriber_hash(key)))
    }
}

impl Member {
    /// The member as `GET /lists/{list_id}/members/{subscriber_hash}` answers it.
    pub(super) fn json(&self, list_id: &str, hash: &str) -> Value {
        json!({
            "id": hash,
            "email_address": self.email,
            "unique_email_id": format!("{:010x}", self.web_id),
            "contact_id": format!("{:026x}", self.web_id),
            "full_name": self.full_name,
            "web_id": self.web_id,
            "email_type": "html",
            "status": self.status,
            "merge_fields": {},
            "stats": { "avg_open_rate": 0, "avg_click_rate": 0 },
            "language": "",
            "vip": false,
            "email_client": "",
            "source": "API - Generic",
            "tags_count": 0,
            "tags": [],
            "list_id": list_id,
        })
    }
}
