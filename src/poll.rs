//! The one polling loop of the runner, the outbox relay and the mail sender: a pass (claim a
//! batch, handle it), and when a pass found nothing to do, a wait for a wake-up (a LISTEN/NOTIFY
//! notification, or work finishing), the poll interval or shutdown. It stops at shutdown between
//! passes, so a pass always finishes what it claimed; what runs on in the background is the
//! caller's to drain.

use crate::app::App;
use crate::liveness::Heartbeat;
use crate::shutdown::Shutdown;
use crate::store::{Channel, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// What a pass found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// It handled a batch: go again at once.
    Busy,
    /// Nothing was due (or only what runs on in the background): wait before the next pass.
    Idle,
}

/// A loop's wake-ups: the commits of this process that queued work on its channel, the other
/// processes' notifications on it (polling stays the fallback), for as long as the poller lives.
pub struct Poller {
    wake: Arc<Notify>,
    interval: Duration,
    shutdown: Shutdown,
    listener: JoinHandle<()>,
    /// Beaten at every pass: `/readyz` sees a loop that stopped passing.
    heartbeat: Heartbeat,
}

impl Poller {
    /// Listen on `channel`; poll every `interval` when no notification comes. `name` is the
    /// loop's in `/readyz` (`runner`, `outbox`, `mail`).
    pub fn listen(
        app: &Arc<App>,
        name: &'static str,
        channel: Channel,
        interval: Duration,
        shutdown: &Shutdown,
    ) -> Poller {
        let wake = app.store.wakes().subscribe(channel);
        let listener = tokio::spawn(crate::listen::listen(app.clone(), channel, wake.clone(), shutdown.clone()));
        let heartbeat = app.liveness.register(name, app.settings.probes.stale_after.0 + interval);
        Poller { wake, interval, shutdown: shutdown.clone(), listener, heartbeat }
    }

    /// Wakes the loop from elsewhere (a finished task frees a slot).
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Whether to make another pass: after an idle one, first wait for a wake-up, the interval
    /// or shutdown; never once shutdown was triggered. The loop of a caller is
    /// `let mut last = Pass::Busy; while poller.again(last).await { last = pass().await }`.
    pub async fn again(&self, last: Pass) -> bool {
        self.heartbeat.beat();
        if last == Pass::Idle {
            self.wait().await;
        }
        !self.shutdown.is_triggered()
    }

    async fn wait(&self) {
        tokio::select! {
            _ = self.wake.notified() => {}
            _ = tokio::time::sleep(self.interval) => {}
            _ = self.shutdown.wait() => {}
        }
    }
}

/// The rows a claim returned, or `None` when there were none or the database is away (logged as
/// `"{who} cannot reach the database."`): either way the loop waits.
pub fn claimed<T>(who: &str, claim: Result<Vec<T>, StoreError>) -> Option<Vec<T>> {
    match claim {
        Ok(rows) if rows.is_empty() => None,
        Ok(rows) => Some(rows),
        Err(error) => {
            tracing::warn!(%error, "{who} cannot reach the database.");
            None
        }
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        self.listener.abort();
    }
}
