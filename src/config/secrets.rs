//! Secrets are never in the files: a `*_env` key names the environment variable that holds one.
//! They are read here, at start-up, and never printed.

use super::{ConfigError, Settings};
use secrecy::SecretString;

impl Settings {
    /// The password-bearing database URL, with `sslmode=require` added when the URL names no
    /// `sslmode` and a host is not loopback (secure by default; an explicit `sslmode` wins).
    pub fn database_url(&self) -> Result<SecretString, ConfigError> {
        with_password(&with_default_sslmode(&self.database.url), self.database.password_env.as_deref(), "database")
    }

    /// The password-bearing URL of the database itself, bypassing a pooler: `direct_url`, else
    /// `url`. LISTEN and the migrations' advisory lock use it.
    pub fn database_direct_url(&self) -> Result<SecretString, ConfigError> {
        match self.database.direct_url.as_deref().filter(|u| !u.is_empty()) {
            Some(direct) => {
                with_password(&with_default_sslmode(direct), self.database.password_env.as_deref(), "database")
            }
            None => self.database_url(),
        }
    }

    /// The password-bearing broker URLs.
    pub fn amqp_urls(&self) -> Result<Vec<SecretString>, ConfigError> {
        self.amqp.urls.iter().map(|u| with_password(u, self.amqp.password_env.as_deref(), "amqp")).collect()
    }

    /// The key for the keyed hashes of identifiers, read from the environment.
    pub fn hash_key(&self) -> Result<SecretString, ConfigError> {
        let key = secret_from_env("security.hash_key_env", &self.security.hash_key_env)?;
        if secrecy::ExposeSecret::expose_secret(&key).len() < 16 {
            return Err(ConfigError::Key {
                key: "security.hash_key_env".into(),
                origin: format!("environment variable {}", self.security.hash_key_env),
                message: "the hash key must be at least 16 bytes".into(),
            });
        }
        Ok(key)
    }

    /// The retired hash keys, when `[security] retired_hash_keys_env` names a variable.
    pub fn retired_hash_keys(&self) -> Result<Vec<SecretString>, ConfigError> {
        let Some(var) = &self.security.retired_hash_keys_env else { return Ok(Vec::new()) };
        let keys = secret_from_env("security.retired_hash_keys_env", var)?;
        let keys: Vec<SecretString> = secrecy::ExposeSecret::expose_secret(&keys)
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(|k| SecretString::from(k.to_string()))
            .collect();
        if keys.iter().any(|k| secrecy::ExposeSecret::expose_secret(k).len() < 16) {
            return Err(ConfigError::Key {
                key: "security.retired_hash_keys_env".into(),
                origin: format!("environment variable {var}"),
                message: "each retired hash key must be at least 16 bytes (comma-separated)".into(),
            });
        }
        Ok(keys)
    }
}

impl Settings {
    /// The data keys that encrypt identifiers at rest, read from the environment.
    pub fn data_keys(&self) -> Result<crate::vault::Vault, ConfigError> {
        let keys = secret_from_env("encryption.keys_env", &self.encryption.keys_env)?;
        crate::vault::Vault::parse(secrecy::ExposeSecret::expose_secret(&keys)).map_err(|message| ConfigError::Key {
            key: "encryption.keys_env".into(),
            origin: format!("environment variable {}", self.encryption.keys_env),
            message,
        })
    }
}

/// Read a secret from the environment variable a config key names.
pub fn secret_from_env(key: &str, var: &str) -> Result<SecretString, ConfigError> {
    match std::env::var(var) {
        Ok(value) if !value.is_empty() => Ok(SecretString::from(value)),
        _ => Err(ConfigError::Key {
            key: key.into(),
            origin: format!("environment variable {var}"),
            message: format!("the environment variable {var} is not set"),
        }),
    }
}

/// `url` with `sslmode=require` appended when it names none and a host is not loopback.
fn with_default_sslmode(url: &str) -> String {
    use erasure_connector::transport::{explicit_ssl_mode, resolved_ssl_mode, SslMode};
    match (explicit_ssl_mode(url), resolved_ssl_mode(url)) {
        (Ok(None), Ok(SslMode::Require)) => {
            format!("{url}{}sslmode=require", if url.contains('?') { '&' } else { '?' })
        }
        _ => url.to_string(),
    }
}

fn with_password(url: &str, password_env: Option<&str>, section: &str) -> Result<SecretString, ConfigError> {
    let Some(var) = password_env.filter(|v| !v.is_empty()) else {
        return Ok(SecretString::from(url.to_string()));
    };
    let password = secret_from_env(&format!("{section}.password_env"), var)?;
    if section == "database" && url.contains("@/") {
        // No host before the path (a Unix socket named by `?host=`): the URL standard cannot
        // read it, but PostgreSQL's clients take the password as a query parameter too.
        let encoded: String = secrecy::ExposeSecret::expose_secret(&password)
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect();
        let joint = if url.contains('?') { '&' } else { '?' };
        return Ok(SecretString::from(format!("{url}{joint}password={encoded}")));
    }
    let mut parsed = url::Url::parse(url).map_err(|e| ConfigError::Key {
        key: format!("{section}.url"),
        origin: "settings".into(),
        message: format!("not a URL: {e}"),
    })?;
    parsed.set_password(Some(secrecy::ExposeSecret::expose_secret(&password))).map_err(|_| ConfigError::Key {
        key: format!("{section}.url"),
        origin: "settings".into(),
        message: "this URL cannot hold a password".into(),
    })?;
    Ok(SecretString::from(parsed.to_string()))
}

#[cfg(test)]
mod tests {
    use super::super::load::testing::load;
    use super::*;

