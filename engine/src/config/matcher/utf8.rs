//! The UTF-8 matcher syntax (Alertmanager's `matcher/parse`, 0.27+).
//!
//! Grammar: an optional `{`, matchers separated by commas (a trailing comma is
//! allowed), and a `}` exactly when the input started with `{`. A matcher is a name,
//! one of `=`, `!=`, `=~`, `!~`, and a value. Names and values are either double-quoted
//! Go string literals (any UTF-8, Go escapes) or unquoted runs of characters that are
//! not white space nor one of `{}!=~,\"'` and backtick. Errors carry the rune columns
//! of the offending token as `start:end`.

use std::fmt;

use super::{MatchType, Matcher, MatcherError};

/// Characters that end an unquoted token.
fn is_reserved(c: char) -> bool {
    c.is_whitespace() || "{}!=~,\\\"'`".contains(c)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Eof,
    OpenBrace,
    CloseBrace,
    Comma,
    Equals,
    NotEquals,
    Matches,
    NotMatches,
    Quoted,
    Unquoted,
}

/// Byte offsets and rune columns of a token.
#[derive(Clone, Copy, Debug, Default)]
struct Position {
    offset_start: usize,
    offset_end: usize,
    column_start: usize,
    column_end: usize,
}

#[derive(Clone, Copy, Debug)]
struct Token<'a> {
    kind: Kind,
    value: &'a str,
    pos: Position,
}

impl Token<'_> {
    fn eof() -> Self {
        Token {
            kind: Kind::Eof,
            value: "",
            pos: Position::default(),
        }
    }

    /// The text of the token, with quotes and escapes resolved for quoted tokens.
    fn unquote(&self) -> Result<String, MatcherError> {
        if self.kind != Kind::Quoted {
            return Ok(self.value.to_string());
        }
        go_unquote(self.value).ok_or_else(|| {
            MatcherError(format!(
                "{}:{}: {}: invalid input",
                self.pos.column_start, self.pos.column_end, self.value
            ))
        })
    }
}

/// Lexer errors; their messages match upstream's.
#[derive(Clone, Debug)]
enum LexError {
    Expected {
        pos: Position,
        at_end: bool,
        text: String,
        expected: &'static str,
    },
    Invalid {
        pos: Position,
        text: String,
    },
    Unterminated {
        pos: Position,
        text: String,
    },
}

impl fmt::Display for LexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LexError::Expected {
                pos,
                at_end: true,
                expected,
                ..
            } => write!(
                f,
                "{}:{}: unexpected end of input, expected one of '{expected}'",
                pos.column_start, pos.column_end
            ),
            LexError::Expected {
                pos,
                text,
                expected,
                ..
            } => {
                write!(
                    f,
                    "{}:{}: {text}: expected one of '{expected}'",
                    pos.column_start, pos.column_end
                )
            }
            LexError::Invalid { pos, text } => write!(
                f,
                "{}:{}: {text}: invalid input",
                pos.column_start, pos.column_end
            ),
            LexError::Unterminated { pos, text } => {
                write!(
                    f,
                    "{}:{}: {text}: missing end \"",
                    pos.column_start, pos.column_end
                )
            }
        }
    }
}

/// Why the parser stopped, before the context is added.
#[derive(Debug)]
enum Fail {
    /// No more input.
    Eof,
    /// An error message.
    Msg(String),
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fail::Eof => f.write_str("end of input"),
            Fail::Msg(m) => f.write_str(m),
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct LexState {
    start: usize,
    pos: usize,
    width: usize,
    column: usize,
    cols: usize,
}

struct Lexer<'a> {
    input: &'a str,
    err: Option<LexError>,
    st: LexState,
}

impl<'a> Lexer<'a> {
    fn new(input: &'a str) -> Self {
        Lexer {
            input,
            err: None,
            st: LexState::default(),
        }
    }

    fn position(&self) -> Position {
        Position {
            offset_start: self.st.start,
            offset_end: self.st.pos,
            column_start: self.st.column,
            column_end: self.st.cols,
        }
    }

