//! Text the connector writes for Zendesk: the search term for an e-mail, and the redaction
//! markup of a comment. Pure functions.

use crate::model::Comment;

/// What Zendesk leaves in place of redacted characters.
const REDACTED: char = '\u{2587}';
/// What Zendesk names an attachment it redacted.
const REDACTED_FILE: &str = "redacted.txt";

/// `email:"..."`: the address as one quoted phrase, `\` and `"` escaped, so that `*`, `:`,
/// quotes and spaces stay data. Zendesk's search is still fuzzy: callers keep exact matches only.
pub(crate) fn email_query(email: &str) -> String {
    let escaped = email.replace('\\', "\\\\").replace('"', "\\\"");
    format!("email:\"{escaped}\"")
}

/// The comment's `html_body` with every piece of text wrapped in `<redact>` and every link and
/// image marked `redact`: the whole comment redacted, its markup kept as Zendesk requires.
pub(crate) fn redact_all(html: &str) -> String {
    let mut out = String::with_capacity(html.len() * 2);
    let mut text = String::new();
    let mut chars = html.chars();
    while let Some(c) = chars.next() {
        if c != '<' {
            text.push(c);
            continue;
        }
        flush_text(&mut out, &mut text);
        let mut tag = String::from('<');
        let mut quote = None;
        for c in chars.by_ref() {
            tag.push(c);
            match (c, quote) {
                ('"' | '\'', None) => quote = Some(c),
                (c, Some(q)) if c == q => quote = None,
                ('>', None) => break,
                _ => {}
            }
        }
        out.push_str(&mark_tag(tag));
    }
    flush_text(&mut out, &mut text);
    out
}

fn flush_text(out: &mut String, text: &mut String) {
    if text.trim().is_empty() {
        out.push_str(text);
    } else {
        out.push_str("<redact>");
        out.push_str(text);
        out.push_str("</redact>");
    }
    text.clear();
}

/// `<a ...>` and `<img ...>` get the `redact` attribute (their URLs can be personal data).
fn mark_tag(tag: String) -> String {
    let name: String = tag[1..].chars().take_while(|c| c.is_ascii_alphanumeric()).collect::<String>().to_lowercase();
    if !matches!(name.as_str(), "a" | "img") || !tag.ends_with('>') {
        return tag;
    }
    let body = &tag[..tag.len() - 1];
    match body.strip_suffix('/') {
        Some(open) => format!("{open} redact/>"),
        None => format!("{body} redact>"),
    }
}

/// Whether Zendesk already redacted everything in the comment: only `▇` left in its text, and
/// attachments replaced by `redacted.txt`.
pub(crate) fn is_redacted(comment: &Comment) -> bool {
    let text_done = comment.plain_body.chars().all(|c| c == REDACTED || c.is_whitespace());
    text_done && comment.attachments.iter().all(|a| a.file_name == REDACTED_FILE)
}

/// The attachments still to redact.
pub(crate) fn attachment_urls(comment: &Comment) -> Vec<String> {
    comment.attachments.iter().filter(|a| a.file_name != REDACTED_FILE).filter_map(|a| a.content_url.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Attachment;

    #[test]
    fn the_search_term_is_one_quoted_phrase() {
        assert_eq!(email_query("ana@x.io"), r#"email:"ana@x.io""#);
        assert_eq!(email_query(r#"a"b@x.io"#), r#"email:"a\"b@x.io""#);
        assert_eq!(email_query(r"a\b@x.io"), r#"email:"a\\b@x.io""#);
        assert_eq!(email_query(r#"x\"@x.io"#), r#"email:"x\\\"@x.io""#);
        assert_eq!(email_query("*@x.io"), r#"email:"*@x.io""#);
    }

    #[test]
    fn every_text_run_is_redacted_and_links_are_marked() {
        let html = r#"<div class="zd-comment" dir="auto"><p>Call me at <a href="tel:+331">+331</a> &amp; bye</p> <img src="x.png"/></div>"#;
        assert_eq!(
            redact_all(html),
            r#"<div class="zd-comment" dir="auto"><p><redact>Call me at </redact><a href="tel:+331" redact><redact>+331</redact></a><redact> &amp; bye</redact></p> <img src="x.png" redact/></div>"#
        );
        assert_eq!(redact_all("plain"), "<redact>plain</redact>");
        assert_eq!(redact_all(r#"<p title="a>b">x</p>"#), r#"<p title="a>b"><redact>x</redact></p>"#);
    }

    #[test]
    fn redacted_comments_are_recognised() {
        let comment = |plain: &str, files: &[&str]| Comment {
            id: 1,
            author_id: None,
            html_body: String::new(),
            plain_body: plain.into(),
            attachments: files
                .iter()
                .map(|f| Attachment { file_name: f.to_string(), content_url: Some(format!("https://z/{f}")) })
                .collect(),
        };
        assert!(is_redacted(&comment("▇▇▇ ▇▇", &[])));
        assert!(is_redacted(&comment("▇▇", &["redacted.txt"])));
        assert!(!is_redacted(&comment("▇▇ hi", &[])));
        assert!(!is_redacted(&comment("▇▇", &["passport.pdf"])));
        assert_eq!(attachment_urls(&comment("", &["redacted.txt", "passport.pdf"])), ["https://z/passport.pdf"]);
    }
}
