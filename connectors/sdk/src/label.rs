//! [`KindLabel`]: what kind of system a connector instance is, in the words the person reads in
//! the e-mail that confirms their erasure ("CRM", "Gestion de la relation client"), never the
//! instance's name.

use serde::{Deserialize, Serialize};

/// The kind of system in English and French, as the person reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindLabel {
    pub en: String,
    pub fr: String,
}

/// The longest label, in characters: a few words in a list item.
pub const MAX_LABEL_CHARS: usize = 60;

impl KindLabel {
    /// A label with both languages written: some words, one line, at most [`MAX_LABEL_CHARS`].
    /// The refusal is `(language, message)`, for the caller to name its key.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        for (language, text) in [("en", &self.en), ("fr", &self.fr)] {
            if text.trim().is_empty() {
                return Err((language, "write the kind of system in words the person understands".into()));
            }
            if text.chars().any(char::is_control) {
                return Err((language, "one line of words, no control characters".into()));
            }
            if text.chars().count() > MAX_LABEL_CHARS {
                return Err((language, format!("at most {MAX_LABEL_CHARS} characters: a few words")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(en: &str, fr: &str) -> KindLabel {
        KindLabel { en: en.into(), fr: fr.into() }
    }

    #[test]
    fn a_label_is_a_few_words_in_each_language() {
        assert_eq!(label("CRM", "Gestion de la relation client").check(), Ok(()));
        assert_eq!(label(" ", "CRM").check().unwrap_err().0, "en");
        assert_eq!(label("CRM", "").check().unwrap_err().0, "fr");
        assert_eq!(label("CRM", "Gestion\nclient").check().unwrap_err().0, "fr");
        assert!(label(&"x".repeat(61), "CRM").check().unwrap_err().1.contains("60"));
    }
}
