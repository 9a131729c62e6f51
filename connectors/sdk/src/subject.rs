//! The person to erase: identifiers validated and normalised once, at the edge.
//!
//! A `Subject` can only be built through [`Subject::new`], so a connector never sees a raw
//! identifier, and everything that hashes an identifier (intake, the legal hold list, the API's
//! and the dashboard's search, `erasure rehash`) builds a `Subject` first: one set of rules.
//!
//! **E-mail addresses** ([`normalise_email`]), in this order:
//! 1. Every format character (Unicode category Cf: zero-width space, joiners and marks
//!    U+200B..U+200F, word joiner and invisible operators U+2060..U+2064, the byte order mark
//!    U+FEFF, the soft hyphen U+00AD, the bidi embeddings, overrides and isolates U+202A..U+202E
//!    and U+2066..U+2069, the Arabic letter mark, tags...) and every variation selector
//!    (U+FE00..U+FE0F, U+E0100..U+E01EF) is removed: they are invisible, so two addresses that
//!    differ only by them look the same to the person and to an operator.
//! 2. Unicode NFKC: fullwidth letters, ligatures and other compatibility forms become their plain
//!    letters (`ＡＮＡ＠ｅｘａｍｐｌｅ．ｃｏｍ` is `ana@example.com`). Then the ends are trimmed.
//! 3. What is left must be one `@` between a non-empty local part and a domain, with no
//!    whitespace or control character.
//! 4. The local part is lower-cased (Unicode-aware: `ÉLODIE` is `élodie`). It keeps its Unicode.
//! 5. The domain goes through UTS 46 (`idna::domain_to_ascii_cow` with the URL standard's
//!    forbidden code points, such as `%`, `<`, `/` or `[`): lower-cased, mapped, and an
//!    internationalised name becomes its ASCII form (`bücher.example` is
//!    `xn--bcher-kva.example`). A domain UTS 46 refuses, one without a dot, or with an empty
//!    label (a trailing dot), makes the address invalid; so does an address literal
//!    (`a@[192.0.2.1]`).
//! 6. The result is at most 254 bytes.
//!
//! **Phone numbers** ([`normalise_phone`]): format characters and variation selectors removed,
//! NFKC (fullwidth digits and plus sign), trimmed; the number must start with `+` (there is no
//! default region: a national number is refused rather than guessed). It is then parsed with the
//! `phonenumber` crate (libphonenumber's rules and metadata), which drops spaces, dots, dashes and
//! brackets and the national trunk prefix (`+33 (0)6 12 34 56 78` is `+33612345678`); the number
//! must be valid for its country by that metadata and have no extension. The result is E.164.
//! A number from a range newer than the crate's metadata is refused: upgrade the crate.
//!
//! **`user_id` and `ids`** are opaque keys that connectors pass to their systems, so they are not
//! rewritten beyond trimming and NFC: one holding a control character, a format character or a
//! variation selector is refused instead.
//!
//! Errors name the field and its index, never the value.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

pub const MAX_EMAILS: usize = 32;
pub const MAX_PHONES: usize = 32;
pub const MAX_IDS: usize = 64;
pub const MAX_ID_LEN: usize = 256;
const MAX_EMAIL_LEN: usize = 254;
/// Longer input is refused before any work: invisible characters can pad a short identifier, not
/// make a kilobyte of one.
const MAX_INPUT_LEN: usize = 1024;

/// A validated data subject. Serialises to the same shape as the intake message's `subject`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawSubject", into = "RawSubject")]
pub struct Subject {
    user_id: Option<String>,
    emails: Vec<String>,
    phones: Vec<String>,
    ids: BTreeMap<String, String>,
}

/// The subject as it arrives, before validation.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSubject {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phones: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ids: BTreeMap<String, String>,
}

/// Why a subject was refused. The messages never repeat the identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubjectError {
    #[error("the subject has no identifier (user_id, emails, phones or ids)")]
    NoIdentifier,
    #[error("subject.emails[{0}] is not a valid e-mail address")]
    InvalidEmail(usize),
    #[error("subject.phones[{0}] is not a valid phone number in international form (+ and the country code)")]
    InvalidPhone(usize),
    #[error("subject.{0} is empty, too long or holds control or invisible characters")]
    InvalidId(String),
    #[error("subject.{field} has more than {max} entries")]
    TooMany { field: &'static str, max: usize },
}

