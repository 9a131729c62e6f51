//! Intake's group commit: a request that arrives while another intake transaction is being
//! written waits for it, then goes into the next one with every other request that waited
//! (`Store::insert_requests`). One intake at a time pays a transaction and a durable commit per
//! request; a burst pays them once per batch, and its requests are never held back on purpose.
//!
//! A batch the database refuses is written again one request at a time, so one message the
//! database will not take (a refused value) is answered alone and never costs the others theirs.

use super::requests::{Inserted, NewRequest};
use super::{Store, StoreError};
use chrono::{DateTime, Utc};
use std::sync::Mutex;
use tokio::sync::oneshot;

/// Requests in one intake transaction at most.
const MAX_BATCH: usize = 64;

struct Waiting {
    new: NewRequest,
    now: DateTime<Utc>,
    answer: oneshot::Sender<Result<Inserted, StoreError>>,
}

#[derive(Default)]
pub(crate) struct IntakeQueue {
    waiting: Mutex<Vec<Waiting>>,
    /// Held by the intake writing a batch; the next batch forms while it is.
    writer: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for IntakeQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntakeQueue").finish_non_exhaustive()
    }
}

impl IntakeQueue {
    /// Store `new` in the next intake transaction, written by whichever waiting intake gets the
    /// writer's turn first.
    pub(crate) async fn insert(
        &self,
        store: &Store,
        new: NewRequest,
        now: DateTime<Utc>,
    ) -> Result<Inserted, StoreError> {
        let (answer, mut answered) = oneshot::channel();
        self.waiting.lock().expect("intake queue lock").push(Waiting { new, now, answer });
        loop {
            let _turn = self.writer.lock().await;
            match answered.try_recv() {
                Ok(result) => return result,
                Err(oneshot::error::TryRecvError::Closed) => return Err(abandoned()),
                Err(oneshot::error::TryRecvError::Empty) => {}
            }
            let batch: Vec<Waiting> = {
                let mut waiting = self.waiting.lock().expect("intake queue lock");
                let n = waiting.len().min(MAX_BATCH);
                waiting.drain(..n).collect()
            };
            write(store, batch).await;
            match answered.try_recv() {
                Ok(result) => return result,
                Err(oneshot::error::TryRecvError::Closed) => return Err(abandoned()),
                // More than a batch was waiting, this request among the later ones.
                Err(oneshot::error::TryRecvError::Empty) => {}
            }
        }
    }
}

/// The answer of a request whose batch was dropped unwritten (its writer was cancelled): worth
/// asking again.
fn abandoned() -> StoreError {
    StoreError::Corrupt("the intake transaction holding this request was abandoned".into())
}

/// Write `batch`, answering each request. A request id that appears twice (a redelivery racing
/// the first delivery) goes into a later transaction than its first appearance.
async fn write(store: &Store, batch: Vec<Waiting>) {
    let mut rounds: Vec<Vec<Waiting>> = Vec::new();
    for waiting in batch {
        match rounds.iter_mut().find(|round| round.iter().all(|w| w.new.id != waiting.new.id)) {
            Some(round) => round.push(waiting),
            None => rounds.push(vec![waiting]),
        }
    }
    for round in rounds {
        write_round(store, round).await;
    }
}

async fn write_round(store: &Store, round: Vec<Waiting>) {
    let now = round.iter().map(|w| w.now).max().expect("a round holds a request");
    let news: Vec<&NewRequest> = round.iter().map(|w| &w.new).collect();
    match store.insert_requests(&news, now).await {
        Ok(answers) => {
            for (waiting, answer) in round.into_iter().zip(answers) {
                let _ = waiting.answer.send(Ok(answer));
            }
        }
        Err(error) if round.len() == 1 => {
            let _ = round.into_iter().next().expect("one request").answer.send(Err(error));
        }
        Err(error) => {
            tracing::warn!(
                requests = round.len(),
                sqlstate = error.sqlstate().unwrap_or("?"),
                "An intake batch failed; writing its requests one by one."
            );
            for waiting in round {
                let answer =
                    store.insert_requests(&[&waiting.new], waiting.now).await.map(|mut answers| answers.remove(0));
                let _ = waiting.answer.send(answer);
            }
        }
    }
}
