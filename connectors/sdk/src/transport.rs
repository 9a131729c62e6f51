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
/// whose text can name the key. Only the query string is read, so any URL the client accepts
/// (an empty host, several hosts) is read too.
pub fn explicit_ssl_mode(url: &str) -> Result<Option<SslMode>, String> {
    let Some((_, query)) = url.split_once('?') else { return Ok(None) };
    let Some((_, mode)) = url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "sslmode") else {
        return Ok(None);
    };
    match mode.as_ref() {
        "disable" => Ok(Some(SslMode::Disable)),
        "prefer" => Ok(Some(SslMode::Prefer)),
        "require" => Ok(Some(SslMode::Require)),
        other => Err(format!(
            "sslmode `{other}` is not supported: use disable, prefer or require \
             (with TLS, the certificate and the host name are always verified)"
        )),
    }
}

/// Whether every host a `postgres://` URL connects to is loopback or a Unix socket: the hosts
/// and `hostaddr`s as the PostgreSQL client itself reads them (the URL's host list and its
/// `host` / `hostaddr` parameters; a `host` that is a path is a Unix socket directory). No host
/// at all means the client's default socket. A URL the client cannot read counts as not loopback.
pub fn postgres_url_is_loopback(url: &str) -> bool {
    let Ok(config) = url.parse::<tokio_postgres::Config>() else { return false };
    let hosts_are_local = config.get_hosts().iter().all(|host| match host {
        tokio_postgres::config::Host::Tcp(name) => is_loopback_host(name),
        #[cfg(unix)]
        tokio_postgres::config::Host::Unix(_) => true,
    });
    hosts_are_local && config.get_hostaddrs().iter().all(|ip| ip.is_loopback())
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

    /// A Unix socket given as the `host` parameter is local: no TLS is asked for (the bug was
    /// that a URL with an empty host could not be read, and counted as beyond loopback).
    #[test]
    fn a_unix_socket_in_the_host_parameter_is_local_and_every_host_counts() {
        let mode = |url: &str| resolved_ssl_mode(url).unwrap();
        assert_eq!(mode("postgres://u@/x?host=/var/run/postgresql"), SslMode::Prefer);
        assert_eq!(mode("postgres://u@/x?host=%2Fvar%2Frun%2Fpostgresql"), SslMode::Prefer);
        assert_eq!(mode("postgres:///x?host=/var/run/postgresql"), SslMode::Prefer);
        assert_eq!(mode("postgres://u@/x?host=/var/run/postgresql&sslmode=require"), SslMode::Require);
        assert_eq!(mode("postgres://u@/x?host=localhost"), SslMode::Prefer);
        assert_eq!(mode("postgres://u@/x?host=db.internal"), SslMode::Require);
        assert_eq!(mode("postgres://u@/x?host=db.internal&sslmode=disable"), SslMode::Disable);
        // Several hosts: local only if every one is. In a URL the client reads each `host`
        // parameter as one host (a comma in it is part of the name), so a list is repeated.
        assert_eq!(mode("postgres://u@/x?host=localhost&host=/var/run/postgresql"), SslMode::Prefer);
        assert_eq!(mode("postgres://u@/x?host=/var/run/postgresql&host=db.internal"), SslMode::Require);
        assert_eq!(mode("postgres://u@/x?host=localhost,/var/run/postgresql"), SslMode::Require);
        assert_eq!(mode("postgres://u@127.0.0.1:5432,localhost:5433/x"), SslMode::Prefer);
        assert_eq!(mode("postgres://u@127.0.0.1:5432,db.internal:5433/x"), SslMode::Require);
        assert_eq!(mode("postgres://u@localhost/x?host=db.internal"), SslMode::Require);
        assert_eq!(mode("postgres://u@/x?host=/var/run/postgresql&hostaddr=10.0.0.5"), SslMode::Require);
        assert_eq!(mode("postgres://u@/x?host=localhost&hostaddr=127.0.0.1"), SslMode::Prefer);
    }
}