impl Subject {
    pub fn new(raw: RawSubject) -> Result<Subject, SubjectError> {
        if raw.emails.len() > MAX_EMAILS {
            return Err(SubjectError::TooMany { field: "emails", max: MAX_EMAILS });
        }
        if raw.phones.len() > MAX_PHONES {
            return Err(SubjectError::TooMany { field: "phones", max: MAX_PHONES });
        }
        if raw.ids.len() > MAX_IDS {
            return Err(SubjectError::TooMany { field: "ids", max: MAX_IDS });
        }
        let user_id = match raw.user_id {
            Some(id) => Some(clean_id(&id).ok_or_else(|| SubjectError::InvalidId("user_id".into()))?),
            None => None,
        };
        let mut emails = Vec::with_capacity(raw.emails.len());
        for (i, email) in raw.emails.iter().enumerate() {
            let email = normalise_email(email).ok_or(SubjectError::InvalidEmail(i))?;
            if !emails.contains(&email) {
                emails.push(email);
            }
        }
        let mut phones = Vec::with_capacity(raw.phones.len());
        for (i, phone) in raw.phones.iter().enumerate() {
            let phone = normalise_phone(phone).ok_or(SubjectError::InvalidPhone(i))?;
            if !phones.contains(&phone) {
                phones.push(phone);
            }
        }
        let mut ids = BTreeMap::new();
        for (system, id) in raw.ids {
            let id = clean_id(&id).ok_or_else(|| SubjectError::InvalidId(format!("ids.{}", printable(&system))))?;
            ids.insert(system, id);
        }
        if user_id.is_none() && emails.is_empty() && phones.is_empty() && ids.is_empty() {
            return Err(SubjectError::NoIdentifier);
        }
        Ok(Subject { user_id, emails, phones, ids })
    }

    /// The product's own user id, if it gave one.
    pub fn user_id(&self) -> Option<&str> {
        self.user_id.as_deref()
    }

    /// Normalised e-mail addresses, without duplicates, in the order given.
    pub fn emails(&self) -> &[String] {
        &self.emails
    }

    /// E.164 phone numbers, without duplicates, in the order given.
    pub fn phones(&self) -> &[String] {
        &self.phones
    }

    /// Per-system ids, keyed by connector instance name.
    pub fn ids(&self) -> &BTreeMap<String, String> {
        &self.ids
    }

    /// The subject's id in one system (connector instance), if the product gave one.
    pub fn id_in(&self, instance: &str) -> Option<&str> {
        self.ids.get(instance).map(String::as_str)
    }

    /// Every identifier, each tagged with its kind, for hashing and matching.
    pub fn identifiers(&self) -> Vec<(&'static str, &str)> {
        let mut all = Vec::new();
        if let Some(id) = &self.user_id {
            all.push(("user_id", id.as_str()));
        }
        all.extend(self.emails.iter().map(|e| ("email", e.as_str())));
        all.extend(self.phones.iter().map(|p| ("phone", p.as_str())));
        all.extend(self.ids.values().map(|id| ("id", id.as_str())));
        all
    }
}

impl TryFrom<RawSubject> for Subject {
    type Error = SubjectError;
    fn try_from(raw: RawSubject) -> Result<Self, Self::Error> {
        Subject::new(raw)
    }
}

impl From<Subject> for RawSubject {
    fn from(s: Subject) -> Self {
        RawSubject { user_id: s.user_id, emails: s.emails, phones: s.phones, ids: s.ids }
    }
}

/// The normalised address (see the module documentation); `None` if it is not an address.
pub fn normalise_email(input: &str) -> Option<String> {
    if input.len() > MAX_INPUT_LEN {
        return None;
    }
    let email = visible_nfkc(input);
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let (local, domain) = email.rsplit_once('@')?;
    if local.is_empty() || local.contains('@') {
        return None;
    }
    // UTS 46 as the URL standard applies it (with its forbidden domain code points such as `%`,
    // `<` or `/`); `Err` for a domain it refuses.
    let domain = idna::domain_to_ascii_cow(domain.as_bytes(), idna::AsciiDenyList::URL).ok()?;
    if domain.is_empty() || !domain.contains('.') || domain.split('.').any(str::is_empty) {
        return None;
    }
    let email = format!("{}@{domain}", local.to_lowercase());
    (email.len() <= MAX_EMAIL_LEN).then_some(email)
}

/// E.164 (see the module documentation); `None` if it is not a valid international number.
pub fn normalise_phone(input: &str) -> Option<String> {
    if input.len() > MAX_INPUT_LEN {
        return None;
    }
    let phone = visible_nfkc(input);
    if !phone.starts_with('+') {
        return None;
    }
    let number = phonenumber::parse(None, &phone).ok()?;
    if number.extension().is_some() || !phonenumber::is_valid(&number) {
        return None;
    }
    Some(number.format().mode(phonenumber::Mode::E164).to_string())
}

fn clean_id(input: &str) -> Option<String> {
    let id = input.trim();
    let valid = !id.is_empty() && id.len() <= MAX_ID_LEN && !id.chars().any(|c| c.is_control() || is_invisible(c));
    valid.then(|| id.nfc().collect())
}