    /// The next rune, or `None` at the end of input.
    fn next(&mut self) -> Option<char> {
        match self.input[self.st.pos..].chars().next() {
            None => {
                self.st.width = 0;
                None
            }
            Some(c) => {
                self.st.width = c.len_utf8();
                self.st.pos += self.st.width;
                self.st.cols += 1;
                Some(c)
            }
        }
    }

    /// Steps back over the rune last returned by `next` (no-op after end of input).
    fn rewind(&mut self) {
        self.st.pos -= self.st.width;
        if self.st.width > 0 {
            self.st.cols -= 1;
        }
    }

    fn skip(&mut self) {
        self.st.start = self.st.pos;
        self.st.column = self.st.cols;
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.next() {
            Some(c) if valid.contains(c) => true,
            _ => {
                self.rewind();
                false
            }
        }
    }

    fn emit(&mut self, kind: Kind) -> Token<'a> {
        let pos = self.position();
        let t = Token {
            kind,
            value: &self.input[self.st.start..self.st.pos],
            pos,
        };
        self.st.start = self.st.pos;
        self.st.column = self.st.cols;
        t
    }

    fn expected(&self, expected: &'static str) -> LexError {
        let pos = self.position();
        LexError::Expected {
            pos,
            at_end: pos.offset_end >= self.input.len(),
            text: self.input[pos.offset_start..pos.offset_end].to_string(),
            expected,
        }
    }

    fn scan(&mut self) -> Result<Token<'a>, LexError> {
        if let Some(e) = &self.err {
            return Err(e.clone());
        }
        let result = self.scan_inner();
        if let Err(e) = &result {
            self.err = Some(e.clone());
        }
        result
    }

    fn scan_inner(&mut self) -> Result<Token<'a>, LexError> {
        while let Some(c) = self.next() {
            match c {
                '{' => return Ok(self.emit(Kind::OpenBrace)),
                '}' => return Ok(self.emit(Kind::CloseBrace)),
                ',' => return Ok(self.emit(Kind::Comma)),
                '=' | '!' => {
                    self.rewind();
                    return self.scan_operator();
                }
                '"' => {
                    self.rewind();
                    return self.scan_quoted();
                }
                c if !is_reserved(c) => {
                    self.rewind();
                    return Ok(self.scan_unquoted());
                }
                c if c.is_whitespace() => self.skip(),
                _ => {
                    let pos = self.position();
                    return Err(LexError::Invalid {
                        pos,
                        text: self.input[pos.offset_start..pos.offset_end].to_string(),
                    });
                }
            }
        }
        Ok(Token::eof())
    }

    fn scan_operator(&mut self) -> Result<Token<'a>, LexError> {
        if self.accept("!") {
            if self.accept("=") {
                return Ok(self.emit(Kind::NotEquals));
            }
            if self.accept("~") {
                return Ok(self.emit(Kind::NotMatches));
            }
            return Err(self.expected("=~"));
        }
        if self.accept("=") {
            if self.accept("~") {
                return Ok(self.emit(Kind::Matches));
            }
            return Ok(self.emit(Kind::Equals));
        }
        Err(self.expected("!="))
    }

    fn scan_quoted(&mut self) -> Result<Token<'a>, LexError> {
        if !self.accept("\"") {
            return Err(self.expected("\""));
        }
        let mut escaped = false;
        while let Some(c) = self.next() {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                self.rewind();
                break;
            }
        }
        if !self.accept("\"") {
            let pos = self.position();
            return Err(LexError::Unterminated {
                pos,
                text: self.input[pos.offset_start..pos.offset_end].to_string(),
            });
        }
        Ok(self.emit(Kind::Quoted))
    }

    fn scan_unquoted(&mut self) -> Token<'a> {
        while let Some(c) = self.next() {
            if is_reserved(c) {
                self.rewind();
                break;
            }
        }
        self.emit(Kind::Unquoted)
    }

    /// The next token without consuming it (a lexer error still sticks).
    fn peek(&mut self) -> Result<Token<'a>, LexError> {
        let saved = self.st;
        let r = self.scan();
        self.st = saved;
        r
    }
}