    #[test]
    fn the_database_url_requires_tls_beyond_loopback_unless_it_says_otherwise() {
        let url = |u: &str| {
            let s = load(&format!("[database]\nurl = \"{u}\"\n"), &[]).unwrap();
            secrecy::ExposeSecret::expose_secret(&s.database_url().unwrap()).to_string()
        };
        assert_eq!(
            url("postgres://erasure@db.internal:5432/erasure"),
            "postgres://erasure@db.internal:5432/erasure?sslmode=require"
        );
        assert_eq!(url("postgres://erasure@127.0.0.1:5432/erasure"), "postgres://erasure@127.0.0.1:5432/erasure");
        assert_eq!(url("postgres://erasure@localhost/erasure"), "postgres://erasure@localhost/erasure");
        assert_eq!(
            url("postgres://erasure@db.internal/erasure?sslmode=disable"),
            "postgres://erasure@db.internal/erasure?sslmode=disable"
        );
        // A Unix socket is local: no TLS asked for; another host in the parameter is not.
        assert_eq!(
            url("postgres://erasure@/erasure?host=/var/run/postgresql"),
            "postgres://erasure@/erasure?host=/var/run/postgresql"
        );
        assert_eq!(
            url("postgres://erasure@/erasure?host=db.internal"),
            "postgres://erasure@/erasure?host=db.internal&sslmode=require"
        );
    }

    #[test]
    fn the_direct_database_url_defaults_to_the_url_and_takes_the_same_password_and_tls_rules() {
        // SAFETY: a variable only this test reads, set before anything reads it.
        unsafe { std::env::set_var("ERASURE_TEST_DIRECT_DB_PASSWORD", "pw") };
        let direct = |toml: &str| {
            let s = load(toml, &[]).unwrap();
            secrecy::ExposeSecret::expose_secret(&s.database_direct_url().unwrap()).to_string()
        };
        let pooled = "[database]\nurl = \"postgres://erasure@pgbouncer.internal:6432/erasure\"\n\
                      password_env = \"ERASURE_TEST_DIRECT_DB_PASSWORD\"\n";
        assert_eq!(direct(pooled), "postgres://erasure:pw@pgbouncer.internal:6432/erasure?sslmode=require");
        let with_direct = format!("{pooled}direct_url = \"postgres://erasure@db.internal:5432/erasure\"\n");
        assert_eq!(direct(&with_direct), "postgres://erasure:pw@db.internal:5432/erasure?sslmode=require");
        let s = load(&with_direct, &[]).unwrap();
        let pool = secrecy::ExposeSecret::expose_secret(&s.database_url().unwrap()).to_string();
        assert_eq!(
            pool, "postgres://erasure:pw@pgbouncer.internal:6432/erasure?sslmode=require",
            "the pool keeps `url`"
        );
    }

    /// A Unix socket URL (`postgres://user@/db?host=/dir`) has no host the URL standard can read;
    /// with `password_env` it was refused as "not a URL".
    #[test]
    fn a_unix_socket_database_url_takes_its_password_as_a_parameter() {
        // SAFETY: a variable only this test reads, set before anything reads it.
        unsafe { std::env::set_var("ERASURE_TEST_SOCKET_DB_PASSWORD", "p&ss w=rd") };
        let toml = "[database]\nurl = \"postgres://erasure@/erasure?host=/var/run/postgresql\"\n\
                    password_env = \"ERASURE_TEST_SOCKET_DB_PASSWORD\"\n";
        let s = load(toml, &[]).unwrap();
        let url = secrecy::ExposeSecret::expose_secret(&s.database_url().unwrap()).to_string();
        assert_eq!(url, "postgres://erasure@/erasure?host=/var/run/postgresql&password=p%26ss%20w%3Drd");
        let config: tokio_postgres::Config = url.parse().expect("tokio-postgres reads it");
        assert_eq!(config.get_password(), Some("p&ss w=rd".as_bytes()));
    }

    #[test]
    fn bad_data_keys_are_refused_naming_the_key_and_the_variable_never_the_value() {
        let s = load("[encryption]\nkeys_env = \"ERASURE_TEST_UNSET_DATA_KEYS_4242\"\n", &[]).unwrap();
        let m = s.data_keys().unwrap_err().to_string();
        assert!(m.contains("encryption.keys_env") && m.contains("ERASURE_TEST_UNSET_DATA_KEYS_4242"), "{m}");
        // SAFETY: a variable only this test reads, set before anything reads it.
        unsafe { std::env::set_var("ERASURE_TEST_SHORT_DATA_KEYS", "k1:c2hvcnQtc2VjcmV0LWtleQ==") };
        let s = load("[encryption]\nkeys_env = \"ERASURE_TEST_SHORT_DATA_KEYS\"\n", &[]).unwrap();
        let m = s.data_keys().unwrap_err().to_string();
        assert!(m.contains("encryption.keys_env") && m.contains("32 bytes"), "{m}");
        assert!(!m.contains("c2hvcnQtc2VjcmV0LWtleQ"), "{m}");
    }

    #[test]
    fn a_missing_secret_names_its_key_and_variable_but_a_present_one_never_prints() {
        let s = load("[security]\nhash_key_env = \"ERASURE_TEST_UNSET_VARIABLE_4242\"\n", &[]).unwrap();
        let m = s.hash_key().unwrap_err().to_string();
        assert!(m.contains("security.hash_key_env") && m.contains("ERASURE_TEST_UNSET_VARIABLE_4242"), "{m}");
        let secret = SecretString::from("hunter2-hunter2-hunter2".to_string());
        assert!(!format!("{secret:?}").contains("hunter2"));
    }
}
