//! The subset of LogQL the simulator understands (module doc): label matchers and line filters.

use super::Labels;

/// The subset of LogQL the simulator understands.
#[derive(Clone, Debug)]
pub(super) struct LogQuery {
    matchers: Vec<(String, LabelTest)>,
    pub(super) filters: Vec<LineFilter>,
}

#[derive(Clone, Debug)]
enum LabelTest {
    Equal(String),
    NotEqual(String),
    /// `=~`: the value is one of these (`None`: any value, `.*`; `Some(empty)`: `.+`).
    Matches(Option<Vec<String>>),
    NotMatches(Option<Vec<String>>),
}

#[derive(Clone, Debug)]
pub(super) enum LineFilter {
    Contains(String),
    NotContains(String),
    Token(Token),
}

/// The whole-token form: LITERAL, neither preceded nor followed by a character of the class (a
/// `.` after it counts as punctuation when what follows the `.` is not of the class).
#[derive(Clone, Debug)]
pub(super) struct Token {
    literal: Vec<char>,
    fold_case: bool,
    class: Vec<(char, char)>,
}

impl LogQuery {
    pub(super) fn parse(text: &str) -> Result<LogQuery, String> {
        let mut cursor = Cursor { rest: text };
        cursor.skip_space();
        cursor.expect("{")?;
        let mut matchers = Vec::new();
        loop {
            cursor.skip_space();
            if cursor.eat("}") {
                break;
            }
            let name = cursor.label_name()?;
            cursor.skip_space();
            let op = ["=~", "!~", "!=", "="].into_iter().find(|op| cursor.eat(op)).ok_or("expected a matcher")?;
            cursor.skip_space();
            let value = cursor.string()?;
            let test = match op {
                "=" => LabelTest::Equal(value),
                "!=" => LabelTest::NotEqual(value),
                "=~" => LabelTest::Matches(label_regex(&value)?),
                _ => LabelTest::NotMatches(label_regex(&value)?),
            };
            matchers.push((name, test));
            cursor.skip_space();
            if !cursor.eat(",") {
                cursor.expect("}")?;
                break;
            }
        }
        let needs_a_value = |test: &LabelTest| match test {
            LabelTest::Equal(v) => !v.is_empty(),
            LabelTest::Matches(Some(set)) => !set.iter().any(String::is_empty),
            _ => false,
        };
        if !matchers.iter().any(|(_, test)| needs_a_value(test)) {
            return Err("queries require at least one regexp or equality matcher that does not have an \
                        empty-compatible value"
                .into());
        }
        let mut filters = Vec::new();
        loop {
            cursor.skip_space();
            if cursor.rest.is_empty() {
                break;
            }
            let op = ["|=", "!=", "|~"].into_iter().find(|op| cursor.eat(op)).ok_or("unsupported pipeline stage")?;
            cursor.skip_space();
            let value = cursor.string()?;
            filters.push(match op {
                "|=" => LineFilter::Contains(value),
                "!=" => LineFilter::NotContains(value),
                _ => line_regex(&value)?,
            });
        }
        Ok(LogQuery { matchers, filters })
    }

    pub(super) fn selects(&self, labels: &Labels) -> bool {
        self.matchers.iter().all(|(name, test)| {
            let value = labels.get(name).map(String::as_str).unwrap_or("");
            let one_of = |set: &Option<Vec<String>>| match set {
                None => true,
                Some(set) if set.is_empty() => !value.is_empty(),
                Some(set) => set.iter().any(|v| v == value),
            };
            match test {
                LabelTest::Equal(v) => value == v,
                LabelTest::NotEqual(v) => value != v,
                LabelTest::Matches(set) => one_of(set),
                LabelTest::NotMatches(set) => !one_of(set),
            }
        })
    }

    pub(super) fn keeps(&self, line: &str, widen: bool) -> bool {
        self.filters.iter().all(|filter| match filter {
            LineFilter::Contains(text) => line.contains(text.as_str()),
            LineFilter::NotContains(text) => !line.contains(text.as_str()),
            LineFilter::Token(token) => token.matches(line, widen),
        })
    }
}

impl Token {
    fn in_class(&self, c: char) -> bool {
        self.class.iter().any(|&(low, high)| low <= c && c <= high)
    }

    fn same(&self, a: char, b: char) -> bool {
        a == b || (self.fold_case && a.to_lowercase().eq(b.to_lowercase()))
    }

    fn matches(&self, line: &str, widen: bool) -> bool {
        let hay: Vec<char> = line.chars().collect();
        let n = self.literal.len();
        if hay.len() < n {
            return false;
        }
        (0..=hay.len() - n).any(|at| {
            let end = at + n;
            let equal = hay[at..end].iter().zip(&self.literal).all(|(&a, &b)| self.same(a, b));
            let before = at == 0 || !self.in_class(hay[at - 1]);
            let after = end == hay.len()
                || !self.in_class(hay[end])
                || (hay[end] == '.' && (end + 1 == hay.len() || !self.in_class(hay[end + 1])));
            equal && (widen || (before && after))
        })
    }
}

/// A label matcher's regex: `.*`, `.+` or literal alternatives.
fn label_regex(pattern: &str) -> Result<Option<Vec<String>>, String> {
    match pattern {
        ".*" => Ok(None),
        ".+" => Ok(Some(Vec::new())),
        _ if pattern.chars().any(|c| "\\.+*?()[]{}^$".contains(c)) => {
            Err("the simulator takes label regexes `.*`, `.+` or `a|b` only".into())
        }
        _ => Ok(Some(pattern.split('|').map(str::to_string).collect())),
    }
}

