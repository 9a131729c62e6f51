//! Where a connector's durable progress goes: the task row, under the attempt's lease token,
//! written by the runner's recorder with the other attempts' saves of the moment
//! (`Store::save_progress_all`, one commit for all of them).

use super::recorder::Recorder;
use erasure_connector::{Failure, Progress, ProgressStore};
use std::sync::Arc;

struct TaskProgress {
    recorder: Recorder,
    task_id: i64,
    lease_token: i64,
}

/// The progress of one attempt: the document the last attempt saved, written back under `lease_token`.
pub(crate) fn for_attempt(
    recorder: &Recorder,
    task_id: i64,
    lease_token: i64,
    saved: Option<serde_json::Value>,
) -> Progress {
    Progress::new(saved, Arc::new(TaskProgress { recorder: recorder.clone(), task_id, lease_token }))
}

#[erasure_connector::async_trait]
impl ProgressStore for TaskProgress {
    async fn save(&self, document: &serde_json::Value) -> Result<(), Failure> {
        match self.recorder.save_progress(self.task_id, self.lease_token, document.clone()).await {
            Some(true) => Ok(()),
            Some(false) => Err(Failure::transient(
                "the lease on this task moved on (the attempt was presumed lost); its next step was not taken",
            )),
            None => Err(Failure::transient("the connector's progress could not be saved; its next step was not taken")),
        }
    }
}
