//! The store's transactions: a `deadpool_postgres::Transaction` that also remembers the loops its
//! work is for (`wake`) and wakes them once, after it committed (`store::wake`). A rolled-back
//! transaction wakes nobody, as a rolled-back `NOTIFY` would.

use super::wake::{Channel, Wakes};
use std::ops::Deref;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

pub(crate) struct Tx<'a> {
    inner: deadpool_postgres::Transaction<'a>,
    wakes: &'a Arc<Wakes>,
    /// `Channel::bit`s marked so far.
    marked: AtomicU8,
}

impl<'a> Tx<'a> {
    pub(super) fn new(inner: deadpool_postgres::Transaction<'a>, wakes: &'a Arc<Wakes>) -> Tx<'a> {
        Tx { inner, wakes, marked: AtomicU8::new(0) }
    }

    /// This transaction queued work for `channel`'s loops: wake them after the commit.
    pub(crate) fn wake(&self, channel: Channel) {
        self.marked.fetch_or(channel.bit(), Ordering::Relaxed);
    }

    pub(crate) async fn commit(self) -> Result<(), tokio_postgres::Error> {
        let marked = self.marked.load(Ordering::Relaxed);
        self.inner.commit().await?;
        self.wakes.wake(marked);
        Ok(())
    }
}

impl<'a> Deref for Tx<'a> {
    type Target = deadpool_postgres::Transaction<'a>;

    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}
