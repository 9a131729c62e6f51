//! Intercom Phone: the calls on the person's conversations that hold a recording or a
//! transcript. Intercom API 2.14 can list them (`POST /calls/search`, 20 conversations a call)
//! but offers no call that deletes a recording or a transcript, so they are counted and reported,
//! never claimed as erased.

use crate::api::Api;
use erasure_connector::Failure;

/// Intercom's limit of conversation ids per `POST /calls/search`.
const CONVERSATIONS_PER_SEARCH: usize = 20;

/// How many calls on `conversations` hold a recording or a transcript.
pub(crate) async fn with_voice(api: &Api, conversations: &[String]) -> Result<u64, Failure> {
    let mut found = 0;
    for chunk in conversations.chunks(CONVERSATIONS_PER_SEARCH) {
        found += api.calls(chunk).await?.iter().filter(|call| call.holds_voice()).count() as u64;
    }
    Ok(found)
}
