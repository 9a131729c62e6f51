//! Where a connector's durable progress goes: the task row, under the attempt's lease token, in
//! its own short transaction (`Store::save_progress`).

use crate::app::App;
use erasure_connector::{Failure, Progress, ProgressStore};
use std::sync::Arc;

struct TaskProgress {
    app: Arc<App>,
    task_id: i64,
    lease_token: i64,
}

/// The progress of one attempt: the document the last attempt saved, written back under `lease_token`.
pub(crate) fn for_attempt(
    app: &Arc<App>,
    task_id: i64,
    lease_token: i64,
    saved: Option<serde_json::Value>,
) -> Progress {
    Progress::new(saved, Arc::new(TaskProgress { app: app.clone(), task_id, lease_token }))
}

#[erasure_connector::async_trait]
impl ProgressStore for TaskProgress {
    async fn save(&self, document: &serde_json::Value) -> Result<(), Failure> {
        let now = self.app.clock.now();
        match self.app.store.save_progress(self.task_id, self.lease_token, document, now).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(Failure::transient(
                "the lease on this task moved on (the attempt was presumed lost); its next step was not taken",
            )),
            Err(error) => {
                tracing::warn!(task_id = self.task_id, %error, "Could not save a connector's progress.");
                Err(Failure::transient("the connector's progress could not be saved; its next step was not taken"))
            }
        }
    }
}
