//! Whether this process can do its work: the one answer `/readyz` gives and `erasure_ready`
//! exports, so an alert on the metric means what the probe means.

use crate::app::App;

/// Ready when the database answers and a broker node accepts a connection; else why not.
pub async fn check(app: &App) -> Result<(), &'static str> {
    if app.store.ping().await.is_err() {
        return Err("database unreachable");
    }
    for url in &app.settings.amqp.urls {
        let Ok(parsed) = url::Url::parse(url) else { continue };
        let (Some(host), port) = (parsed.host_str(), parsed.port().unwrap_or(5672)) else { continue };
        let connect = tokio::net::TcpStream::connect((host, port));
        if let Ok(Ok(_)) = tokio::time::timeout(std::time::Duration::from_secs(2), connect).await {
            return Ok(());
        }
    }
    Err("broker unreachable")
}