/// Without format characters and variation selectors, NFKC, trimmed.
fn visible_nfkc(input: &str) -> String {
    // Removed before NFKC: a joiner between a letter and its accent would prevent composition.
    let visible: String = input.chars().filter(|&c| !is_invisible(c)).collect();
    visible.nfkc().collect::<String>().trim().to_string()
}

/// Format characters (category Cf: zero-width, bidi controls, soft hyphen, BOM, tags...) and
/// variation selectors: invisible, they make two identifiers that look alike differ.
fn is_invisible(c: char) -> bool {
    c.general_category() == GeneralCategory::Format || matches!(c, '\u{fe00}'..='\u{fe0f}' | '\u{e0100}'..='\u{e01ef}')
}

fn printable(key: &str) -> String {
    key.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-')).take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(emails: &[&str], phones: &[&str]) -> RawSubject {
        RawSubject {
            emails: emails.iter().map(|s| s.to_string()).collect(),
            phones: phones.iter().map(|s| s.to_string()).collect(),
            ..RawSubject::default()
        }
    }

    #[test]
    fn emails_are_trimmed_lowercased_nfc_and_deduplicated() {
        let s = Subject::new(raw(&[" Ana@Example.COM ", "ana@example.com", "Jose\u{301}@x.io"], &[])).unwrap();
        assert_eq!(s.emails(), ["ana@example.com", "jos\u{e9}@x.io"]);
    }

    #[test]
    fn phones_become_e164() {
        let s = Subject::new(raw(&[], &["+33 6 12-34.56 78", "+1 (415) 555-0100"])).unwrap();
        assert_eq!(s.phones(), ["+33612345678", "+14155550100"]);
    }

    #[test]
    fn bad_identifiers_are_refused_without_echoing_them() {
        for bad in ["", "no-at-sign", "a@b", "two@@x.io", "sp ace@x.io", "a@.x.io", "\u{200b}@x.io"] {
            let err = Subject::new(raw(&[bad], &[])).unwrap_err();
            assert_eq!(err, SubjectError::InvalidEmail(0), "{bad:?}");
        }
        for bad in ["0612345678", "+0612345678", "+12", "+336123456789012345", "+33abc"] {
            assert_eq!(Subject::new(raw(&[], &[bad])).unwrap_err(), SubjectError::InvalidPhone(0), "{bad:?}");
        }
        assert_eq!(Subject::new(RawSubject::default()).unwrap_err(), SubjectError::NoIdentifier);
    }

    fn email(input: &str) -> Option<String> {
        normalise_email(input)
    }

    #[test]
    fn emails_lose_format_characters() {
        // Zero-width space, non-joiner, joiner, marks; word joiner and invisible operators; BOM;
        // soft hyphen; bidi embeddings, overrides and isolates: all category Cf.
        for c in
            ['\u{200b}', '\u{200c}', '\u{200d}', '\u{200e}', '\u{200f}', '\u{2060}', '\u{2064}', '\u{feff}', '\u{ad}']
        {
            assert_eq!(email(&format!("a{c}na@exa{c}mple.com")).as_deref(), Some("ana@example.com"), "{c:?}");
        }
        for c in ['\u{202a}', '\u{202e}', '\u{2066}', '\u{2069}', '\u{61c}', '\u{180e}', '\u{e0041}'] {
            assert_eq!(email(&format!("{c}ana@example.com{c}")).as_deref(), Some("ana@example.com"), "{c:?}");
        }
    }

    #[test]
    fn emails_lose_variation_selectors() {
        assert_eq!(email("ana\u{fe0f}@example.com").as_deref(), Some("ana@example.com"));
        assert_eq!(email("ana\u{fe00}@example.com").as_deref(), Some("ana@example.com"));
        assert_eq!(email("ana\u{e0100}@example.com\u{e01ef}").as_deref(), Some("ana@example.com"));
    }

    #[test]
    fn emails_are_nfkc_then_lowercased() {
        // Fullwidth letters, the fullwidth at sign and full stop.
        assert_eq!(email("\u{ff21}\u{ff4e}\u{ff41}\u{ff20}example\u{ff0e}com").as_deref(), Some("ana@example.com"));
        // The "fi" ligature, a circled digit, and a decomposed accent recomposed.
        assert_eq!(email("\u{fb01}n\u{2460}@x.io").as_deref(), Some("fin1@x.io"));
        assert_eq!(email("JOSE\u{301}@x.io").as_deref(), Some("jos\u{e9}@x.io"));
        // A joiner between a letter and its combining accent does not prevent composition.
        assert_eq!(email("jose\u{200d}\u{301}@x.io").as_deref(), Some("jos\u{e9}@x.io"));
        // Unicode-aware lower-casing of the local part.
        assert_eq!(email("\u{c9}LODIE@x.io").as_deref(), Some("\u{e9}lodie@x.io"));
    }

    #[test]
    fn idn_domains_become_ascii() {
        assert_eq!(email("ana@b\u{fc}cher.example").as_deref(), Some("ana@xn--bcher-kva.example"));
        assert_eq!(email("ana@B\u{dc}CHER.example").as_deref(), Some("ana@xn--bcher-kva.example"));
        assert_eq!(email("ana@xn--bcher-kva.example").as_deref(), Some("ana@xn--bcher-kva.example"));
        // The local part keeps its Unicode (only the domain has an ASCII form).
        assert_eq!(email("j\u{f6}rg@b\u{fc}cher.example").as_deref(), Some("j\u{f6}rg@xn--bcher-kva.example"));
    }

    #[test]
    fn invalid_domains_are_invalid_emails() {
        for bad in [
            "a@ex%ample.com",
            "a@exa<mple.com",
            "a@example.com.",
            "a@[192.0.2.1]",
            "a@xn--a.example",
            "a@a\u{2488}.example",
        ] {
            assert_eq!(Subject::new(raw(&[bad], &[])).unwrap_err(), SubjectError::InvalidEmail(0), "{bad:?}");
        }
        let err = Subject::new(raw(&["a@ex%ample.com"], &[])).unwrap_err().to_string();
        assert!(!err.contains("ample"), "{err}");
    }

    #[test]
    fn phones_are_parsed_to_e164() {
        let p = |s: &str| normalise_phone(s);
        assert_eq!(p("+33 (0)6 12 34 56 78").as_deref(), Some("+33612345678"));
        assert_eq!(p("+1 (415) 555-0100").as_deref(), Some("+14155550100"));
        assert_eq!(p("+44 20 7946 0958").as_deref(), Some("+442079460958"));
        // What the old rule stored for the first one reads back as the same number.
        assert_eq!(p("+330612345678").as_deref(), Some("+33612345678"));
        // Fullwidth digits and a zero-width space.
        assert_eq!(p("\u{ff0b}33\u{200b}6\u{ff11}2345678").as_deref(), Some("+33612345678"));
    }

    #[test]
    fn invalid_phones_are_refused() {
        // No country code (no default region), too short, too long, not a number, unknown
        // country code, impossible for its country, an extension.
        for bad in [
            "0612345678",
            "06 12 34 56 78",
            "+12",
            "+33 6 12",
            "+336123456789012345",
            "+33abc",
            "+0612345678",
            "+999 612345678",
            "+33 6 12 34 56 78 9",
            "+1 (415) 555-0100 ext. 12",
            "",
        ] {
            assert_eq!(normalise_phone(bad), None, "{bad:?}");
            assert_eq!(Subject::new(raw(&[], &[bad])).unwrap_err(), SubjectError::InvalidPhone(0), "{bad:?}");
        }
    }

    #[test]
    fn ids_with_format_characters_or_variation_selectors_are_refused() {
        for bad in ["u\u{200d}1", "u1\u{fe0f}", "u\u{61c}1", "u\u{e0100}1"] {
            let raw = RawSubject { user_id: Some(bad.into()), ..RawSubject::default() };
            assert_eq!(Subject::new(raw).unwrap_err(), SubjectError::InvalidId("user_id".into()), "{bad:?}");
        }
    }

    #[test]
    fn normalising_again_changes_nothing() {
        // `erasure rehash` and every task read back stored subjects through `Subject::new`.
        let emails = [
            "\u{ff21}na@b\u{fc}cher.example",
            "\u{1d2c}\u{130}@x.io",
            "\u{c9}lo\u{200d}die@EXAMPLE.com",
            "jose\u{301}\u{fe0f}@x.io",
        ];
        for input in emails {
            let once = normalise_email(input).unwrap();
            assert_eq!(normalise_email(&once).as_deref(), Some(once.as_str()), "{input:?}");
        }
        for input in ["+33 (0)6 12 34 56 78", "+1 (415) 555-0100", "+330612345678"] {
            let once = normalise_phone(input).unwrap();
            assert_eq!(normalise_phone(&once).as_deref(), Some(once.as_str()), "{input:?}");
        }
    }

    #[test]
    fn deserialising_validates() {
        let ok: Subject = serde_json::from_str(r#"{"emails":["A@X.IO"]}"#).unwrap();
        assert_eq!(ok.emails(), ["a@x.io"]);
        assert!(serde_json::from_str::<Subject>(r#"{"emails":["nope"]}"#).is_err());
        assert!(serde_json::from_str::<Subject>(r#"{"email":"a@x.io"}"#).is_err());
    }
}