/// The parser's states.
#[derive(Clone, Copy)]
enum State {
    OpenBrace,
    CloseBrace,
    Matcher,
    EndOfMatcher,
    Comma,
    Eof,
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    has_open_brace: bool,
    matchers: Vec<Matcher>,
}

fn lex(e: LexError) -> Fail {
    Fail::Msg(e.to_string())
}

impl<'a> Parser<'a> {
    /// Peeks a token that must be one of `kinds`.
    fn expect_peek(&mut self, kinds: &[Kind]) -> Result<Token<'a>, Fail> {
        let t = self.lexer.peek().map_err(lex)?;
        if t.kind == Kind::Eof {
            return Err(Fail::Eof);
        }
        if !kinds.contains(&t.kind) {
            return Err(Fail::Msg(format!(
                "{}:{}: unexpected {}",
                t.pos.column_start, t.pos.column_end, t.value
            )));
        }
        Ok(t)
    }

    /// Consumes a token that must be one of `kinds`.
    fn expect(&mut self, kinds: &[Kind]) -> Result<Token<'a>, Fail> {
        let t = self.expect_peek(kinds)?;
        self.lexer.scan().map_err(lex)?;
        Ok(t)
    }

    /// Whether the next token is one of `kinds`, consuming it if so.
    fn accept(&mut self, kinds: &[Kind]) -> Result<bool, Fail> {
        let ok = self.accept_peek(kinds)?;
        if ok {
            self.lexer.scan().map_err(lex)?;
        }
        Ok(ok)
    }

    fn accept_peek(&mut self, kinds: &[Kind]) -> Result<bool, Fail> {
        let t = self.lexer.peek().map_err(lex)?;
        if t.kind == Kind::Eof {
            return Err(Fail::Eof);
        }
        Ok(kinds.contains(&t.kind))
    }

    fn run(&mut self) -> Result<(), MatcherError> {
        let mut state = State::OpenBrace;
        loop {
            state = match state {
                State::OpenBrace => self.open_brace()?,
                State::CloseBrace => self.close_brace()?,
                State::Matcher => self.matcher()?,
                State::EndOfMatcher => self.end_of_matcher()?,
                State::Comma => self.comma()?,
                State::Eof => {
                    self.eof()?;
                    return Ok(());
                }
            }
        }
    }

    fn open_brace(&mut self) -> Result<State, MatcherError> {
        match self.accept(&[Kind::OpenBrace]) {
            Ok(b) => self.has_open_brace = b,
            Err(Fail::Eof) => return Ok(State::Eof),
            Err(e) => return Err(MatcherError(e.to_string())),
        }
        match self.accept_peek(&[Kind::CloseBrace]) {
            Ok(true) | Err(Fail::Eof) => Ok(State::CloseBrace),
            Ok(false) => Ok(State::Matcher),
            Err(e) => Err(MatcherError(e.to_string())),
        }
    }

    fn close_brace(&mut self) -> Result<State, MatcherError> {
        if self.has_open_brace {
            if let Err(e) = self.expect(&[Kind::CloseBrace]) {
                return Err(MatcherError(format!(
                    "0:{}: {e}: expected close brace",
                    self.lexer.position().column_end
                )));
            }
        } else if self.expect(&[Kind::CloseBrace]).is_ok() {
            return Err(MatcherError(format!(
                "0:{}: }}: expected opening brace",
                self.lexer.position().column_end
            )));
        }
        Ok(State::Eof)
    }

    fn matcher(&mut self) -> Result<State, MatcherError> {
        let ctx = |e: Fail, what: &str| MatcherError(format!("{e}: {what}"));
        let t = self
            .expect(&[Kind::Quoted, Kind::Unquoted])
            .map_err(|e| ctx(e, "expected label name"))?;
        let name = t.unquote()?;
        let t = self
            .expect(&[
                Kind::Equals,
                Kind::NotEquals,
                Kind::Matches,
                Kind::NotMatches,
            ])
            .map_err(|e| ctx(e, "expected an operator such as '=', '!=', '=~' or '!~'"))?;
        let match_type = match t.kind {
            Kind::NotEquals => MatchType::NotEqual,
            Kind::Matches => MatchType::Regexp,
            Kind::NotMatches => MatchType::NotRegexp,
            _ => MatchType::Equal,
        };
        let t = self
            .expect(&[Kind::Unquoted, Kind::Quoted])
            .map_err(|e| ctx(e, "expected label value"))?;
        let value = t.unquote()?;
        let m = Matcher::new(&name, &value, match_type)
            .map_err(|e| MatcherError(format!("failed to create matcher: {e}")))?;
        self.matchers.push(m);
        Ok(State::EndOfMatcher)
    }

    fn end_of_matcher(&mut self) -> Result<State, MatcherError> {
        match self.expect_peek(&[Kind::Comma, Kind::CloseBrace]) {
            Err(Fail::Eof) => Ok(State::CloseBrace),
            Err(e) => Err(MatcherError(format!(
                "{e}: expected a comma or close brace"
            ))),
            Ok(t) if t.kind == Kind::Comma => Ok(State::Comma),
            Ok(_) => Ok(State::CloseBrace),
        }
    }

    fn comma(&mut self) -> Result<State, MatcherError> {
        self.expect(&[Kind::Comma])
            .map_err(|e| MatcherError(format!("{e}: expected a comma")))?;
        match self.expect_peek(&[Kind::CloseBrace, Kind::Unquoted, Kind::Quoted]) {
            Err(Fail::Eof) => Ok(State::CloseBrace),
            Err(e) => Err(MatcherError(format!(
                "{e}: expected a matcher or close brace after comma"
            ))),
            Ok(t) if t.kind == Kind::CloseBrace => Ok(State::CloseBrace),
            Ok(_) => Ok(State::Matcher),
        }
    }

    fn eof(&mut self) -> Result<(), MatcherError> {
        let t = self
            .lexer
            .scan()
            .map_err(|e| MatcherError(format!("{e}: expected end of input")))?;
        if t.kind != Kind::Eof {
            return Err(MatcherError(format!(
                "{}:{}: {}: expected end of input",
                t.pos.column_start, t.pos.column_end, t.value
            )));
        }
        Ok(())
    }
}

