//! Whether this process can do its work: the one answer `/readyz` gives and `erasure_ready`
//! exports, so an alert on the metric means what the probe means.

use crate::app::App;
use std::time::Duration;

/// Ready when every loop of this process shows life (intake consuming, runner, outbox and mail
/// polling), the database answers and a broker node accepts a connection; else what is not (loops
/// and dependencies only, never a URL).
pub async fn check(app: &App) -> Result<(), String> {
    let stale = app.liveness.stale();
    if !stale.is_empty() {
        return Err(format!("not running: {}", stale.join(", ")));
    }
    if app.store.ping().await.is_err() {
        return Err("database unreachable".into());
    }
    for url in &app.settings.amqp.urls {
        let Ok(parsed) = url::Url::parse(url) else { continue };
        let Some(host) = parsed.host_str() else { continue };
        let connect = tokio::net::TcpStream::connect((host, crate::amqp::port_of(&parsed)));
        if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_secs(2), connect).await {
            return Ok(());
        }
    }
    Err("broker unreachable".into())
}
