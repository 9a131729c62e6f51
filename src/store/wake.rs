//! Wake-ups after a commit, without `NOTIFY` inside the work's transactions.
//!
//! PostgreSQL queues a transaction's notifications at commit under one lock for the whole
//! database, held until the commit record is flushed (`PreCommit_Notify` in `async.c`): with
//! durable commits, transactions that each sent a `NOTIFY` commit one fsync after another instead
//! of sharing one. So a transaction that queued work only marks the loops it is for (`Tx::wake`),
//! and after its commit (`Wakes::wake`):
//! - the loops of this process waiting on that channel wake at once;
//! - one background task tells the other processes with `pg_notify`, all the channels marked
//!   meanwhile in one transaction, at most once per `REMOTE_EVERY`, on its own connection.
//!
//! Polling stays the fallback: a lost notification only delays work, never loses it.

use deadpool_postgres::Pool;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::Notify;

/// How often at most this process tells the others; what it marks meanwhile goes in the next one.
const REMOTE_EVERY: Duration = Duration::from_millis(10);

/// A loop's channel: the queue whose new work it waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Tasks due (the runner).
    Tasks,
    /// Events to publish (the outbox relay).
    Outbox,
    /// Messages to the person (the mail sender).
    Mail,
}

impl Channel {
    const ALL: [Channel; 3] = [Channel::Tasks, Channel::Outbox, Channel::Mail];

    /// The `LISTEN`/`pg_notify` channel's name.
    pub fn name(self) -> &'static str {
        match self {
            Channel::Tasks => "erasure_tasks",
            Channel::Outbox => "erasure_outbox",
            Channel::Mail => "erasure_mail",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    pub(super) fn bit(self) -> u8 {
        1 << self.index()
    }
}

/// This process's wake-ups, shared by the clones of its `Store`.
pub struct Wakes {
    /// The payload of this process's notifications: its listeners skip them, the loops they would
    /// wake were woken at the commit.
    instance: String,
    /// The loops of this process waiting on each channel (`Channel::index`).
    local: [Mutex<Vec<Weak<Notify>>>; 3],
    /// The channels marked since the last `pg_notify` (`Channel::bit`).
    pending: AtomicU8,
    /// Tells the sender that something is pending.
    signal: Arc<Notify>,
    sender_started: AtomicBool,
    pool: Pool,
}

impl Wakes {
    pub(super) fn new(pool: Pool) -> Arc<Wakes> {
        Arc::new(Wakes {
            instance: uuid::Uuid::new_v4().simple().to_string(),
            local: Default::default(),
            pending: AtomicU8::new(0),
            signal: Arc::new(Notify::new()),
            sender_started: AtomicBool::new(false),
            pool,
        })
    }

    /// A wake-up for one loop of this process waiting on `channel`: notified after each commit
    /// that marked it, for as long as the loop holds it.
    pub fn subscribe(&self, channel: Channel) -> Arc<Notify> {
        let wake = Arc::new(Notify::new());
        let mut loops = self.local[channel.index()].lock().unwrap_or_else(|e| e.into_inner());
        loops.retain(|w| w.strong_count() > 0);
        loops.push(Arc::downgrade(&wake));
        wake
    }

    /// Whether a notification came from this process (its loops were woken at the commit).
    pub fn is_own(&self, payload: &str) -> bool {
        payload == self.instance
    }

    /// After a commit that queued work for `channels` (`Channel::bit`s): wake this process's
    /// loops, and have the others told.
    pub(super) fn wake(self: &Arc<Self>, channels: u8) {
        if channels == 0 {
            return;
        }
        for channel in Channel::ALL.into_iter().filter(|c| channels & c.bit() != 0) {
            let loops = self.local[channel.index()].lock().unwrap_or_else(|e| e.into_inner());
            loops.iter().filter_map(Weak::upgrade).for_each(|wake| wake.notify_one());
        }
        self.pending.fetch_or(channels, Ordering::AcqRel);
        if !self.sender_started.swap(true, Ordering::AcqRel) {
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => drop(runtime.spawn(tell_others(Arc::downgrade(self), self.signal.clone()))),
                Err(_) => self.sender_started.store(false, Ordering::Release),
            }
        }
        self.signal.notify_one();
    }

    async fn send(&self, channels: u8) -> Result<(), super::StoreError> {
        let names: Vec<&str> =
            Channel::ALL.into_iter().filter(|c| channels & c.bit() != 0).map(Channel::name).collect();
        let client = self.pool.get().await?;
        let statement = client.prepare_cached("SELECT pg_notify(c, $2) FROM unnest($1::text[]) AS c").await?;
        client.query(&statement, &[&names, &self.instance]).await?;
        Ok(())
    }
}

impl Drop for Wakes {
    fn drop(&mut self) {
        // The sender finds no `Wakes` and ends.
        self.signal.notify_one();
    }
}

/// The sender: one `pg_notify` transaction for whatever was marked, then a pause, for as long as
/// the `Wakes` lives.
async fn tell_others(wakes: Weak<Wakes>, signal: Arc<Notify>) {
    loop {
        signal.notified().await;
        let Some(wakes) = wakes.upgrade() else { return };
        let channels = wakes.pending.swap(0, Ordering::AcqRel);
        if channels != 0 {
            if let Err(error) = wakes.send(channels).await {
                tracing::debug!(%error, "Cannot notify the other processes; they poll meanwhile.");
            }
        }
        drop(wakes);
        tokio::time::sleep(REMOTE_EVERY).await;
    }
}
