//! The classic matcher syntax (Alertmanager's `pkg/labels` parser, 0.25 to 0.34).
//!
//! A list is `{a="b", c=~"d"}` with optional braces and an optional trailing comma;
//! it is split at commas outside double quotes. Each matcher is a name matching
//! `[a-zA-Z_:][a-zA-Z0-9_:]*`, an operator, and a value that may be quoted. Values
//! understand `\"`, `\n` and `\\`; any other backslash is kept literally. Whitespace
//! (`[\t\n\f\r ]`) around the three parts is ignored.

use super::{MatchType, Matcher, MatcherError};

/// Go's `\s`: what the classic parser skips around the parts of a matcher.
fn is_go_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0c' | '\r' | ' ')
}

/// Parses a comma-separated list of matchers, optionally in braces.
pub fn parse_matchers(input: &str) -> Result<Vec<Matcher>, MatcherError> {
    let s = input.strip_prefix('{').unwrap_or(input);
    let s = s.strip_suffix('}').unwrap_or(s);

    let mut tokens: Vec<String> = Vec::new();
    let mut token = String::new();
    let mut in_quotes = false;
    let mut escaped = false;
    for c in s.chars() {
        match c {
            ',' if !in_quotes => {
                tokens.push(std::mem::take(&mut token));
                continue;
            }
            // Inside quotes a comma neither splits nor resets a pending escape.
            ',' => {}
            '"' => {
                if escaped {
                    escaped = false;
                } else {
                    in_quotes = !in_quotes;
                }
            }
            '\\' => escaped = !escaped,
            _ => escaped = false,
        }
        token.push(c);
    }
    // Go's strings.TrimSpace trims Unicode white space.
    let last = token.trim();
    if !last.is_empty() {
        tokens.push(last.to_string());
    }
    tokens.iter().map(|t| parse_matcher(t)).collect()
}

/// Parses a single matcher such as `foo = "bar"` or `foo=~ba.*`.
pub fn parse_matcher(input: &str) -> Result<Matcher, MatcherError> {
    let bad = || MatcherError(format!("bad matcher format: {input}"));
    let s = input.trim_start_matches(is_go_space);
    let name_len = s
        .char_indices()
        .find(|&(i, c)| {
            !(c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit()))
        })
        .map_or(s.len(), |(i, _)| i);
    if name_len == 0 {
        return Err(bad());
    }
    let name = &s[..name_len];
    let s = s[name_len..].trim_start_matches(is_go_space);
    let (match_type, s) = if let Some(r) = s.strip_prefix("=~") {
        (MatchType::Regexp, r)
    } else if let Some(r) = s.strip_prefix('=') {
        (MatchType::Equal, r)
    } else if let Some(r) = s.strip_prefix("!=") {
        (MatchType::NotEqual, r)
    } else if let Some(r) = s.strip_prefix("!~") {
        (MatchType::NotRegexp, r)
    } else {
        return Err(bad());
    };
    let raw = s.trim_matches(is_go_space);
    let value = unescape_value(raw)?;
    Matcher::new(name, &value, match_type)
}

