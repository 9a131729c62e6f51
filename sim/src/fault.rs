//! The faults the simulator injects, and how the conformance kit's faults map onto them.

use erasure_connector::testkit::MockFault;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// One injected fault, consumed by one call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Answer this status (e.g. 500, 503, 401), with `Retry-After` if given.
    Status { status: u16, retry_after: Option<u64> },
    /// 429 Too Many Requests, with `Retry-After` if given.
    Throttle { retry_after: Option<u64> },
    /// Wait this long before answering normally (longer than the client timeout = a timeout).
    Hang { millis: u64 },
    /// Do the work at once, then wait this long before answering: the caller may die after
    /// the system erased but before it learned so.
    SlowAnswer { millis: u64 },
}

/// How long a `MockFault::Timeout` hangs: longer than the kit's HTTP timeout.
const KIT_HANG: Duration = Duration::from_millis(1500);

impl Fault {
    /// The kit's fault, with a `MockFault::Timeout` that hangs for `hang` (for a connector whose
    /// HTTP timeout is not the kit's).
    pub fn from_mock_with_hang(fault: MockFault, hang: Duration) -> Fault {
        match fault {
            MockFault::ThrottleWithHint { seconds } => Fault::Throttle { retry_after: Some(seconds) },
            MockFault::ThrottleWithoutHint => Fault::Throttle { retry_after: None },
            MockFault::ServerError => Fault::Status { status: 503, retry_after: None },
            MockFault::Timeout => Fault::Hang { millis: hang.as_millis() as u64 },
            MockFault::Unauthorized => Fault::Status { status: 401, retry_after: None },
        }
    }
}

impl From<MockFault> for Fault {
    fn from(fault: MockFault) -> Fault {
        Fault::from_mock_with_hang(fault, KIT_HANG)
    }
}