/// Parses zero or more matchers.
pub fn parse_matchers(input: &str) -> Result<Vec<Matcher>, MatcherError> {
    let mut p = Parser {
        lexer: Lexer::new(input),
        has_open_brace: false,
        matchers: Vec::new(),
    };
    p.run()?;
    Ok(p.matchers)
}

/// Parses exactly one matcher.
pub fn parse_matcher(input: &str) -> Result<Matcher, MatcherError> {
    let mut ms = parse_matchers(input)?;
    match ms.len() {
        1 => Ok(ms.remove(0)),
        0 => Err(MatcherError("no matchers".to_string())),
        n => Err(MatcherError(format!("expected 1 matcher, found {n}"))),
    }
}

/// Go's `strconv.Unquote` for a double-quoted literal, requiring valid UTF-8 after
/// byte escapes are applied. `None` when Go would fail.
pub(super) fn go_unquote(s: &str) -> Option<String> {
    let body = s.strip_prefix('"')?.strip_suffix('"')?;
    if body.contains('\n') {
        return None;
    }
    let mut out: Vec<u8> = Vec::with_capacity(body.len());
    let mut chars = body.chars();
    let hex = |chars: &mut std::str::Chars<'_>, n: usize| -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            v = v * 16 + chars.next()?.to_digit(16)?;
        }
        Some(v)
    };
    while let Some(c) = chars.next() {
        if c == '"' {
            return None;
        }
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let e = chars.next()?;
        let mut push_char = |ch: char| {
            let mut buf = [0u8; 4];
            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
        };
        match e {
            'a' => push_char('\x07'),
            'b' => push_char('\x08'),
            'f' => push_char('\x0c'),
            'n' => push_char('\n'),
            'r' => push_char('\r'),
            't' => push_char('\t'),
            'v' => push_char('\x0b'),
            '\\' => push_char('\\'),
            '"' => push_char('"'),
            'x' => {
                let v = hex(&mut chars, 2)?;
                out.push(u8::try_from(v).ok()?);
            }
            'u' => push_char(char::from_u32(hex(&mut chars, 4)?)?),
            'U' => push_char(char::from_u32(hex(&mut chars, 8)?)?),
            '0'..='7' => {
                let mut v = e.to_digit(8)?;
                for _ in 0..2 {
                    v = v * 8 + chars.next()?.to_digit(8)?;
                }
                out.push(u8::try_from(v).ok()?);
            }
            _ => return None,
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use MatchType::*;

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

    #[test]
    fn single_matchers() {
        assert_eq!(ok("foo=bar"), vec![m("foo", Equal, "bar")]);
        assert_eq!(ok("foo!=bar"), vec![m("foo", NotEqual, "bar")]);
        assert_eq!(ok("foo=~bar"), vec![m("foo", Regexp, "bar")]);
        assert_eq!(ok("foo!~bar"), vec![m("foo", NotRegexp, "bar")]);
        assert_eq!(ok(r#"foo="bar""#), vec![m("foo", Equal, "bar")]);
        assert_eq!(ok(r#""foo"="bar""#), vec![m("foo", Equal, "bar")]);
        assert_eq!(ok(" foo \t= \n bar "), vec![m("foo", Equal, "bar")]);
        assert_eq!(ok(r#"foo="""#), vec![m("foo", Equal, "")]);
        assert_eq!(ok(r#"""="""#), vec![m("", Equal, "")]);
    }

    #[test]
    fn utf8_names_and_values() {
        assert_eq!(ok("foo🙂=bar"), vec![m("foo🙂", Equal, "bar")]);
        assert_eq!(ok("fóo=bär"), vec![m("fóo", Equal, "bär")]);
        assert_eq!(
            ok(r#""foo bar"="baz qux""#),
            vec![m("foo bar", Equal, "baz qux")]
        );
        assert_eq!(ok(r#""a=~b{c}"!~"x""#), vec![m("a=~b{c}", NotRegexp, "x")]);
        assert_eq!(ok("1abc=:x:"), vec![m("1abc", Equal, ":x:")]);
        assert_eq!(ok("foo=ba.*"), vec![m("foo", Equal, "ba.*")]);
    }

    #[test]
    fn go_escapes_in_quotes() {
        assert_eq!(
            ok(r#"foo="a\"b\\c\nd\te""#),
            vec![m("foo", Equal, "a\"b\\c\nd\te")]
        );
        assert_eq!(
            ok(r#"foo="\x41\101\u00e9\U0001F642""#),
            vec![m("foo", Equal, "AAé🙂")]
        );
        assert_eq!(ok(r#"foo="\xf0\x9f\x99\x82""#), vec![m("foo", Equal, "🙂")]);
        assert_eq!(ok(r#"foo=~"\\d+""#), vec![m("foo", Regexp, "\\d+")]);
        assert_eq!(err(r#"foo="\d""#), r#"4:8: "\d": invalid input"#);
        assert_eq!(err(r#"foo="\xff""#), r#"4:10: "\xff": invalid input"#);
        assert_eq!(err(r#"foo="\'""#), r#"4:8: "\'": invalid input"#);
        assert_eq!(err(r#"foo="\ud800""#), r#"4:12: "\ud800": invalid input"#);
        assert_eq!(err(r#"foo="\400""#), r#"4:10: "\400": invalid input"#);
        assert_eq!(err("foo=\"a\nb\""), "4:9: \"a\nb\": invalid input");
        assert_eq!(err(r#""\q"=b"#), r#"0:4: "\q": invalid input"#);
    }

    #[test]
    fn lists_and_braces() {
        let two = vec![m("foo", Equal, "bar"), m("bar", Equal, "baz")];
        assert_eq!(ok("{foo=bar,bar=baz}"), two);
        assert_eq!(ok("foo=bar,bar=baz"), two);
        assert_eq!(ok("foo=bar, bar=baz,"), two);
        assert_eq!(ok("{ foo=bar , bar=baz , }"), two);
        assert_eq!(ok(""), vec![]);
        assert_eq!(ok("{}"), vec![]);
        assert_eq!(ok(" { } "), vec![]);
        assert_eq!(ok(r#"foo="a,b""#), vec![m("foo", Equal, "a,b")]);
    }

    #[test]
    fn brace_errors() {
        assert_eq!(err("{"), "0:1: end of input: expected close brace");
        assert_eq!(err("{foo=bar"), "0:8: end of input: expected close brace");
        assert_eq!(err("{foo=bar,"), "0:9: end of input: expected close brace");
        assert_eq!(err("}"), "0:1: }: expected opening brace");
        assert_eq!(err("foo=bar}"), "0:8: }: expected opening brace");
        assert_eq!(err("foo=bar,}"), "0:9: }: expected opening brace");
        assert_eq!(err("{foo=bar}}"), "9:10: }: expected end of input");
        assert_eq!(err("{foo=bar}x"), "9:10: x: expected end of input");
        assert_eq!(err("{{foo=bar}"), "1:2: unexpected {: expected label name");
    }

    #[test]
    fn matcher_errors() {
        assert_eq!(
            err("foo"),
            "end of input: expected an operator such as '=', '!=', '=~' or '!~'"
        );
        assert_eq!(err("foo="), "end of input: expected label value");
        assert_eq!(err("=bar"), "0:1: unexpected =: expected label name");
        assert_eq!(
            err("foo=bar,,"),
            "8:9: unexpected ,: expected a matcher or close brace after comma"
        );
        assert_eq!(
            err("foo=bar baz"),
            "8:11: unexpected baz: expected a comma or close brace"
        );
        assert_eq!(
            err("foo bar=baz"),
            "4:7: unexpected bar: expected an operator such as '=', '!=', '=~' or '!~'"
        );
        assert_eq!(err("foo==bar"), "4:5: unexpected =: expected label value");
        assert_eq!(err("foo=~=bar"), "5:6: unexpected =: expected label value");
    }

    #[test]
    fn lexer_errors() {
        assert_eq!(
            err("foo!bar"),
            "3:4: !: expected one of '=~': expected an operator such as '=', '!=', '=~' or '!~'"
        );
        assert_eq!(
            err("foo!"),
            "3:4: unexpected end of input, expected one of '=~': expected an operator such as '=', '!=', '=~' or '!~'"
        );
        assert_eq!(
            err("foo=~bar~"),
            "8:9: ~: invalid input: expected a comma or close brace"
        );
        assert_eq!(
            err("foo=\\bar"),
            "4:5: \\: invalid input: expected label value"
        );
        assert_eq!(
            err("foo='bar'"),
            "4:5: ': invalid input: expected label value"
        );
        assert_eq!(
            err("foo=`bar`"),
            "4:5: `: invalid input: expected label value"
        );
        assert_eq!(
            err(r#"foo="bar"#),
            r#"4:8: "bar: missing end ": expected label value"#
        );
        assert_eq!(
            err(r#"foo="bar\""#),
            r#"4:10: "bar\": missing end ": expected label value"#
        );
        assert_eq!(err("~"), "0:1: ~: invalid input");
        // Columns count runes, not bytes.
        assert_eq!(
            err("🙂🙂=a~"),
            "4:5: ~: invalid input: expected a comma or close brace"
        );
    }

    #[test]
    fn regex_errors() {
        assert_eq!(
            err("foo=~(a"),
            "failed to create matcher: error parsing regexp: missing closing ): `^(?:(a)$`"
        );
    }

    #[test]
    fn single_matcher() {
        assert_eq!(parse_matcher("a=b"), Ok(m("a", Equal, "b")));
        assert_eq!(
            parse_matcher("").map_err(|e| e.0),
            Err("no matchers".to_string())
        );
        assert_eq!(
            parse_matcher("a=b,c=d").map_err(|e| e.0),
            Err("expected 1 matcher, found 2".to_string())
        );
    }
}