/// A `|~` pattern: a plain literal, or the whole-token form.
fn line_regex(pattern: &str) -> Result<LineFilter, String> {
    let Some(rest) = pattern.strip_prefix("(^|[^") else {
        return Ok(LineFilter::Contains(regex_literal(pattern)?));
    };
    let close = rest.find("])").ok_or("unsupported regex")?;
    let class = &rest[..close];
    let suffix = format!("($|[^{class}]|\\.($|[^{class}]))");
    let middle = rest[close + 2..].strip_suffix(suffix.as_str()).ok_or("unsupported regex")?;
    let (fold_case, literal) = match middle.strip_prefix("(?i:").and_then(|m| m.strip_suffix(')')) {
        Some(inner) => (true, inner),
        None => (false, middle),
    };
    let literal: Vec<char> = regex_literal(literal)?.chars().collect();
    if literal.is_empty() {
        return Err("empty literal".into());
    }
    Ok(LineFilter::Token(Token { literal, fold_case, class: char_class(class)? }))
}

/// A regex that is a literal: metacharacters `\`-escaped, nothing else special.
fn regex_literal(pattern: &str) -> Result<String, String> {
    let mut literal = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e) if e.is_ascii_punctuation() => literal.push(e),
                _ => return Err("unsupported regex escape".into()),
            },
            c if "().+*?[]{}|^$".contains(c) => return Err("unsupported regex".into()),
            c => literal.push(c),
        }
    }
    Ok(literal)
}

/// The body of a character class: characters and `a-z` ranges.
fn char_class(body: &str) -> Result<Vec<(char, char)>, String> {
    let chars: Vec<char> = body.chars().collect();
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = match chars[i] {
            '\\' => {
                i += 1;
                *chars.get(i).ok_or("unsupported character class")?
            }
            '[' | ']' => return Err("unsupported character class".into()),
            c => c,
        };
        if chars.get(i + 1) == Some(&'-') && i + 2 < chars.len() {
            ranges.push((c, chars[i + 2]));
            i += 3;
        } else {
            ranges.push((c, c));
            i += 1;
        }
    }
    Ok(ranges)
}

struct Cursor<'a> {
    rest: &'a str,
}

impl Cursor<'_> {
    fn skip_space(&mut self) {
        self.rest = self.rest.trim_start();
    }

    fn eat(&mut self, token: &str) -> bool {
        match self.rest.strip_prefix(token) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn expect(&mut self, token: &str) -> Result<(), String> {
        self.eat(token).then_some(()).ok_or_else(|| format!("expected `{token}`"))
    }

    fn label_name(&mut self) -> Result<String, String> {
        let end = self
            .rest
            .char_indices()
            .find(|&(i, c)| !(c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
            .map_or(self.rest.len(), |(i, _)| i);
        if end == 0 {
            return Err("expected a label name".into());
        }
        let (name, rest) = self.rest.split_at(end);
        self.rest = rest;
        Ok(name.to_string())
    }

    /// A Go string literal: `"..."` with escapes, or `` `raw` ``.
    fn string(&mut self) -> Result<String, String> {
        if let Some(raw) = self.rest.strip_prefix('`') {
            let end = raw.find('`').ok_or("unterminated string")?;
            self.rest = &raw[end + 1..];
            return Ok(raw[..end].to_string());
        }
        let body = self.rest.strip_prefix('"').ok_or("expected a string")?;
        let mut value = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.rest = &body[i + 1..];
                    return Ok(value);
                }
                '\\' => value.push(match chars.next().map(|(_, e)| e) {
                    Some('\\') => '\\',
                    Some('"') => '"',
                    Some('n') => '\n',
                    Some('t') => '\t',
                    Some('r') => '\r',
                    _ => return Err("unsupported escape in a string".into()),
                }),
                '\n' => return Err("newline in a string".into()),
                c => value.push(c),
            }
        }
        Err("unterminated string".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loki::labels;

    const PATTERN: &str = r"(^|[^A-Za-z0-9_@.+-])u_12($|[^A-Za-z0-9_@.+-]|\.($|[^A-Za-z0-9_@.+-]))";

    fn keeps(query: &str, line: &str) -> bool {
        LogQuery::parse(query).unwrap().keeps(line, false)
    }

    #[test]
    fn whole_tokens() {
        let query = format!("{{app=\"shop\"}} |~ `{PATTERN}`");
        for yes in ["u_12", "user=u_12 ok", "(u_12)", "end u_12.", "u_12. next", "u_12\nx"] {
            assert!(keeps(&query, yes), "{yes:?}");
        }
        for no in ["u_123", "xu_12", "u_12.5", "a.u_12", "u_12@x", "U_12"] {
            assert!(!keeps(&query, no), "{no:?}");
        }
    }

    #[test]
    fn folded_literals_and_escapes() {
        let query = r#"{app="shop"} |~ "(^|[^A-Za-z0-9_@.+-])(?i:a\"b\\.c@x\\.io)($|[^A-Za-z0-9_@.+-]|\\.($|[^A-Za-z0-9_@.+-]))""#;
        assert!(keeps(query, "to A\"B.C@X.io."));
        assert!(!keeps(query, "to a\"bxc@x.io"));
    }

    #[test]
    fn selectors_and_refusals() {
        let q = LogQuery::parse(r#"{app="shop", env=~"prod|eu", team!="x"}"#).unwrap();
        assert!(q.selects(&labels(&[("app", "shop"), ("env", "eu")])));
        assert!(!q.selects(&labels(&[("app", "shop"), ("env", "dev")])));
        for bad in [r#"{app=~".*"}"#, "{}", r#"{app="a"} | json"#, r#"{app="a"} |~ "a.*b""#, r#"{app="a""#] {
            assert!(LogQuery::parse(bad).is_err(), "{bad}");
        }
    }
}
