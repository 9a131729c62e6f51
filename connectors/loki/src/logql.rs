//! The LogQL the connector writes: one line filter per identifier that matches it only as a whole
//! token, escaped twice (as a regex literal, then as a LogQL string), and the same match done
//! client-side to re-check what Loki returns.
//!
//! A token is a run of `A-Za-z0-9_@.+-`: `u_12` must not match inside `u_123`, `xu_12` or `u_12.5`,
//! and `ana@x.io` not inside `hana@x.io` or `ana@x.io.evil`, but a sentence-final `.` after an
//! identifier ends the token (`mail sent to ana@x.io.` matches).

/// The characters of a token, as a regex class body.
const TOKEN_CLASS: &str = "A-Za-z0-9_@.+-";

/// An identifier, matched as a whole token; e-mails case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    text: String,
    fold_case: bool,
}

impl Token {
    pub fn new(identifier: &str, fold_case: bool) -> Token {
        Token { text: identifier.to_string(), fold_case }
    }

    /// Length in characters.
    pub fn len(&self) -> usize {
        self.text.chars().count()
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// The RE2 pattern of the `|~` filter.
    pub fn regex(&self) -> String {
        let literal = regex_escape(&self.text);
        let literal = if self.fold_case { format!("(?i:{literal})") } else { literal };
        format!("(^|[^{TOKEN_CLASS}]){literal}($|[^{TOKEN_CLASS}]|\\.($|[^{TOKEN_CLASS}]))")
    }

    /// The whole query: `selector |~ "pattern"`.
    pub fn query(&self, selector: &str) -> String {
        format!("{selector} |~ {}", logql_string(&self.regex()))
    }

    /// Whether `line` holds the identifier as a whole token: what [`Token::regex`] matches.
    pub fn matches(&self, line: &str) -> bool {
        let hay: Vec<char> = line.chars().collect();
        let want: Vec<char> = self.text.chars().collect();
        if want.is_empty() || hay.len() < want.len() {
            return false;
        }
        (0..=hay.len() - want.len()).any(|at| {
            let end = at + want.len();
            let same = hay[at..end].iter().zip(&want).all(|(&h, &w)| self.same(h, w));
            let starts = at == 0 || !is_token_char(hay[at - 1]);
            let ends = match hay.get(end) {
                None => true,
                Some('.') => hay.get(end + 1).is_none_or(|&c| !is_token_char(c)),
                Some(&c) => !is_token_char(c),
            };
            same && starts && ends
        })
    }

    fn same(&self, a: char, b: char) -> bool {
        a == b || (self.fold_case && a.to_lowercase().eq(b.to_lowercase()))
    }
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '@' | '.' | '+' | '-')
}

/// Every RE2 metacharacter backslash-escaped: the identifier is a literal.
fn regex_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if r"\.+*?()|[]{}^$".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// A double-quoted LogQL (Go) string.
fn logql_string(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 8);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '\\' => quoted.push_str(r"\\"),
            '"' => quoted.push_str("\\\""),
            '\n' => quoted.push_str(r"\n"),
            '\r' => quoted.push_str(r"\r"),
            '\t' => quoted.push_str(r"\t"),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_as_loki_receives_it() {
        assert_eq!(
            Token::new("u_12", false).query("{app=\"shop\"}"),
            r#"{app="shop"} |~ "(^|[^A-Za-z0-9_@.+-])u_12($|[^A-Za-z0-9_@.+-]|\\.($|[^A-Za-z0-9_@.+-]))""#
        );
        assert_eq!(
            Token::new("a\"b\\c*@x.io", true).query("{app=\"shop\"}"),
            r#"{app="shop"} |~ "(^|[^A-Za-z0-9_@.+-])(?i:a\"b\\\\c\\*@x\\.io)($|[^A-Za-z0-9_@.+-]|\\.($|[^A-Za-z0-9_@.+-]))""#
        );
    }

    #[test]
    fn whole_tokens_only() {
        let id = Token::new("u_12", false);
        for yes in
            ["u_12", "user=u_12 ok", "\"u_12\"", "(u_12)", "sent to u_12.", "u_12. Next", "u_12,u_13", "é u_12 é"]
        {
            assert!(id.matches(yes), "{yes:?}");
        }
        for no in ["u_123", "xu_12", "u_12.5", "a.u_12", "u_12@x", "u-12", "U_12", "u_1", ""] {
            assert!(!id.matches(no), "{no:?}");
        }
        let email = Token::new("ana@x.io", true);
        assert!(email.matches("to Ana@X.IO."));
        assert!(!email.matches("to hana@x.io"));
        assert!(!email.matches("to ana@x.io.evil"));
    }

    /// The client-side match and the regex Loki runs agree, on a real regex engine with RE2's
    /// syntax and semantics for these constructs.
    #[test]
    fn the_client_side_match_is_the_regex() {
        let identifiers = [
            ("u_12", false),
            ("ana@x.io", true),
            ("+33612345678", false),
            ("*0\" OR \"\"=\"", false),
            ("a|b@example.com", true),
            ("(victim)@example.com", true),
            ("jos\u{e9}@x.io", true),
            ("a\\b@x.io", true),
            ("{}@x.io", true),
            ("x'y%@x.io", true),
        ];
        let lines = [
            "",
            "u_12",
            "u_123 u_12",
            "id=u_12.",
            "id=u_12.5",
            "ANA@X.IO",
            "hana@x.io ana@x.io.",
            "call +33612345678 then +336123456789",
            "1+33612345678",
            "q=*0\" OR \"\"=\" end",
            "xa|b@example.com a|b@example.com",
            "(VICTIM)@example.com.",
            "JOS\u{c9}@X.IO",
            "a\\b@x.io\n",
            "{}@x.io",
            "x'y%@x.io.x",
        ];
        for (text, fold) in identifiers {
            let token = Token::new(text, fold);
            let regex = regex_automata::meta::Regex::new(&token.regex()).expect("the pattern compiles");
            for line in lines {
                assert_eq!(token.matches(line), regex.is_match(line), "{text:?} in {line:?}");
            }
            assert!(regex.is_match(text) && token.matches(text), "{text:?} matches itself");
        }
    }
}
