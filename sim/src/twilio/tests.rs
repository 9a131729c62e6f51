//! The simulated Twilio's rules, each with the page of Twilio's documentation it plays.

use super::data::{sid, Data};
use axum::http::Method;
use serde_json::Value;
use std::collections::HashMap;

const ANA: &str = "+33612345678";
const CALLER: &str = "+14155550100";
const COMPANY: &str = "+14155550199";

fn get(data: &mut Data, tail: &str, query: &[(&str, &str)]) -> Value {
    let query: HashMap<String, String> = query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let answer = data.serve(&Method::GET, &format!("{}/{tail}", super::ACCOUNT_SID), &query, &HashMap::new(), "");
    assert_eq!(answer.status, 200);
    answer.body.unwrap()
}

/// A two-leg call: the recording's `call_sid` is the parent leg, never the child leg
/// (<https://www.twilio.com/docs/voice/api/recording-resource>: "This will always refer to the
/// parent leg of a two-leg call"); the child leg names its parent in `parent_call_sid`
/// (<https://www.twilio.com/docs/voice/api/call-resource>), and `ParentCallSid` filters the list.
#[test]
fn a_two_leg_calls_recordings_belong_to_the_parent_leg() {
    let mut data = Data::default();
    let parent = data.add_call(CALLER, COMPANY, 1, 0);
    let child = data.add_child_leg(parent, COMPANY, ANA);
    let calls = get(&mut data, "Calls.json", &[("To", ANA)]);
    assert_eq!(calls["calls"][0]["sid"], sid("CA", child));
    assert_eq!(calls["calls"][0]["parent_call_sid"], sid("CA", parent));
    let by_child = get(&mut data, "Recordings.json", &[("CallSid", &sid("CA", child))]);
    assert_eq!(by_child["recordings"].as_array().unwrap().len(), 0, "the child leg has no recording");
    let by_parent = get(&mut data, "Recordings.json", &[("CallSid", &sid("CA", parent))]);
    assert_eq!(by_parent["recordings"][0]["call_sid"], sid("CA", parent));
    let children = get(&mut data, "Calls.json", &[("ParentCallSid", &sid("CA", parent))]);
    assert_eq!(children["calls"].as_array().unwrap().len(), 1);
    assert_eq!(data.holdings(ANA).recordings, 1, "the parent's recording is the child leg's conversation");
}

fn call(data: &mut Data, method: Method, tail: &str, form: &[(&str, &str)]) -> (u16, Option<Value>) {
    let form: HashMap<String, String> = form.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let answer = data.serve(&method, &format!("{}/{tail}", super::ACCOUNT_SID), &HashMap::new(), &form, "");
    (answer.status, answer.body)
}

fn code(answer: &(u16, Option<Value>)) -> (u16, u64) {
    (answer.0, answer.1.as_ref().and_then(|b| b["code"].as_u64()).unwrap_or(0))
}

/// Redaction is `POST Messages/{Sid}.json` with an empty `Body`
/// (<https://www.twilio.com/docs/messaging/api/message-resource>, "To redact the text content of
/// a Message, this parameter's value must be an empty string"); any other body is error 30400
/// (<https://www.twilio.com/docs/api/errors/30400>, "Message body redaction request does not have
/// empty Body parameter"), as is asking to cancel and redact at once. The media stay.
#[test]
fn redaction_takes_an_empty_body_only_and_keeps_the_media() {
    let mut data = Data::default();
    let seq = data.add_message(ANA, COMPANY, "my address is 1 rue X", 1);
    let message = sid("MM", seq);
    let path = format!("Messages/{message}.json");
    assert_eq!(code(&call(&mut data, Method::POST, &path, &[("Body", "x")])), (400, 30400));
    assert_eq!(code(&call(&mut data, Method::POST, &path, &[])), (400, 30400));
    assert_eq!(code(&call(&mut data, Method::POST, &path, &[("Body", ""), ("Status", "canceled")])), (400, 30400));
    assert_eq!(data.holdings(ANA).message_bodies, 1, "nothing was redacted by a refused call");
    let (status, body) = call(&mut data, Method::POST, &path, &[("Body", "")]);
    assert_eq!((status, body.unwrap()["body"].as_str()), (200, Some("")));
    let h = data.holdings(ANA);
    assert_eq!((h.messages, h.message_bodies, h.media), (1, 0, 1), "a redacted message keeps its media");
}

/// A message still being sent cannot be deleted: error 20009
/// (<https://www.twilio.com/docs/api/errors/20009>, "You attempted to delete a call or message
/// resource before it was completed"), nor redacted (documented for "post-flight" records only).
/// Once final, deleting it removes its media too ("Deleting a Message resource also deletes any
/// associated Media", <https://www.twilio.com/docs/messaging/api/message-resource>).
#[test]
fn a_message_in_flight_is_neither_deleted_nor_redacted_and_a_deletion_takes_its_media() {
    let mut data = Data::default();
    let seq = data.add_message(COMPANY, ANA, "your code is 123456", 2);
    data.messages.get_mut(&seq).unwrap().status = "sending".into();
    let path = format!("Messages/{}.json", sid("MM", seq));
    assert_eq!(code(&call(&mut data, Method::DELETE, &path, &[])), (400, 20009));
    assert_eq!(code(&call(&mut data, Method::POST, &path, &[("Body", "")])), (400, 20009));
    data.messages.get_mut(&seq).unwrap().status = "delivered".into();
    assert_eq!(call(&mut data, Method::DELETE, &path, &[]).0, 204);
    let h = data.holdings(ANA);
    assert_eq!((h.messages, h.media), (0, 0));
    assert_eq!(call(&mut data, Method::DELETE, &path, &[]).0, 404, "gone");
}

/// Media are listed under their message (`media_list`) and deleted one by one
/// (<https://www.twilio.com/docs/messaging/api/media-resource>); a media sid under another
/// message is not found.
#[test]
fn media_are_listed_and_deleted_under_their_message() {
    let mut data = Data::default();
    let seq = data.add_message(ANA, COMPANY, "photo", 2);
    let other = data.add_message(CALLER, COMPANY, "photo", 1);
    let message = sid("MM", seq);
    let listed = get(&mut data, &format!("Messages/{message}/Media.json"), &[]);
    let media: Vec<String> =
        listed["media_list"].as_array().unwrap().iter().map(|m| m["sid"].as_str().unwrap().to_string()).collect();
    assert_eq!(media.len(), 2);
    let wrong_parent = format!("Messages/{}/Media/{}.json", sid("MM", other), media[0]);
    assert_eq!(call(&mut data, Method::DELETE, &wrong_parent, &[]).0, 404);
    for m in &media {
        assert_eq!(call(&mut data, Method::DELETE, &format!("Messages/{message}/Media/{m}.json"), &[]).0, 204);
    }
    assert_eq!(data.holdings(ANA).media, 0);
    assert_eq!(data.holdings(CALLER).media, 1);
}
