//! TLS to PostgreSQL: the one rustls connector that the worker's own connections (pool and
//! LISTEN) and the `sql` connector use, and the checks of a CA bundle file.
//!
//! - `ca_file`, when set, *replaces* the system roots (a private CA alone vouches for the
//!   database, like libpq's `sslrootcert`); unset, the operating system's store
//!   (rustls-native-certs) is used. Certificate and host name are always verified.
//! - Which connections use it is the URL's `sslmode` ([`crate::transport::resolved_ssl_mode`]):
//!   `disable` skips it; `prefer` and `require` use it.
//!
//! The crypto provider is aws-lc-rs, the one reqwest and lapin already use. Nothing here reads
//! or prints a secret; certificate files are public data, but their contents are never logged.

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

/// The TLS connector for PostgreSQL. `sslmode=disable` skips it; `prefer` and `require` use
/// it, and then the server's certificate must chain to the roots and name the host connected to.
#[derive(Clone)]
pub struct PostgresTls {
    connector: tokio_postgres_rustls::MakeRustlsConnect,
    /// How many roots it trusts (0 means every TLS handshake will fail).
    roots: usize,
}

impl PostgresTls {
    /// Trust `ca_file` alone if given, else the system store.
    pub fn new(ca_file: Option<&Path>) -> Result<PostgresTls, TlsError> {
        let roots = match ca_file {
            Some(path) => {
                let bytes =
                    std::fs::read(path).map_err(|source| TlsError::Read { path: path.to_path_buf(), source })?;
                ca_roots(path, &bytes)?
            }
            None => system_roots(),
        };
        let count = roots.len();
        let config = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
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

/// The trust anchors of a PEM bundle (`path` only names it in errors): every block must be a
/// usable CA certificate, and there must be at least one.
pub fn ca_roots(path: &Path, bytes: &[u8]) -> Result<RootCertStore, TlsError> {
    let certs = CertificateDer::pem_slice_iter(bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem { path: path.to_path_buf(), message: e.to_string() })?;
    if certs.is_empty() {
        return Err(TlsError::Empty { path: path.to_path_buf() });
    }
    let mut roots = RootCertStore::empty();
    for (index, cert) in certs.into_iter().enumerate() {
        roots.add(cert).map_err(|e| TlsError::Certificate {
            path: path.to_path_buf(),
            index: index + 1,
            message: e.to_string(),
        })?;
    }
    Ok(roots)
}

/// Why a TLS handshake failed, as a fixed sentence, when `error` (or an error it wraps) is a
/// certificate that did not verify; `None` for every other error. The sentence says what to
/// check and quotes nothing the server sent (no names, no certificate fields).
pub fn certificate_refused(error: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    use rustls::CertificateError as E;
    let mut next = Some(error);
    while let Some(error) = next {
        // An `io::Error` hides the error it wraps from `source()`: look inside it too.
        let inner =
            error.downcast_ref::<std::io::Error>().and_then(|e| e.get_ref()).map(|e| e as &dyn std::error::Error);
        for candidate in [Some(error), inner].into_iter().flatten() {
            if let Some(rustls::Error::InvalidCertificate(reason)) = candidate.downcast_ref::<rustls::Error>() {
                return Some(match reason {
                    E::UnknownIssuer | E::BadSignature => {
                        "the server's TLS certificate is not signed by a trusted CA (check ca_file)"
                    }
                    E::NotValidForName | E::NotValidForNameContext { .. } => {
                        "the server's TLS certificate does not name the host connected to (check the URL's host)"
                    }
                    E::Expired | E::ExpiredContext { .. } | E::NotValidYet | E::NotValidYetContext { .. } => {
                        "the server's TLS certificate is expired or not yet valid"
                    }
                    _ => "the server's TLS certificate was refused",
                });
            }
        }
        next = error.source();
    }
    None
}

fn system_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    let (_, ignored) = roots.add_parsable_certificates(native.certs);
    if roots.is_empty() {
        tracing::warn!(
            errors = native.errors.len(),
            "No system CA certificate found: TLS connections to PostgreSQL will fail unless a ca_file is set."
        );
    } else if ignored > 0 {
        tracing::debug!(ignored, "Some system CA certificates could not be parsed and were skipped.");
    }
    roots
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }

    #[test]
    fn a_file_without_certificates_is_refused() {
        let path = file("empty.pem", b"not a certificate\n");
        let m = PostgresTls::new(Some(&path)).err().unwrap().to_string();
        assert!(m.contains("empty.pem") && m.contains("holds no certificate"), "{m}");
    }

    #[test]
    fn a_block_that_is_not_a_certificate_is_refused_without_quoting_it() {
        let path =
            file("garbage.pem", b"-----BEGIN CERTIFICATE-----\nc2VjcmV0LWdhcmJhZ2U=\n-----END CERTIFICATE-----\n");
        let m = PostgresTls::new(Some(&path)).err().unwrap().to_string();
        assert!(m.contains("certificate 1 in") && m.contains("garbage.pem"), "{m}");
        assert!(!m.contains("c2VjcmV0"), "{m}");
    }

    #[test]
    fn a_refused_certificate_is_found_inside_the_errors_that_wrap_it() {
        let refused = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let wrapped = std::io::Error::new(std::io::ErrorKind::InvalidData, refused);
        assert!(certificate_refused(&wrapped).unwrap().contains("not signed by a trusted CA"));
        let other = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert_eq!(certificate_refused(&other), None);
    }

    #[test]
    fn without_a_ca_file_the_system_store_is_used() {
        let tls = PostgresTls::new(None).unwrap();
        // An empty store only warns; where Debian's bundle is installed, it is what we trust.
        if Path::new("/etc/ssl/certs/ca-certificates.crt").exists() {
            assert!(tls.roots() > 10, "{} roots", tls.roots());
        }
    }
}
