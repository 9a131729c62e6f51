//! The two languages the person is written in.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Fr,
    En,
}

impl Lang {
    /// French for `fr`, `fr-FR`, `fr_CA`…; English otherwise, and when there is no locale.
    pub fn from_locale(locale: Option<&str>) -> Lang {
        match locale.map(|l| l.trim().to_ascii_lowercase()) {
            Some(l) if l == "fr" || l.starts_with("fr-") || l.starts_with("fr_") => Lang::Fr,
            _ => Lang::En,
        }
    }
}
