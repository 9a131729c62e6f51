//! TLS for the worker's own connections: the one rustls connector every PostgreSQL connection
//! uses (pool and LISTEN), and the trust roots handed to lapin for `amqps://` URLs.
//!
//! - PostgreSQL: `database.ca_file`, when set, *replaces* the system roots (a private CA alone
//!   vouches for the database, like libpq's `sslrootcert`); unset, the operating system's store
//!   (rustls-native-certs) is used. Certificate and host name are always verified.
//! - RabbitMQ: lapin verifies with the platform verifier (the system store); `amqp.ca_file` is
//!   *added* to it, because lapin 4 takes extra roots, not a replacement store.
//!
//! The crypto provider is aws-lc-rs, the one reqwest and lapin already use. Nothing here reads
//! or prints a secret; certificate files are public data, but their contents are never logged.

use crate::config::{ConfigError, Settings};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why a CA bundle cannot be used. The text names the file, never its contents.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {}: {source}", .path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{} is not a PEM certificate bundle: {message}", .path.display())]
    Pem { path: PathBuf, message: String },
    #[error("{} holds no certificate (expected one or more `BEGIN CERTIFICATE` blocks)", .path.display())]
    Empty { path: PathBuf },
    #[error("certificate {index} in {} is not a usable CA certificate: {message}", .path.display())]
    Certificate { path: PathBuf, index: usize, message: String },
    #[error("cannot set up TLS: {0}")]
    Setup(String),
}

/// The TLS connector for PostgreSQL. `sslmode=disable` in the URL skips it; `prefer` and
/// `require` use it, and then the server's certificate must chain to the roots and name the
/// host of the URL.
#[derive(Clone)]
pub struct PostgresTls {
    connector: tokio_postgres_rustls::MakeRustlsConnect,
    /// How many roots it trusts (0 means every TLS handshake will fail).
    roots: usize,
}

impl PostgresTls {
    /// Trust `ca_file` alone if given, else the system store.
    pub fn new(ca_file: Option<&Path>) -> Result<PostgresTls, TlsError> {
        let mut roots = RootCertStore::empty();
        match ca_file {
            Some(path) => {
                for (index, cert) in read_bundle(path)?.into_iter().enumerate() {
                    roots.add(cert).map_err(|e| TlsError::Certificate {
                        path: path.to_path_buf(),
                        index: index + 1,
                        message: e.to_string(),
                    })?;
                }
            }
            None => {
                let native = rustls_native_certs::load_native_certs();
                let (_, ignored) = roots.add_parsable_certificates(native.certs);
                if roots.is_empty() {
                    tracing::warn!(
                        errors = native.errors.len(),
                        "No system CA certificate found: TLS connections to PostgreSQL will fail unless database.ca_file is set."
                    );
                } else if ignored > 0 {
                    tracing::debug!(ignored, "Some system CA certificates could not be parsed and were skipped.");
                }
            }
        }
        let count = roots.len();
        let config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Setup(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(PostgresTls { connector: tokio_postgres_rustls::MakeRustlsConnect::new(config), roots: count })
    }

    /// The connector to hand to tokio-postgres or deadpool (cheap: the config is shared).
    pub fn connector(&self) -> tokio_postgres_rustls::MakeRustlsConnect {
        self.connector.clone()
    }

    pub fn roots(&self) -> usize {
        self.roots
    }
}

/// lapin's TLS settings: `ca_file` (checked here, so a bad file stops start-up) added to the
/// platform verifier's roots. Used only for `amqps://` URLs.
pub fn amqp_tls(ca_file: Option<&Path>) -> Result<lapin::tcp::OwnedTLSConfig, TlsError> {
    let cert_chain = match ca_file {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|source| TlsError::Read { path: path.to_path_buf(), source })?;
            // The same checks as for PostgreSQL: every block must be a usable trust anchor
            // (lapin's verifier would refuse the whole set at connection time otherwise).
            let mut roots = RootCertStore::empty();
            for (index, cert) in parse_bundle(path, text.as_bytes())?.into_iter().enumerate() {
                roots.add(cert).map_err(|e| TlsError::Certificate {
                    path: path.to_path_buf(),
                    index: index + 1,
                    message: e.to_string(),
                })?;
            }
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

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn read_bundle(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = std::fs::read(path).map_err(|source| TlsError::Read { path: path.to_path_buf(), source })?;
    parse_bundle(path, &bytes)
}

fn parse_bundle(path: &Path, bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem { path: path.to_path_buf(), message: e.to_string() })?;
    if certs.is_empty() {
        return Err(TlsError::Empty { path: path.to_path_buf() });
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_for_tests as load;

    fn file(name: &str, contents: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("erasure-tls-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[test]
    fn a_missing_file_is_named() {
        let path = std::env::temp_dir().join("erasure-no-such-ca-4242.pem");
        let m = PostgresTls::new(Some(&path)).err().unwrap().to_string();
        assert!(m.contains("erasure-no-such-ca-4242.pem") && m.contains("cannot read"), "{m}");
        let m = amqp_tls(Some(&path)).unwrap_err().to_string();
        assert!(m.contains("erasure-no-such-ca-4242.pem"), "{m}");
    }

    #[test]
    fn a_file_without_certificates_is_refused() {
        let path = file("empty.pem", b"not a certificate\n");
        let m = PostgresTls::new(Some(&path)).err().unwrap().to_string();
        assert!(m.contains("empty.pem") && m.contains("holds no certificate"), "{m}");
        assert!(amqp_tls(Some(&path)).is_err());
    }

    #[test]
    fn a_block_that_is_not_a_certificate_is_refused_without_quoting_it() {
        let path =
            file("garbage.pem", b"-----BEGIN CERTIFICATE-----\nc2VjcmV0LWdhcmJhZ2U=\n-----END CERTIFICATE-----\n");
        let m = PostgresTls::new(Some(&path)).err().unwrap().to_string();
        assert!(m.contains("certificate 1 in") && m.contains("garbage.pem"), "{m}");
        assert!(!m.contains("c2VjcmV0"), "{m}");
        let m = amqp_tls(Some(&path)).unwrap_err().to_string();
        assert!(m.contains("certificate 1 in"), "{m}");
    }

    #[test]
    fn without_a_ca_file_the_system_store_is_used() {
        let tls = PostgresTls::new(None).unwrap();
        // An empty store only warns; where Debian's bundle is installed, it is what we trust.
        if Path::new("/etc/ssl/certs/ca-certificates.crt").exists() {
            assert!(tls.roots() > 10, "{} roots", tls.roots());
        }
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
