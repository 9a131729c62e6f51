//! OpenTelemetry traces: the OTLP/HTTP exporter (`[telemetry]`), and how a request's trace is
//! carried: intake continues the message's `traceparent` (or starts one), the request stores it,
//! and every attempt's span is its child (`runner`), whose context webhook calls send on.
//!
//! Spans carry no personal data: names, the source, connector instance names, attempt numbers
//! and request ids only (never a subject, an identifier or a vendor answer).

pub mod traceparent;

use crate::config::TelemetrySettings;
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use opentelemetry_sdk::Resource;
pub use traceparent::TraceParent;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The exporter while the process runs; `shutdown` sends what is still buffered.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Send the buffered spans and stop the exporter (at exit).
    pub fn shutdown(self) {
        if let Some(provider) = self.provider {
            if let Err(error) = provider.shutdown() {
                tracing::warn!(%error, "Could not send the last traces.");
            }
        }
    }
}

/// The collector's traces URL: `[telemetry] otlp_endpoint` + `/v1/traces`, else what the
/// standard `OTEL_EXPORTER_OTLP_*ENDPOINT` variables say, else `None` (tracing is off).
fn endpoint(settings: &TelemetrySettings, env: impl Fn(&str) -> Option<String>) -> Option<Option<String>> {
    if let Some(base) = settings.otlp_endpoint.as_deref().filter(|e| !e.is_empty()) {
        return Some(Some(format!("{}/v1/traces", base.trim_end_matches('/'))));
    }
    let set = |name: &str| env(name).is_some_and(|v| !v.is_empty());
    // The exporter reads the variables itself (with the spec's rules for each).
    (set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") || set("OTEL_EXPORTER_OTLP_ENDPOINT")).then_some(None)
}

/// The layer that turns `tracing` spans into OpenTelemetry spans, and its exporter; `None` when
/// no endpoint is configured.
pub fn layer<S>(
    settings: &TelemetrySettings,
) -> Result<(Option<tracing_opentelemetry::OpenTelemetryLayer<S, opentelemetry_sdk::trace::Tracer>>, Telemetry), String>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    let Some(url) = endpoint(settings, |name| std::env::var(name).ok()) else {
        return Ok((None, Telemetry { provider: None }));
    };
    let mut exporter = opentelemetry_otlp::SpanExporter::builder().with_http().with_protocol(Protocol::HttpJson);
    if let Some(url) = url {
        exporter = exporter.with_endpoint(url);
    }
    let exporter = exporter.build().map_err(|e| format!("telemetry.otlp_endpoint: {e}"))?;
    let sampler = Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(settings.sample_ratio)));
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_sampler(sampler)
        .with_resource(
            Resource::builder()
                .with_service_name(settings.service_name.clone())
                .with_attribute(opentelemetry::KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
                .build(),
        )
        .build();
    let tracer = provider.tracer("erasure-worker");
    let layer = tracing_opentelemetry::layer().with_tracer(tracer).with_tracked_inactivity(false);
    Ok((Some(layer), Telemetry { provider: Some(provider) }))
}

/// Make `span` a child of `parent` (a span in another process); without one, `span` starts a
/// trace. Call before the span is first entered.
pub fn continue_from(span: &tracing::Span, parent: Option<&TraceParent>) {
    if let Some(parent) = parent {
        let context = opentelemetry::Context::new().with_remote_span_context(parent.span_context());
        // Refused only when no OpenTelemetry layer is installed: nothing to continue then.
        let _ = span.set_parent(context);
    }
}

/// The `traceparent` that makes a callee a child of `span`; `None` when tracing is off.
pub fn traceparent_of(span: &tracing::Span) -> Option<TraceParent> {
    TraceParent::of(span.context().span().span_context())
}

/// What a request's work continues: `span`'s context when traces are exported, else the
/// incoming one, else a new trace, so that the stored and forwarded `traceparent` is the same
/// trace whether or not this process exports it.
pub fn trace_of(span: &tracing::Span, incoming: Option<TraceParent>) -> TraceParent {
    traceparent_of(span).or(incoming).unwrap_or_else(|| TraceParent::start(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_comes_from_the_config_then_the_standard_variables() {
        let mut settings = TelemetrySettings::default();
        let none = |_: &str| None;
        assert_eq!(endpoint(&settings, none), None, "off by default");
        let standard = |name: &str| (name == "OTEL_EXPORTER_OTLP_ENDPOINT").then(|| "http://c:4318".to_string());
        assert_eq!(endpoint(&settings, standard), Some(None), "the exporter reads the variable");
        settings.otlp_endpoint = Some("http://collector:4318/".into());
        assert_eq!(endpoint(&settings, standard), Some(Some("http://collector:4318/v1/traces".into())));
    }

    #[test]
    fn without_a_layer_the_incoming_trace_or_a_new_one_is_carried() {
        let span = tracing::info_span!("intake");
        let incoming = TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
        continue_from(&span, Some(&incoming));
        assert_eq!(trace_of(&span, Some(incoming)), incoming);
        let started = trace_of(&span, None);
        assert_ne!(started.trace_id, incoming.trace_id);
        assert!(started.sampled());
    }
}
