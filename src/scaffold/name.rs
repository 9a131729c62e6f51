//! The names a new connector kind goes by, from the one the author gives; and which are refused.

/// Every spelling of one kind's name, from `acme_crm`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// The kind in config, the folder and the simulator module: `acme_crm`.
    pub kind: String,
    /// The connector's type: `AcmeCrm`.
    pub type_name: String,
    /// The Cargo package: `erasure-connector-acme-crm`.
    pub package: String,
    /// The package's Rust name: `erasure_connector_acme_crm`.
    pub crate_name: String,
    /// The prefix of its environment variables: `ACME_CRM`.
    pub env_prefix: String,
}

/// Longer names would make generated lines too long for rustfmt's width (`MAX_LEN` keeps the
/// generated code formatted as rustfmt would).
pub const MAX_LEN: usize = 24;

/// Folder names under `connectors/` that are not connector kinds, and modules of the simulator.
const RESERVED: &[&str] = &[
    "sdk",
    "template",
    "definitions",
    "harness",
    "state",
    "control",
    "fault",
    "text",
    "otlp",
    "webhook",
    "main",
    "lib",
];

/// Rust keywords (strict and reserved): a kind is a module name in the simulator.
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false", "fn",
    "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self", "static",
    "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while", "abstract", "become", "box", "do",
    "final", "gen", "macro", "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
];

/// `name` if it can be a new kind: lower-case ASCII words of letters and digits joined by single
/// underscores, starting with a letter, at most 24 characters, no keyword, no kind `known` already.
pub fn check(name: &str, known: &[&str]) -> Result<Names, String> {
    let words: Vec<&str> = name.split('_').collect();
    let well_formed = !name.is_empty()
        && name.len() <= MAX_LEN
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && words.iter().all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    if !well_formed {
        return Err(format!(
            "`{name}` is not a kind name: lower-case letters and digits, words joined by single underscores, \
             starting with a letter, at most 24 characters (e.g. `acme` or `acme_crm`)"
        ));
    }
    if known.contains(&name) {
        return Err(format!("`{name}` is already a connector kind of this build"));
    }
    if RESERVED.contains(&name) || KEYWORDS.contains(&name) {
        return Err(format!("`{name}` is reserved (a folder of connectors/, a simulator module or a Rust keyword)"));
    }
    let type_name = words.iter().map(|w| w[..1].to_ascii_uppercase() + &w[1..]).collect();
    Ok(Names {
        kind: name.to_string(),
        type_name,
        package: format!("erasure-connector-{}", name.replace('_', "-")),
        crate_name: format!("erasure_connector_{name}"),
        env_prefix: name.to_ascii_uppercase(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kind_gets_every_spelling() {
        let names = check("acme_crm2", &[]).unwrap();
        assert_eq!(
            names,
            Names {
                kind: "acme_crm2".into(),
                type_name: "AcmeCrm2".into(),
                package: "erasure-connector-acme-crm2".into(),
                crate_name: "erasure_connector_acme_crm2".into(),
                env_prefix: "ACME_CRM2".into(),
            }
        );
    }

    #[test]
    fn malformed_known_and_reserved_names_are_refused() {
        let too_long = "a".repeat(MAX_LEN + 1);
        for bad in ["", "Acme", "acme-crm", "2acme", "_acme", "acme_", "acme__crm", "acmé", "a b", &too_long] {
            assert!(check(bad, &[]).unwrap_err().contains("is not a kind name"), "{bad:?}");
        }
        assert!(check("zendesk", &["webhook", "zendesk"]).unwrap_err().contains("already a connector kind"));
        for reserved in ["sdk", "template", "definitions", "harness", "type", "mod"] {
            assert!(check(reserved, &[]).unwrap_err().contains("reserved"), "{reserved}");
        }
    }
}
