//! Secure-by-default transport settings shared by the worker and the connectors: which hosts
//! count as loopback, and the PostgreSQL `sslmode` a URL resolves to (its own, or `require`
//! when any host is not loopback, else `prefer`).

use std::net::IpAddr;

/// Loopback: `localhost`, 127.0.0.0/8, `::1`, a Unix socket path (starts with `/`), or no host
/// at all (the client's default socket).
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim();
    if host.is_empty() || host.starts_with('/') || host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// PostgreSQL `sslmode`, as the worker and the `sql` connector implement it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
}

impl SslMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
        }
    }
}

/// The `sslmode` a `postgres://` URL asks for, if it names one; an unsupported value is an error
/// whose text can name the key.
pub fn explicit_ssl_mode(url: &str) -> Result<Option<SslMode>, String> {
    let Ok(parsed) = url::Url::parse(url) else { return Ok(None) };
    let Some(mode) = parsed.query_pairs().find(|(k, _)| k == "sslmode").map(|(_, v)| v.into_owned()) else {
        return Ok(None);
    };
    match mode.as_str() {
        "disable" => Ok(Some(SslMode::Disable)),
        "prefer" => Ok(Some(SslMode::Prefer)),
        "require" => Ok(Some(SslMode::Require)),
        other => Err(format!(
            "sslmode `{other}` is not supported: use disable, prefer or require \
             (with TLS, the certificate and the host name are always verified)"
        )),
    }
}

/// Whether every host a `postgres://` URL connects to is loopback (the URL's host and its
/// `host` / `hostaddr` parameters). A URL that cannot be read counts as not loopback.
pub fn postgres_url_is_loopback(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else { return false };
    let mut hosts: Vec<String> = Vec::new();
    if let Some(host) = parsed.host_str() {
        hosts.extend(host.split(',').map(percent_decode));
    }
    for (key, value) in parsed.query_pairs() {
        if key == "host" || key == "hostaddr" {
            hosts.extend(value.split(',').map(str::to_string));
        }
    }
    hosts
        .iter()
        .all(|h| is_loopback_host(h.rsplit_once(':').filter(|(_, p)| p.parse::<u16>().is_ok()).map_or(h, |(h, _)| h)))
}

/// The mode a URL resolves to: its own `sslmode`, else `require` unless every host is loopback
/// (then `prefer`).
pub fn resolved_ssl_mode(url: &str) -> Result<SslMode, String> {
    Ok(explicit_ssl_mode(url)?.unwrap_or(if postgres_url_is_loopback(url) {
        SslMode::Prefer
    } else {
        SslMode::Require
    }))
}

fn percent_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("h={text}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for host in ["localhost", "LOCALHOST", "127.0.0.1", "127.8.9.10", "::1", "[::1]", "/var/run/postgresql", ""] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in ["db.internal", "10.0.0.5", "192.0.2.2", "::2", "localhost.evil.example", "128.0.0.1"] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn sslmode_defaults_to_require_beyond_loopback_and_an_explicit_one_wins() {
        let mode = |url: &str| resolved_ssl_mode(url).unwrap();
        assert_eq!(mode("postgres://u@db.internal:5432/x"), SslMode::Require);
        assert_eq!(mode("postgres://u@10.1.2.3/x"), SslMode::Require);
        assert_eq!(mode("postgres://u@127.0.0.1:5432/x"), SslMode::Prefer);
        assert_eq!(mode("postgres://u@localhost/x"), SslMode::Prefer);
        assert_eq!(mode("postgres://u@[::1]:5432/x"), SslMode::Prefer);
        assert_eq!(mode("postgres://u@%2Fvar%2Frun%2Fpostgresql/x"), SslMode::Prefer);
        assert_eq!(mode("postgres://u@localhost/x?hostaddr=10.0.0.5"), SslMode::Require);
        assert_eq!(mode("postgres://u@db.internal/x?sslmode=disable"), SslMode::Disable);
        assert_eq!(mode("postgres://u@db.internal/x?sslmode=prefer"), SslMode::Prefer);
        assert_eq!(mode("postgres://u@127.0.0.1/x?sslmode=require"), SslMode::Require);
        assert!(resolved_ssl_mode("postgres://u@db/x?sslmode=verify-full").unwrap_err().contains("verify-full"));
        assert_eq!(mode("not a url"), SslMode::Require);
    }
}