/// Removes optional surrounding quotes and resolves `\"`, `\n`, `\\`.
fn unescape_value(raw: &str) -> Result<String, MatcherError> {
    let unescaped_quote = || {
        MatcherError(format!(
            "matcher value contains unescaped double quote: {raw}"
        ))
    };
    let (body, mut expect_quote) = match raw.strip_prefix('"') {
        Some(b) => (b, true),
        None => (raw, false),
    };
    let mut value = String::with_capacity(body.len());
    let mut escaped = false;
    let last = body.len().saturating_sub(1);
    for (i, c) in body.char_indices() {
        if escaped {
            escaped = false;
            match c {
                'n' => value.push('\n'),
                '"' | '\\' => value.push(c),
                _ => {
                    value.push('\\');
                    value.push(c);
                }
            }
            continue;
        }
        match c {
            // A backslash as the very last byte stays literal.
            '\\' if i < last => escaped = true,
            '\\' => value.push('\\'),
            '"' => {
                if !expect_quote || i < last {
                    return Err(unescaped_quote());
                }
                expect_quote = false;
            }
            _ => value.push(c),
        }
    }
    if expect_quote {
        return Err(unescaped_quote());
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(name: &str, t: MatchType, value: &str) -> Matcher {
        Matcher::new(name, value, t).expect("valid matcher")
    }

    fn ok(input: &str) -> Vec<Matcher> {
        parse_matchers(input).unwrap_or_else(|e| panic!("{input:?}: {e}"))
    }

    fn err(input: &str) -> String {
        match parse_matchers(input) {
            Ok(v) => panic!("{input:?} parsed as {v:?}"),
            Err(e) => e.0,
        }
    }

    use MatchType::*;

    #[test]
    fn operators_and_quoting() {
        assert_eq!(ok(r#"foo="bar""#), vec![m("foo", Equal, "bar")]);
        assert_eq!(ok("foo=bar"), vec![m("foo", Equal, "bar")]);
        assert_eq!(ok("foo!=bar"), vec![m("foo", NotEqual, "bar")]);
        assert_eq!(ok("foo=~ba.*"), vec![m("foo", Regexp, "ba.*")]);
        assert_eq!(ok(r#"foo!~"ba.*""#), vec![m("foo", NotRegexp, "ba.*")]);
        assert_eq!(ok("foo="), vec![m("foo", Equal, "")]);
        assert_eq!(ok(r#"foo="""#), vec![m("foo", Equal, "")]);
        // `=~` wins over `=` followed by `~`.
        assert_eq!(ok("foo=~~"), vec![m("foo", Regexp, "~")]);
        assert_eq!(ok("foo==bar"), vec![m("foo", Equal, "=bar")]);
    }

    #[test]
    fn names() {
        assert_eq!(ok("a:b_1=x"), vec![m("a:b_1", Equal, "x")]);
        assert_eq!(ok(":a=x"), vec![m(":a", Equal, "x")]);
        assert_eq!(ok("_=x"), vec![m("_", Equal, "x")]);
        assert_eq!(err("1a=x"), "bad matcher format: 1a=x");
        assert_eq!(err("a b=x"), "bad matcher format: a b=x");
        assert_eq!(err("fö=x"), "bad matcher format: fö=x");
        assert_eq!(err(r#""a"=x"#), r#"bad matcher format: "a"=x"#);
        assert_eq!(err("=x"), "bad matcher format: =x");
        assert_eq!(err("foo!bar"), "bad matcher format: foo!bar");
        assert_eq!(err("foo"), "bad matcher format: foo");
    }

    #[test]
    fn whitespace() {
        assert_eq!(
            ok(" \t foo \n =~ \r bar \x0c "),
            vec![m("foo", Regexp, "bar")]
        );
        assert_eq!(ok(r#"foo = " bar ""#), vec![m("foo", Equal, " bar ")]);
        // Vertical tab is not white space for the classic parser's regex.
        assert_eq!(
            ok("foo=bar\x0b,x=y"),
            vec![m("foo", Equal, "bar\x0b"), m("x", Equal, "y")]
        );
        // ... but the last token of a list is trimmed of all Unicode white space first.
        assert_eq!(ok("foo=bar\x0b"), vec![m("foo", Equal, "bar")]);
        assert_eq!(ok("foo= a b "), vec![m("foo", Equal, "a b")]);
    }

    #[test]
    fn escapes() {
        assert_eq!(ok(r#"foo="a\"b""#), vec![m("foo", Equal, "a\"b")]);
        assert_eq!(ok(r#"foo="a\\b""#), vec![m("foo", Equal, "a\\b")]);
        assert_eq!(ok(r#"foo="a\nb""#), vec![m("foo", Equal, "a\nb")]);
        // Unknown escapes keep the backslash.
        assert_eq!(ok(r#"foo="a\tb""#), vec![m("foo", Equal, "a\\tb")]);
        assert_eq!(ok(r#"foo=~"\d+""#), vec![m("foo", Regexp, "\\d+")]);
        // Unquoted values unescape too; a final backslash is literal.
        assert_eq!(ok(r"foo=a\nb"), vec![m("foo", Equal, "a\nb")]);
        assert_eq!(ok(r"foo=a\"), vec![m("foo", Equal, "a\\")]);
        assert_eq!(ok("foo=!bar\\n"), vec![m("foo", Equal, "!bar\n")]);
        // Literal line feeds are tolerated inside the value.
        assert_eq!(ok("foo=\"a\nb\""), vec![m("foo", Equal, "a\nb")]);
        assert_eq!(ok("foo=🙂"), vec![m("foo", Equal, "🙂")]);
    }

    #[test]
    fn unescaped_quotes() {
        assert_eq!(
            err(r#"foo="bar"#),
            r#"matcher value contains unescaped double quote: "bar"#
        );
        assert_eq!(
            err(r#"foo=bar""#),
            r#"matcher value contains unescaped double quote: bar""#
        );
        assert_eq!(
            err(r#"foo="a"b""#),
            r#"matcher value contains unescaped double quote: "a"b""#
        );
        assert_eq!(
            err(r#"foo="bar\""#),
            r#"matcher value contains unescaped double quote: "bar\""#
        );
        assert_eq!(
            err(r#"foo=""#),
            r#"matcher value contains unescaped double quote: ""#
        );
    }

    #[test]
    fn lists() {
        let two = vec![m("foo", Equal, "bar"), m("dings", NotEqual, "bums")];
        assert_eq!(ok(r#"{foo = "bar", dings != "bums", }"#), two);
        assert_eq!(ok("foo=bar,dings!=bums"), two);
        assert_eq!(ok("foo=bar, dings!=bums"), two);
        assert_eq!(ok("{foo=bar,dings!=bums}"), two);
        assert_eq!(ok("{foo=bar,dings!=bums"), two);
        assert_eq!(ok("foo=bar,dings!=bums}"), two);
        assert_eq!(
            ok(r#"{quote="She said: \"Hi, ladies! That's gender-neutral…\""}"#),
            vec![m(
                "quote",
                Equal,
                "She said: \"Hi, ladies! That's gender-neutral…\""
            )]
        );
        assert_eq!(
            ok(r#"foo="a,b",c=d"#),
            vec![m("foo", Equal, "a,b"), m("c", Equal, "d")]
        );
        assert_eq!(ok(""), vec![]);
        assert_eq!(ok("{}"), vec![]);
        assert_eq!(ok("  "), vec![]);
        // Only one brace is removed on each side.
        assert_eq!(ok("{foo={bar}}"), vec![m("foo", Equal, "{bar}")]);
        assert_eq!(err("foo=bar,,baz=qux"), "bad matcher format: ");
        assert_eq!(err("foo=bar, baz"), "bad matcher format: baz");
        assert_eq!(err("foo=bar, baz,"), "bad matcher format:  baz");
        assert_eq!(err(",foo=bar"), "bad matcher format: ");
    }

    #[test]
    fn quirk_comma_inside_quotes_keeps_escape() {
        // `\,` inside quotes leaves the escape pending, so the next `"` does not close
        // the quotes and the following comma does not split.
        assert_eq!(
            err(r#"foo="a\,",bar=b"#),
            r#"matcher value contains unescaped double quote: "a\,",bar=b"#
        );
    }

    #[test]
    fn regex_errors() {
        assert_eq!(
            err("foo=~(a"),
            "error parsing regexp: missing closing ): `^(?:(a)$`"
        );
        assert_eq!(
            err("foo!~a**"),
            "error parsing regexp: invalid nested repetition operator: `**`"
        );
    }
}
