//! What `erasure check-config` warns about: settings that are valid but weaker than production
//! needs (plain transport beyond loopback, unsigned intake, an open API). Each warning names the
//! key and the file or variable that set it; none stops start-up.

use super::{Settings, StartTls};
use erasure_connector::transport::{is_loopback_host, postgres_url_is_loopback, resolved_ssl_mode, SslMode};

impl Settings {
    /// One line per weakness, `config key `KEY` (ORIGIN): ...`.
    pub fn warnings(&self) -> Vec<String> {
        let mut found: Vec<(String, String)> = Vec::new();
        let mut warn = |key: &str, message: &str| found.push((key.to_string(), message.to_string()));

        if weak_postgres_tls(&self.database.url) {
            warn("database.url", WEAK_POSTGRES_TLS);
        }
        if self.amqp.urls.iter().any(|u| u.starts_with("amqp://") && !url_is_loopback(u)) {
            warn("amqp.urls", "a plain amqp:// URL to a broker beyond loopback: use amqps://");
        }
        let mail = &self.mail;
        if mail.enabled && !mail.tls && mail.starttls() != StartTls::Required && !url_is_loopback(&mail.smtp_url) {
            warn("mail.starttls", "STARTTLS off or opportunistic to an SMTP server beyond loopback: use required");
        }
        if !self.intake.require_signature {
            warn("intake.require_signature", "false: anyone who can publish to the queue can request an erasure");
        }
        if std::env::var_os(&self.receipts.signing_key_env).is_none() {
            warn("receipts.signing_key_env", "the variable is not set: receipts of settled requests are not served");
        }
        let api_host = self.api.listen.rsplit_once(':').map_or(self.api.listen.as_str(), |(h, _)| h);
        if self.api.tokens.is_empty() && !is_loopback_host(api_host) {
            warn("api.listen", "the API listens beyond loopback and no token is configured");
        }
        for (name, c) in &self.connectors {
            let option = |key: &str| c.options.get(key);
            let url = option("url").and_then(|u| u.as_str()).unwrap_or("");
            let insecure = option("allow_insecure_http").and_then(|v| v.as_bool()) == Some(true);
            if c.kind == "webhook" && insecure && !url_is_loopback(url) {
                warn(
                    &format!("connectors.{name}.allow_insecure_http"),
                    "true for a service beyond loopback: its calls may travel in plain HTTP",
                );
            }
            if c.kind == "sql" && weak_postgres_tls(url) {
                warn(&format!("connectors.{name}.url"), WEAK_POSTGRES_TLS);
            }
        }
        found.into_iter().map(|(key, message)| format!("warning: {}", self.key_error(&key, message))).collect()
    }
}

const WEAK_POSTGRES_TLS: &str = "sslmode disable or prefer to a database beyond loopback: use sslmode=require";

/// A PostgreSQL URL (the worker's or a `sql` connector's) that may travel in plain text beyond
/// loopback.
fn weak_postgres_tls(url: &str) -> bool {
    !postgres_url_is_loopback(url) && matches!(resolved_ssl_mode(url), Ok(SslMode::Disable | SslMode::Prefer))
}

/// Whether a URL's host is loopback (an unreadable URL is not).
fn url_is_loopback(url: &str) -> bool {
    url::Url::parse(url).ok().and_then(|u| u.host_str().map(is_loopback_host)).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use crate::config::load_for_tests as load;

    #[test]
    fn weak_settings_beyond_loopback_are_named_and_loopback_ones_are_not() {
        let weak = load(
            "[database]\nurl = \"postgres://erasure@db.internal/erasure?sslmode=prefer\"\n\
             [amqp]\nurls = [\"amqp://mq.internal:5672/%2f\"]\n\
             [mail]\nenabled = true\nsmtp_url = \"smtp://mail.internal:25\"\nstarttls = \"opportunistic\"\n\
             [intake]\nrequire_signature = false\n[api]\nlisten = \"0.0.0.0:8080\"\n\
             [connectors.accounts]\nkind = \"webhook\"\nurl = \"http://accounts.internal/x\"\nsecret_env = \"S\"\nallow_insecure_http = true\n\
             [connectors.orders]\nkind = \"sql\"\nurl = \"postgres://erasure@orders.internal/orders?sslmode=disable\"\nlookup = \"SELECT 0\"\nerase = [\"SELECT 0\"]\n\
             [connectors.shop]\nkind = \"sql\"\nurl = \"postgres://erasure@shop.internal/shop\"\nlookup = \"SELECT 0\"\nerase = [\"SELECT 0\"]\n\
             [receipts]\nsigning_key_env = \"ERASURE_TEST_UNSET_RECEIPT_KEY_4242\"\n",
            &[],
        )
        .unwrap();
        let text = weak.warnings().join("\n");
        // An sql connector without sslmode beyond loopback uses TLS (`require`): no warning.
        assert!(!text.contains("connectors.shop"), "{text}");
        for key in [
            "database.url",
            "amqp.urls",
            "mail.starttls",
            "intake.require_signature",
            "api.listen",
            "connectors.accounts.allow_insecure_http",
            "connectors.orders.url",
            "receipts.signing_key_env",
        ] {
            assert!(text.contains(&format!("`{key}` (")), "{key} missing in:\n{text}");
        }
        assert!(text.contains("prod.toml"), "{text}");

        // SAFETY: a variable only this test reads, set before anything reads it.
        unsafe { std::env::set_var("ERASURE_TEST_RECEIPT_KEY_SET", "set") };
        let loopback = load(
            "[database]\nurl = \"postgres://erasure@127.0.0.1/erasure\"\n[amqp]\nurls = [\"amqp://localhost:5672/%2f\"]\n\
             [mail]\nenabled = true\nsmtp_url = \"smtp://127.0.0.1:25\"\n[intake]\nrequire_signature = true\n\
             [api]\nlisten = \"127.0.0.1:8080\"\n[receipts]\nsigning_key_env = \"ERASURE_TEST_RECEIPT_KEY_SET\"\n",
            &[],
        )
        .unwrap();
        assert_eq!(loopback.warnings(), Vec::<String>::new());
    }
}
