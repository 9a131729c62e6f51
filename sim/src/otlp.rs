//! An OpenTelemetry collector's OTLP/HTTP trace receiver, JSON encoding: `POST /v1/traces`. It
//! keeps the spans it receives, so tests can follow a trace (`Sim::spans`, `GET /_sim/spans`).
//!
//! As the OTLP specification says (https://opentelemetry.io/docs/specs/otlp/#otlphttp):
//! - the body is an `ExportTraceServiceRequest` in the JSON Protobuf Encoding
//!   (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding): keys in lowerCamelCase,
//!   `traceId` and `spanId` (and `parentSpanId`) as hex strings, not base64, unknown fields
//!   ignored; the request's `Content-Type` is `application/json`;
//! - success is `200 OK` with an `ExportTraceServiceResponse` (`{}`) in the same encoding;
//! - a request that cannot be decoded is refused with `400 Bad Request` (a `Status` message),
//!   and is not retried by a client.
//!
//! Only the JSON encoding is implemented: a binary protobuf body (`application/x-protobuf`, which
//! a real collector also takes) is answered `415 Unsupported Media Type`, never taken as decoded.

use crate::harness::{Harness, ReceivedSpan};
use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::Arc;

pub(crate) fn router(harness: Arc<Harness>) -> Router {
    Router::new().route("/v1/traces", post(traces)).with_state(harness)
}

async fn traces(AxumState(state): AxumState<Arc<Harness>>, headers: HeaderMap, body: Bytes) -> Response {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let media_type = content_type.split(';').next().unwrap_or_default().trim();
    if !media_type.eq_ignore_ascii_case("application/json") {
        return status(StatusCode::UNSUPPORTED_MEDIA_TYPE, "only the OTLP/HTTP JSON encoding is implemented");
    }
    match decode(&body) {
        Ok(spans) => {
            state.record_spans(spans);
            (StatusCode::OK, Json(json!({}))).into_response()
        }
        Err(why) => status(StatusCode::BAD_REQUEST, &why),
    }
}

/// A `google.rpc.Status` in JSON, as the spec's failure answers carry.
fn status(code: StatusCode, message: &str) -> Response {
    (code, Json(json!({ "code": 3, "message": message }))).into_response()
}

/// The spans of an `ExportTraceServiceRequest` (JSON); `Err` for a body that is not one, or
/// whose ids are not hex of the right length.
pub(crate) fn decode(body: &[u8]) -> Result<Vec<ReceivedSpan>, String> {
    let request: Value = serde_json::from_slice(body).map_err(|_| "the body is not JSON".to_string())?;
    let mut spans = Vec::new();
    for resource_spans in list(&request, "resourceSpans")? {
        let service = attributes(resource_spans.get("resource").unwrap_or(&Value::Null))?
            .into_iter()
            .find(|(key, _)| key == "service.name")
            .map(|(_, value)| value)
            .unwrap_or_default();
        for scope_spans in list(resource_spans, "scopeSpans")? {
            for span in list(scope_spans, "spans")? {
                spans.push(ReceivedSpan {
                    trace_id: id(span, "traceId", 16)?,
                    span_id: id(span, "spanId", 8)?,
                    parent_span_id: match span.get("parentSpanId") {
                        None | Some(Value::Null) => String::new(),
                        Some(Value::String(s)) if s.is_empty() => String::new(),
                        Some(_) => id(span, "parentSpanId", 8)?,
                    },
                    name: span.get("name").and_then(Value::as_str).unwrap_or_default().to_string(),
                    service: service.clone(),
                    attributes: attributes(span)?,
                });
            }
        }
    }
    Ok(spans)
}

/// A repeated field: absent (proto3's default) is empty.
fn list<'a>(value: &'a Value, key: &str) -> Result<&'a [Value], String> {
    match value.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(format!("`{key}` is not an array")),
    }
}

/// `traceId` / `spanId`: lowercase or uppercase hex of `bytes` bytes (the JSON encoding's rule).
fn id(span: &Value, key: &str, bytes: usize) -> Result<String, String> {
    let text = span.get(key).and_then(Value::as_str).ok_or_else(|| format!("a span has no `{key}`"))?;
    if text.len() != 2 * bytes || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("`{key}` is not {} hex digits", 2 * bytes));
    }
    Ok(text.to_ascii_lowercase())
}

/// The `attributes` (`KeyValue` list) of a resource or a span, simple values as text.
fn attributes(owner: &Value) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for kv in list(owner, "attributes")? {
        let Some(key) = kv.get("key").and_then(Value::as_str) else { continue };
        let value = kv.get("value").unwrap_or(&Value::Null);
        let text = match (value.get("stringValue"), value.get("intValue"), value.get("boolValue")) {
            (Some(Value::String(s)), _, _) => s.clone(),
            (_, Some(Value::String(n)), _) => n.clone(),
            (_, Some(Value::Number(n)), _) => n.to_string(),
            (_, _, Some(Value::Bool(b))) => b.to_string(),
            _ => continue,
        };
        out.push((key.to_string(), text));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_specs_json_encoding_is_read_with_hex_ids() {
        let body = json!({
            "resourceSpans": [{
                "resource": { "attributes": [{ "key": "service.name", "value": { "stringValue": "erasure-worker" } }] },
                "scopeSpans": [{
                    "scope": { "name": "erasure-worker" },
                    "spans": [
                        { "traceId": "5B8EFFF798038103D269B633813FC60C", "spanId": "EEE19B7EC3C1B174",
                          "name": "intake", "kind": 1, "startTimeUnixNano": "1544712660000000000",
                          "attributes": [{ "key": "attempt", "value": { "intValue": "2" } }] },
                        { "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b173",
                          "parentSpanId": "eee19b7ec3c1b174", "name": "attempt", "unknownField": true }
                    ]
                }]
            }]
        });
        let spans = decode(body.to_string().as_bytes()).unwrap();
        assert_eq!(spans.len(), 2);
        assert_eq!(spans[0].trace_id, "5b8efff798038103d269b633813fc60c");
        assert_eq!((spans[0].parent_span_id.as_str(), spans[0].service.as_str()), ("", "erasure-worker"));
        assert_eq!(spans[0].attributes, vec![("attempt".to_string(), "2".to_string())]);
        assert_eq!(spans[1].parent_span_id, "eee19b7ec3c1b174");
    }

    #[test]
    fn base64_ids_and_non_requests_are_refused() {
        let base64 = json!({ "resourceSpans": [{ "scopeSpans": [{ "spans": [
            { "traceId": "W47/95gDgQPSabYzgT/GDA==", "spanId": "7uGbfsPBsXQ=", "name": "x" } ] }] }] });
        assert!(decode(base64.to_string().as_bytes()).is_err());
        assert!(decode(b"not json").is_err());
        assert!(decode(br#"{"resourceSpans": 3}"#).is_err());
        assert_eq!(decode(b"{}").unwrap(), vec![], "an empty request is a valid one");
    }
}
