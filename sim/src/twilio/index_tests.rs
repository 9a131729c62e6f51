//! The account's indexes (`index.rs`) against the data they index: every list filtered by a
//! number, a parent leg, a call, a recording or a message shows what a scan of every record
//! shows, after deletions too.

use super::data::{parse_sid, Data};
use axum::http::Method;
use serde_json::Value;
use std::collections::HashMap;

const NUMBERS: [&str; 4] = ["+33612345678", "+14155550100", "+14155550199", "+33698765432"];

fn serve(data: &mut Data, method: Method, tail: &str, query: &[(&str, &str)]) -> (u16, Value) {
    let query: HashMap<String, String> = query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let answer = data.serve(&method, &format!("{}/{tail}", super::ACCOUNT_SID), &query, &HashMap::new(), "");
    (answer.status, answer.body.unwrap_or_default())
}

/// The sequence numbers a list shows, on one page.
fn listed(data: &mut Data, tail: &str, key: &str, query: &[(&str, &str)]) -> Vec<u64> {
    let mut query = query.to_vec();
    query.push(("PageSize", "1000"));
    let (status, body) = serve(data, Method::GET, tail, &query);
    assert_eq!(status, 200, "{body}");
    let sids = body[key].as_array().unwrap().iter().map(|r| r["sid"].as_str().unwrap().to_string());
    sids.map(|sid| parse_sid(&sid[..2], &sid).unwrap()).collect()
}

fn account() -> Data {
    let mut data = Data { page_size: 1000, ..Data::default() };
    for i in 0..40 {
        let call = data.add_call(NUMBERS[i % 4], NUMBERS[(i + 1) % 4], i % 3, i % 2);
        if i % 5 == 0 {
            data.add_child_leg(call, NUMBERS[(i + 1) % 4], NUMBERS[(i + 2) % 4]);
        }
        data.add_message(NUMBERS[(i + 2) % 4], NUMBERS[i % 4], "Hello", i % 3);
    }
    data
}

fn check_lists(data: &mut Data) {
    for number in NUMBERS.iter().chain(&["+10000000000"]) {
        for key in ["To", "From"] {
            let scanned: Vec<u64> = data
                .calls
                .iter()
                .filter(|(_, c)| !c.deleted && if key == "To" { c.to == *number } else { c.from == *number })
                .map(|(seq, _)| *seq)
                .collect();
            assert_eq!(listed(data, "Calls.json", "calls", &[(key, number)]), scanned, "calls {key} {number}");
            let scanned: Vec<u64> = data
                .messages
                .iter()
                .filter(|(_, m)| if key == "To" { m.to == *number } else { m.from == *number })
                .map(|(seq, _)| *seq)
                .collect();
            assert_eq!(listed(data, "Messages.json", "messages", &[(key, number)]), scanned, "messages {key} {number}");
        }
        let both: Vec<u64> = data
            .calls
            .iter()
            .filter(|(_, c)| !c.deleted && c.to == *number && c.from == NUMBERS[0])
            .map(|(s, _)| *s)
            .collect();
        assert_eq!(listed(data, "Calls.json", "calls", &[("To", number), ("From", NUMBERS[0])]), both);
    }
    let calls: Vec<u64> = data.calls.keys().copied().collect();
    for call in calls {
        let sid = super::data::sid("CA", call);
        let children: Vec<u64> =
            data.calls.iter().filter(|(_, c)| !c.deleted && c.parent == Some(call)).map(|(s, _)| *s).collect();
        assert_eq!(listed(data, "Calls.json", "calls", &[("ParentCallSid", &sid)]), children);
        let recordings: Vec<u64> =
            data.recordings.iter().filter(|(_, r)| r.call == call && !r.deleted).map(|(s, _)| *s).collect();
        assert_eq!(listed(data, "Recordings.json", "recordings", &[("CallSid", &sid)]), recordings);
    }
    assert!(listed(data, "Calls.json", "calls", &[("ParentCallSid", "CAnot-a-sid")]).is_empty());
    let recordings: Vec<u64> = data.recordings.keys().copied().collect();
    for recording in recordings {
        let tail = format!("Recordings/{}/Transcriptions.json", super::data::sid("RE", recording));
        let scanned: Vec<u64> =
            data.transcriptions.iter().filter(|(_, t)| t.recording == recording).map(|(s, _)| *s).collect();
        assert_eq!(listed(data, &tail, "transcriptions", &[]), scanned);
    }
    let messages: Vec<(u64, String)> = data
        .messages
        .keys()
        .map(|seq| {
            let has_media = data.media.values().any(|m| m.message == *seq);
            (*seq, super::data::sid(if has_media { "MM" } else { "SM" }, *seq))
        })
        .collect();
    for (seq, sid) in messages {
        let scanned: Vec<u64> = data.media.iter().filter(|(_, m)| m.message == seq).map(|(s, _)| *s).collect();
        assert_eq!(listed(data, &format!("Messages/{sid}/Media.json"), "media_list", &[]), scanned, "{sid}");
    }
}

#[test]
fn indexed_lists_show_what_a_scan_shows() {
    let mut data = account();
    check_lists(&mut data);
}

/// After calls, recordings, transcriptions, messages and media are deleted, the lists still show
/// what a scan shows: a deleted message takes its media with it.
#[test]
fn lists_follow_deletions() {
    let mut data = account();
    let calls: Vec<u64> = data.calls.keys().copied().step_by(3).collect();
    for call in calls {
        assert_eq!(serve(&mut data, Method::DELETE, &format!("Calls/{}", super::data::sid("CA", call)), &[]).0, 204);
    }
    let recordings: Vec<u64> = data.recordings.keys().copied().step_by(2).collect();
    for recording in recordings {
        let tail = format!("Recordings/{}", super::data::sid("RE", recording));
        assert_eq!(serve(&mut data, Method::DELETE, &tail, &[]).0, 204);
    }
    let transcriptions: Vec<u64> = data.transcriptions.keys().copied().step_by(2).collect();
    for transcription in transcriptions {
        let tail = format!("Transcriptions/{}", super::data::sid("TR", transcription));
        assert_eq!(serve(&mut data, Method::DELETE, &tail, &[]).0, 204);
    }
    let messages: Vec<u64> = data.messages.keys().copied().step_by(2).collect();
    for message in messages {
        assert_eq!(
            serve(&mut data, Method::DELETE, &format!("Messages/{}", super::data::sid("SM", message)), &[]).0,
            204
        );
    }
    let media: Vec<(u64, u64)> = data.media.iter().map(|(seq, m)| (*seq, m.message)).step_by(2).collect();
    for (seq, message) in media {
        let tail = format!("Messages/{}/Media/{}", super::data::sid("MM", message), super::data::sid("ME", seq));
        assert_eq!(serve(&mut data, Method::DELETE, &tail, &[]).0, 204);
    }
    check_lists(&mut data);
    assert!(data.media.values().all(|m| data.messages.contains_key(&m.message)), "no media of a deleted message");
}
