//! The HTML of comments: redaction markup checked and applied, plain text, escaping.

use super::REDACTED;

/// The html without the redaction markup the caller added: what the comment must have been.
pub(super) fn strip_redaction(html: &str) -> String {
    html.replace("<redact>", "").replace("</redact>", "").replace(" redact>", ">").replace(" redact/>", "/>")
}

/// Replace each `<redact>...</redact>` with as many `▇`; drop the `redact` attributes' tags.
pub(super) fn apply_redaction(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(start) = rest.find("<redact>") {
        out.push_str(&rest[..start]);
        let inner = &rest[start + "<redact>".len()..];
        let end = inner.find("</redact>").unwrap_or(inner.len());
        out.extend(std::iter::repeat_n(REDACTED, plain_text(&inner[..end]).chars().count()));
        rest = inner.get(end + "</redact>".len()..).unwrap_or("");
    }
    out.push_str(rest);
    let mut cleaned = String::new();
    for piece in out.split_inclusive('>') {
        match piece.rfind('<') {
            Some(open) if piece[open..].ends_with(" redact>") || piece[open..].ends_with(" redact/>") => {
                cleaned.push_str(&piece[..open])
            }
            _ => cleaned.push_str(piece),
        }
    }
    cleaned
}

pub(super) fn plain_text(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'").replace("&amp;", "&")
}

pub(super) fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_markup_is_checked_then_applied() {
        let original = "<div><p>Call me &amp; <a href=\"tel:1\">me</a></p></div>";
        let tagged =
            "<div><p><redact>Call me &amp; </redact><a href=\"tel:1\" redact><redact>me</redact></a></p></div>";
        assert_eq!(strip_redaction(tagged), original);
        let applied = apply_redaction(tagged);
        assert!(plain_text(&applied).chars().all(|c| c == REDACTED));
        assert!(!applied.contains("tel:1"));
    }
}
