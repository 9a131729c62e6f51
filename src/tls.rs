//! TLS for the worker's own connections: the trust roots handed to lapin for `amqps://` URLs,
//! and the start-up loading of both CA files. The PostgreSQL connector itself lives in the
//! connector SDK (`erasure_connector::tls`), shared with the `sql` connector.
//!
//! - PostgreSQL: `database.ca_file`, when set, *replaces* the system roots; see the SDK.
//! - RabbitMQ: lapin verifies with the platform verifier (the system store); `amqp.ca_file` is
//!   *added* to it, because lapin 4 takes extra roots, not a replacement store.
//!
//! Nothing here reads or prints a secret; certificate files are public data, but their contents
//! are never logged.

use crate::config::{ConfigError, Settings};
use erasure_connector::tls::{PostgresTls, TlsError};
use std::path::Path;

/// lapin's TLS settings: `ca_file` (checked here, so a bad file stops start-up) added to the
/// platform verifier's roots. Used only for `amqps://` URLs.
pub fn amqp_tls(ca_file: Option<&Path>) -> Result<lapin::tcp::OwnedTLSConfig, TlsError> {
    let cert_chain = match ca_file {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|source| TlsError::Read { path: path.to_path_buf(), source })?;
            // The same checks as for PostgreSQL: every block must be a usable trust anchor
            // (lapin's verifier would refuse the whole set at connection time otherwise).
            erasure_connector::tls::ca_roots(path, text.as_bytes())?;
            Some(text)
        }
        None => None,
    };
    Ok(lapin::tcp::OwnedTLSConfig { identity: None, cert_chain })
}

/// TLS file loading at start-up; an error names the key and the file or variable that set it.
impl Settings {
    /// The TLS connector of every PostgreSQL connection, with `database.ca_file` read and checked.
    pub fn database_tls(&self) -> Result<PostgresTls, ConfigError> {
        PostgresTls::new(self.database.ca_file.as_deref())
            .map_err(|e| self.key_error("database.ca_file", e.to_string()))
    }

    /// lapin's TLS settings for `amqps://` URLs, with `amqp.ca_file` read and checked.
    pub fn amqp_tls(&self) -> Result<lapin::tcp::OwnedTLSConfig, ConfigError> {
        amqp_tls(self.amqp.ca_file.as_deref()).map_err(|e| self.key_error("amqp.ca_file", e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_for_tests as load;
    use std::path::PathBuf;

    fn file(name: &str, contents: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("erasure-tls-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[test]
    fn a_bad_amqp_ca_file_is_refused_naming_the_file_without_quoting_it() {
        let path = std::env::temp_dir().join("erasure-no-such-ca-4242.pem");
        let m = amqp_tls(Some(&path)).unwrap_err().to_string();
        assert!(m.contains("erasure-no-such-ca-4242.pem"), "{m}");
        assert!(amqp_tls(Some(&file("empty.pem", b"not a certificate\n"))).is_err());
        let path =
            file("garbage.pem", b"-----BEGIN CERTIFICATE-----\nc2VjcmV0LWdhcmJhZ2U=\n-----END CERTIFICATE-----\n");
        let m = amqp_tls(Some(&path)).unwrap_err().to_string();
        assert!(m.contains("certificate 1 in") && !m.contains("c2VjcmV0"), "{m}");
        assert!(amqp_tls(None).unwrap().cert_chain.is_none());
    }

    #[test]
    fn ca_files_are_read_at_start_up_and_a_bad_one_names_its_key_and_file() {
        let s = load("[database]\nca_file = \"/nonexistent/erasure-ca-4242.pem\"\n", &[]).unwrap();
        let m = s.database_tls().err().expect("refused").to_string();
        assert!(
            m.contains("`database.ca_file`")
                && m.contains("prod.toml")
                && m.contains("/nonexistent/erasure-ca-4242.pem"),
            "{m}"
        );
        let s = load("", &[("ERASURE__AMQP__CA_FILE", "/nonexistent/erasure-mq-ca.pem")]).unwrap();
        let m = s.amqp_tls().unwrap_err().to_string();
        assert!(
            m.contains("`amqp.ca_file`") && m.contains("ERASURE__AMQP__CA_FILE") && m.contains("erasure-mq-ca.pem"),
            "{m}"
        );
        // Unset: the system roots, nothing to read.
        assert!(load("", &[]).unwrap().amqp_tls().unwrap().cert_chain.is_none());
    }
}
