//! The states of requests and tasks, and the events they emit. No I/O here.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    Received,
    Scheduled,
    InProgress,
    Completed,
    Failed,
    Cancelled,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    Pending,
    Running,
    Waiting,
    Retrying,
    Erased,
    NothingToErase,
    Failed,
    Exempt,
}

macro_rules! text_enum {
    ($ty:ident { $($variant:ident => $text:literal),* $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $text),* }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($ty::$variant),)* _ => None }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(RequestState {
    Received => "received",
    Scheduled => "scheduled",
    InProgress => "in_progress",
    Completed => "completed",
    Failed => "failed",
    Cancelled => "cancelled",
    Closed => "closed",
});

text_enum!(TaskState {
    Pending => "pending",
    Running => "running",
    Waiting => "waiting",
    Retrying => "retrying",
    Erased => "erased",
    NothingToErase => "nothing_to_erase",
    Failed => "failed",
    Exempt => "exempt",
});

impl TaskState {
    /// Erased, nothing to erase, or exempt: the system is done with the subject.
    pub fn is_success(self) -> bool {
        matches!(self, TaskState::Erased | TaskState::NothingToErase | TaskState::Exempt)
    }

    /// No further work will happen without a human.
    pub fn is_terminal(self) -> bool {
        self.is_success() || self == TaskState::Failed
    }
}

/// The request's state once every task is terminal; `None` while any task can still progress.
pub fn settled_state(tasks: &[TaskState]) -> Option<RequestState> {
    if !tasks.iter().all(|t| t.is_terminal()) {
        return None;
    }
    if tasks.iter().all(|t| t.is_success()) {
        Some(RequestState::Completed)
    } else {
        Some(RequestState::Failed)
    }
}

/// Routing keys of the events on the `erasure.events` exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Completed,
    Failed,
    Rejected,
    Cancelled,
    DeadlineExtended,
}

impl EventType {
    pub fn routing_key(self) -> &'static str {
        match self {
            EventType::Completed => "erasure.completed",
            EventType::Failed => "erasure.failed",
            EventType::Rejected => "erasure.rejected",
            EventType::Cancelled => "erasure.cancelled",
            EventType::DeadlineExtended => "erasure.deadline_extended",
        }
    }
}

const MESSAGE_ID_NAMESPACE: Uuid = Uuid::from_u128(0x2f1c_7a4e_55b0_4c1d_9a6e_0e5a_7c3b_91d4);

/// Deterministic, so that consumers can deduplicate: the same event of the same generation of
/// the same request always carries the same id.
pub fn message_id(request_id: Uuid, event: EventType, generation: i32) -> Uuid {
    Uuid::new_v5(&MESSAGE_ID_NAMESPACE, format!("{request_id}/{}/{generation}", event.routing_key()).as_bytes())
}

/// A reference the person can quote to a support team, derived from the request id.
pub fn receipt(request_id: Uuid) -> String {
    let hex = Uuid::new_v5(&MESSAGE_ID_NAMESPACE, request_id.as_bytes()).simple().to_string().to_uppercase();
    format!("ER-{}-{}-{}", &hex[0..4], &hex[4..8], &hex[8..12])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_settles_only_when_every_task_is_terminal() {
        use TaskState::*;
        assert_eq!(settled_state(&[Erased, NothingToErase, Exempt]), Some(RequestState::Completed));
        assert_eq!(settled_state(&[Erased, Failed]), Some(RequestState::Failed));
        assert_eq!(settled_state(&[Failed, Retrying]), None);
        assert_eq!(settled_state(&[Erased, Waiting]), None);
    }

    #[test]
    fn message_ids_are_stable_per_request_event_and_generation() {
        let id = Uuid::from_u128(42);
        assert_eq!(message_id(id, EventType::Completed, 1), message_id(id, EventType::Completed, 1));
        assert_ne!(message_id(id, EventType::Completed, 1), message_id(id, EventType::Completed, 2));
        assert_ne!(message_id(id, EventType::Completed, 1), message_id(id, EventType::Failed, 1));
        assert_eq!(receipt(id).len(), "ER-XXXX-XXXX-XXXX".len());
    }
}
