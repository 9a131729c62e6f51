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
    let answer = data.serve(&Method::GET, &format!("{}/{tail}", super::ACCOUNT_SID), &query, "");
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
