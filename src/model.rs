//! The states of requests and tasks, the rules of which action applies in which state, and the
//! kinds of hold. No I/O here.

use serde::{Deserialize, Serialize};

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

impl RequestState {
    pub const ALL: [RequestState; 7] = [
        RequestState::Received,
        RequestState::Scheduled,
        RequestState::InProgress,
        RequestState::Completed,
        RequestState::Failed,
        RequestState::Cancelled,
        RequestState::Closed,
    ];

    /// Not settled yet: work is still ahead (or waits for its grace period to end).
    pub fn is_open(self) -> bool {
        matches!(self, RequestState::Received | RequestState::Scheduled | RequestState::InProgress)
    }

    /// Over: nothing more happens to the request without an operator.
    pub fn is_over(self) -> bool {
        !self.is_open()
    }

    /// Over, and every system is done with the subject.
    pub fn is_success(self) -> bool {
        matches!(self, RequestState::Completed | RequestState::Closed)
    }

    /// Settled (completed, failed) or closed: the request has a signed receipt. A cancelled
    /// request proves no erasure and has none.
    pub fn has_receipt(self) -> bool {
        matches!(self, RequestState::Completed | RequestState::Failed | RequestState::Closed)
    }

    /// An operator may send its failed tasks back to pending (a request whose grace period has
    /// not ended has no task that ran).
    pub fn can_retry(self) -> bool {
        matches!(self, RequestState::Failed | RequestState::InProgress | RequestState::Received)
    }

    pub fn can_cancel(self) -> bool {
        self.is_open()
    }

    /// The legal deadline can still be extended (GDPR art. 12(3)): not after success or a stop.
    pub fn can_extend(self) -> bool {
        self.is_open() || self == RequestState::Failed
    }

    /// A system's task can still be declared exempt (kept for a legal reason).
    pub fn can_exempt(self) -> bool {
        !matches!(self, RequestState::Cancelled | RequestState::Closed)
    }
}

impl TaskState {
    /// An operator can declare the task exempt: it is neither running nor already done.
    pub fn can_exempt(self) -> bool {
        !matches!(self, TaskState::Running) && !self.is_success()
    }
}

/// The result of a verification check (a `lookup` after the erasure).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckResult {
    /// The system holds nothing about the subject: the check passed.
    Absent,
    /// The subject is there again (resurfaced): the task and the request reopen.
    Found,
    /// The system cannot look up (a webhook without `lookup_url`, or `verify_after = []`): the
    /// check passes, and the system is recorded as not verified.
    NotVerifiable,
    /// The lookup failed; it is retried (never a pass, so the request does not close).
    Error,
    /// Left undone when its task reopened: the new erasure has checks of its own.
    Superseded,
}

text_enum!(CheckResult {
    Absent => "absent",
    Found => "found",
    NotVerifiable => "not_verifiable",
    Error => "error",
    Superseded => "superseded",
});

impl CheckResult {
    /// The check is over and lets the request close.
    pub fn passed(self) -> bool {
        matches!(self, CheckResult::Absent | CheckResult::NotVerifiable)
    }
}

/// Why a request is held: nothing of it runs until every hold is released.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldKind {
    /// Put by an operator.
    #[default]
    Operator,
    /// A legal hold (litigation, an authority's request): matched at intake or put by hand.
    Legal,
    /// The mass-deletion brake: too many requests arrived at once.
    Brake,
}

text_enum!(HoldKind {
    Operator => "operator",
    Legal => "legal",
    Brake => "brake",
});

impl HoldKind {
    pub const ALL: [HoldKind; 3] = [HoldKind::Operator, HoldKind::Legal, HoldKind::Brake];
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
    fn state_rules() {
        use RequestState::*;
        let open: Vec<_> = RequestState::ALL.into_iter().filter(|s| s.is_open()).collect();
        assert_eq!(open, [Received, Scheduled, InProgress]);
        assert!(Failed.can_retry() && InProgress.can_retry() && !Scheduled.can_retry() && !Completed.can_retry());
        assert!(Failed.can_extend() && !Completed.can_extend() && !Cancelled.can_extend());
        assert!(Failed.can_exempt() && !Cancelled.can_exempt() && !Closed.can_exempt());
        assert!(Completed.is_success() && Closed.is_success() && !Failed.is_success());
        let with_receipt: Vec<_> = RequestState::ALL.into_iter().filter(|s| s.has_receipt()).collect();
        assert_eq!(with_receipt, [Completed, Failed, Closed]);
        let exemptable: Vec<_> = [
            TaskState::Pending,
            TaskState::Running,
            TaskState::Waiting,
            TaskState::Retrying,
            TaskState::Erased,
            TaskState::NothingToErase,
            TaskState::Failed,
            TaskState::Exempt,
        ]
        .into_iter()
        .filter(|t| t.can_exempt())
        .collect();
        assert_eq!(exemptable, [TaskState::Pending, TaskState::Waiting, TaskState::Retrying, TaskState::Failed]);
        for kind in HoldKind::ALL {
            assert_eq!(HoldKind::parse(kind.as_str()), Some(kind));
        }
    }
}
