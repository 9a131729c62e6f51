//! The `"zendesk"` section of a seed file (shape in the module doc).

use super::{Data, AGENT_ID};
use crate::harness::RateWindow;
use crate::seed::section;
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Seed {
    #[serde(default)]
    page_size: Option<usize>,
    #[serde(default)]
    job_delay_ms: Option<u64>,
    /// Permanent user deletions allowed per window (Zendesk: 700 per 10 minutes).
    #[serde(default)]
    user_deletion_limit: Option<DeletionLimit>,
    /// How long every application of the cascade takes to report `complete`.
    #[serde(default)]
    cascade_ms: Option<u64>,
    #[serde(default)]
    users: Vec<SeedUser>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeletionLimit {
    limit: u32,
    window_seconds: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedUser {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    external_id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    tickets: u32,
    #[serde(default)]
    ccd_tickets: u32,
    #[serde(default)]
    article_comments: u32,
    #[serde(default)]
    community_posts: u32,
    #[serde(default)]
    voice_calls: u32,
}

/// Seed from the `"zendesk"` section of a seed file (shape in the module doc).
pub(crate) fn seed_json(data: &mut Data, seed: &Value) -> Result<(), String> {
    let seed: Seed = section("zendesk", seed)?;
    if let Some(n) = seed.page_size {
        data.page_size = n.max(1);
    }
    if let Some(ms) = seed.job_delay_ms {
        data.job_delay = Duration::from_millis(ms);
    }
    if let Some(DeletionLimit { limit, window_seconds }) = seed.user_deletion_limit {
        if limit == 0 || window_seconds == 0 {
            return Err("zendesk: user_deletion_limit needs a limit and a window of at least 1".into());
        }
        data.user_deletions = RateWindow::new(limit, Duration::from_secs(window_seconds));
    }
    if let Some(ms) = seed.cascade_ms {
        for (_, takes) in &mut data.cascade {
            *takes = Some(Duration::from_millis(ms));
        }
    }
    for u in seed.users {
        let name = u.name.as_deref().unwrap_or("A customer");
        let role = u.role.as_deref().unwrap_or("end-user");
        let id = data.add_user(name, u.email.as_deref(), u.external_id.as_deref(), role);
        for _ in 0..u.tickets {
            let ticket = data.add_ticket(id, "I cannot sign in to my account since yesterday.");
            data.add_comment(ticket, AGENT_ID, "Thanks for writing; we reset your access.", &[]);
        }
        for _ in 0..u.ccd_tickets {
            let other = data.add_user("Another customer", None, None, "end-user");
            let ticket = data.add_ticket(other, "Our team cannot sign in.");
            data.tickets.get_mut(&ticket).expect("just added").status = "open".into();
            data.tickets.get_mut(&ticket).expect("just added").email_cc_ids.push(id);
            data.reindex_ticket(ticket);
            data.add_comment(ticket, id, "Same problem on my side.", &[]);
        }
        data.seed_help_center(id, u.article_comments, u.community_posts);
        for _ in 0..u.voice_calls {
            let ticket = data.add_ticket(id, "I called about my bill.");
            data.add_voice_comment(ticket, id, &["call", "voicemail"]);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Instant;

    #[test]
    fn a_seeded_user_deletion_limit_is_still_enforced() {
        let mut data = Data::default();
        assert_eq!(data.user_deletions.limit, 700, "Zendesk's documented limit by default");
        seed_json(&mut data, &json!({ "user_deletion_limit": { "limit": 2, "window_seconds": 600 } })).unwrap();
        let now = Instant::now();
        assert!(data.user_deletions.take(now).is_ok() && data.user_deletions.take(now).is_ok());
        assert!(data.user_deletions.take(now).is_err(), "the third deletion in the window is refused");
        assert!(seed_json(&mut data, &json!({ "user_deletion_limit": { "limit": 0, "window_seconds": 600 } })).is_err());
    }

    #[test]
    fn a_seeded_cascade_time_applies_to_every_application() {
        let mut data = Data::default();
        seed_json(&mut data, &json!({ "cascade_ms": 0 })).unwrap();
        assert!(!data.cascade.is_empty());
        assert!(data.cascade.iter().all(|(_, takes)| *takes == Some(Duration::ZERO)));
    }
}
