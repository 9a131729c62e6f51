//! `erasure keys rotate`: after a new data key was put first in `[encryption] keys_env` (and
//! every worker restarted with it), re-seal every stored value sealed with an older key, and seal
//! what requests, dead letters and events from before encryption still hold in clear. Then the
//! old key can leave the list. Prints counts only; safe to run again.

use crate::app::App;
use crate::store::StoreError;

/// How many rows of each table were re-sealed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Report {
    pub requests: u64,
    pub dead_letters: u64,
    pub events: u64,
}

impl Report {
    pub fn lines(&self, key_id: &str) -> String {
        format!(
            "re-sealed with the data key `{key_id}`: {} request(s), {} dead letter(s), {} event(s)",
            self.requests, self.dead_letters, self.events
        )
    }
}

pub async fn rotate(app: &App, batch_size: i64) -> Result<Report, StoreError> {
    let mut report = Report::default();
    loop {
        let n = app.store.reseal_requests(batch_size).await?;
        report.requests += n;
        if n == 0 {
            break;
        }
    }
    loop {
        let n = app.store.reseal_dead_letters(batch_size).await?;
        report.dead_letters += n;
        if n == 0 {
            break;
        }
    }
    loop {
        let n = app.store.reseal_outbox(batch_size).await?;
        report.events += n;
        if n == 0 {
            break;
        }
    }
    tracing::info!(
        requests = report.requests,
        dead_letters = report.dead_letters,
        events = report.events,
        "Data keys rotated."
    );
    Ok(report)
}
