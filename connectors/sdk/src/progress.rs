//! Durable progress: a small document a connector saves in its task row *before* a destructive
//! vendor call, and gets back on the task's next attempt, whatever became of this one.
//!
//! Why: a worker can die after the vendor did the work and before the outcome was committed.
//! When that work made the records unfindable by the connector's own lookups (a soft deletion
//! hides them from the vendor's listings, for example), the next attempt cannot finish the job
//! unless it knows which records the last one touched. Save their vendor ids first, then call.
//!
//! The document holds the vendor's own ids and step markers, never a subject identifier. The
//! engine writes it under the attempt's lease, in its own short transaction: a worker whose lease
//! moved on (it was presumed lost and its task rescued) cannot overwrite a newer attempt's
//! document, and gets an error instead, so it must not go on to the destructive call.

use crate::outcome::Failure;
use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::sync::{Arc, Mutex};

/// The largest document the engine keeps: progress is a list of ids, not a copy of the data.
pub const MAX_PROGRESS_BYTES: usize = 256 * 1024;

/// Where a task's progress document is written. The engine's implementation writes the task row
/// under the attempt's lease token.
#[async_trait]
pub trait ProgressStore: Send + Sync {
    /// Replace the task's document. An `Err` means it was not written: do not go on.
    async fn save(&self, document: &Value) -> Result<(), Failure>;
}

/// The progress document of one attempt: what the last save (of this attempt or an earlier one)
/// left, and the way to save a new one.
#[derive(Clone)]
pub struct Progress {
    current: Arc<Mutex<Option<Value>>>,
    store: Arc<dyn ProgressStore>,
}

impl Progress {
    /// The document saved by earlier attempts (`None` if none was), and where to save.
    pub fn new(saved: Option<Value>, store: Arc<dyn ProgressStore>) -> Self {
        Progress { current: Arc::new(Mutex::new(saved)), store }
    }

    /// Progress kept in memory only: for one-off runs and tests, where the same `Ctx` used for
    /// a second `erase` plays the next attempt.
    pub fn in_memory() -> Self {
        Progress::new(None, Arc::new(Discard))
    }

    /// The last document saved, read as `T`; `None` if there is none. A document that no longer
    /// reads as `T` is a permanent failure: guessing could leave data behind unnoticed.
    pub fn get<T: DeserializeOwned>(&self) -> Result<Option<T>, Failure> {
        let current = self.current.lock().expect("progress lock").clone();
        current
            .map(serde_json::from_value)
            .transpose()
            .map_err(|_| Failure::permanent("the stored progress of an earlier attempt is unreadable"))
    }

    /// Save `document` durably; returns once it is written. Call it before the destructive call
    /// it describes, and do not make that call if it fails.
    pub async fn save<T: Serialize>(&self, document: &T) -> Result<(), Failure> {
        let value = serde_json::to_value(document)
            .map_err(|_| Failure::permanent("the connector's progress document does not serialise"))?;
        let size = serde_json::to_vec(&value).map(|v| v.len()).unwrap_or(usize::MAX);
        if size > MAX_PROGRESS_BYTES {
            return Err(Failure::permanent(format!(
                "the connector's progress document is {size} bytes, over the {MAX_PROGRESS_BYTES}-byte limit"
            )));
        }
        self.store.save(&value).await?;
        *self.current.lock().expect("progress lock") = Some(value);
        Ok(())
    }
}

/// For [`Progress::in_memory`]: the document lives only in the `Progress` itself.
struct Discard;

#[async_trait]
impl ProgressStore for Discard {
    async fn save(&self, _: &Value) -> Result<(), Failure> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Refuse;

    #[async_trait]
    impl ProgressStore for Refuse {
        async fn save(&self, _: &Value) -> Result<(), Failure> {
            Err(Failure::transient("the lease moved on"))
        }
    }

    #[tokio::test]
    async fn a_saved_document_is_read_back_and_a_refused_one_is_not() {
        let progress = Progress::in_memory();
        assert_eq!(progress.get::<Vec<i64>>().unwrap(), None);
        progress.save(&vec![1, 2]).await.unwrap();
        assert_eq!(progress.get::<Vec<i64>>().unwrap(), Some(vec![1, 2]));
        assert!(progress.get::<String>().is_err(), "a document of another shape is a failure, not nothing");

        let refused = Progress::new(Some(json!([7])), Arc::new(Refuse));
        assert!(refused.save(&vec![8]).await.is_err());
        assert_eq!(refused.get::<Vec<i64>>().unwrap(), Some(vec![7]), "an unsaved document is not kept");
    }

    #[tokio::test]
    async fn an_oversized_document_is_refused() {
        let progress = Progress::in_memory();
        let big: Vec<i64> = (0..100_000).collect();
        assert!(progress.save(&big).await.is_err());
        assert_eq!(progress.get::<Vec<i64>>().unwrap(), None);
    }
}
