//! Mailchimp's answers (the shared `Answer` in Mailchimp's dialect) and its error shape.

use crate::answer::Dialect;
use serde_json::json;

/// Where Mailchimp's error documents point (`type`).
const ERRORS_DOC: &str = "https://mailchimp.com/developer/marketing/docs/errors/";

/// Errors are `application/problem+json` (<https://mailchimp.com/developer/marketing/docs/errors/>,
/// "Error format"), other bodies plain JSON.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct MailchimpDialect;

impl Dialect for MailchimpDialect {
    fn content_type(status: u16) -> &'static str {
        if status >= 400 {
            "application/problem+json; charset=utf-8"
        } else {
            "application/json; charset=utf-8"
        }
    }
}

pub(super) type Answer = crate::answer::Answer<MailchimpDialect>;

impl Answer {
    /// Mailchimp's problem document (`type`, `title`, `status`, `detail`, `instance`):
    /// <https://mailchimp.com/developer/marketing/docs/errors/>, "Error format". Details name no
    /// e-mail address.
    pub(super) fn error(status: u16, title: &str, detail: &str) -> Answer {
        let body = json!({
            "type": ERRORS_DOC,
            "title": title,
            "status": status,
            "detail": detail,
            "instance": uuid::Uuid::new_v4().to_string(),
        });
        Answer::new(status, Some(body))
    }

    pub(super) fn bad_request(detail: &str) -> Answer {
        Answer::error(400, "Invalid Resource", detail)
    }

    /// 404 ResourceNotFound (error glossary).
    pub(super) fn not_found() -> Answer {
        Answer::error(404, "Resource Not Found", "The requested resource could not be found.")
    }

    /// 405 MethodNotAllowed (the example of "Error format").
    pub(super) fn method_not_allowed() -> Answer {
        Answer::error(
            405,
            "Method Not Allowed",
            "The requested method and resource are not compatible. See the Allow header for this resource's available methods.",
        )
    }

    /// 401 APIKeyMissing / APIKeyInvalid (error glossary).
    pub(super) fn unauthorized(missing: bool) -> Answer {
        if missing {
            Answer::error(401, "API Key Missing", "Your request did not include an API key.")
        } else {
            Answer::error(
                401,
                "API Key Invalid",
                "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
            )
        }
    }

    /// 429 TooManyRequests: the 10 simultaneous connections an account may hold
    /// (<https://mailchimp.com/developer/marketing/guides/run-async-requests-batch-endpoint/>: "The
    /// Marketing API has a limit of 10 concurrent connections for your API key"). Mailchimp
    /// documents no `Retry-After`; one is sent only for an injected throttle that has a hint.
    pub(super) fn too_many_requests(retry_after: Option<u64>) -> Answer {
        Answer::error(429, "Too Many Requests", "You have exceeded the limit of 10 simultaneous connections.")
            .with_retry_after(retry_after)
    }

    /// 500 InternalServerError (error glossary), or another status for an injected fault.
    pub(super) fn for_status(status: u16, retry_after: Option<u64>) -> Answer {
        let answer = match status {
            401 => Answer::unauthorized(false),
            404 => Answer::not_found(),
            405 => Answer::method_not_allowed(),
            429 => Answer::too_many_requests(None),
            500 => Answer::error(500, "Internal Server Error", "An unexpected internal error has occurred."),
            503 => Answer::error(503, "Service Unavailable", "The service is temporarily unavailable."),
            other => Answer::error(other, "Injected fault", "An injected fault."),
        };
        answer.with_retry_after(retry_after)
    }
}
