//! Tokenizer for Go's text/template syntax.
//!
//! The token stream mirrors Go's lexer item for item, so the parser can give
//! the same error messages (including which token it choked on).

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A lexing error; the token text is the message.
    Error,
    /// `true` or `false`.
    Bool,
    /// A printable ASCII character that has no other meaning (such as `,`).
    Char,
    /// A character constant such as `'a'`.
    CharConstant,
    /// `=`.
    Assign,
    /// `:=`.
    Declare,
    /// End of input.
    Eof,
    /// `.Name`.
    Field,
    /// A function name.
    Identifier,
    /// `{{` (trim marker already consumed).
    LeftDelim,
    /// `(`.
    LeftParen,
    /// A number literal.
    Number,
    /// `|`.
    Pipe,
    /// A raw string literal including its backquotes.
    RawString,
    /// `}}` (trim marker already consumed).
    RightDelim,
    /// `)`.
    RightParen,
    /// A run of white space inside an action.
    Space,
    /// A quoted string literal including its quotes.
    String,
    /// Text outside actions.
    Text,
    /// `$` or `$name`.
    Variable,
    /// A comment (only its position matters).
    Comment,
    // Keywords.
    /// `block`.
    Block,
    /// `break`.
    Break,
    /// `continue`.
    Continue,
    /// `.` on its own.
    Dot,
    /// `define`.
    Define,
    /// `else`.
    Else,
    /// `end`.
    End,
    /// `if`.
    If,
    /// `nil`.
    Nil,
    /// `range`.
    Range,
    /// `template`.
    Template,
    /// `with`.
    With,
}

impl Kind {
    fn is_keyword(self) -> bool {
        matches!(
            self,
            Kind::Block
                | Kind::Break
                | Kind::Continue
                | Kind::Dot
                | Kind::Define
                | Kind::Else
                | Kind::End
                | Kind::If
                | Kind::Nil
                | Kind::Range
                | Kind::Template
                | Kind::With
        )
    }
}

/// One token: its kind, text, byte offset and line.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub kind: Kind,
    pub pos: usize,
    pub line: usize,
    pub val: String,
}

impl std::fmt::Display for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            Kind::Eof => f.write_str("EOF"),
            Kind::Error => f.write_str(&self.val),
            k if k.is_keyword() => write!(f, "<{}>", self.val),
            _ => {
                if self.val.chars().count() > 10 {
                    let head: String = self.val.chars().take(10).collect();
                    write!(f, "{}...", crate::template::format::go_quote(&head))
                } else {
                    f.write_str(&crate::template::format::go_quote(&self.val))
                }
            }
        }
    }
}

const LEFT: &str = "{{";
const RIGHT: &str = "}}";
const SPACE_CHARS: &[char] = &[' ', '\t', '\r', '\n'];

fn is_space(c: char) -> bool {
    SPACE_CHARS.contains(&c)
}

pub(crate) fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphabetic() || c.is_numeric()
}

fn has_left_trim(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0] == b'-' && is_space(b[1] as char)
}

fn has_right_trim(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && is_space(b[0] as char) && b[1] == b'-'
}

struct Lexer<'a> {
    input: &'a str,
    start: usize,
    pos: usize,
    line: usize,
    start_line: usize,
    paren_depth: i32,
    tokens: Vec<Token>,
}

/// Splits `input` into tokens. The last token is `Eof` or `Error`.
pub(crate) fn lex(input: &str) -> Vec<Token> {
    let mut l = Lexer {
        input,
        start: 0,
        pos: 0,
        line: 1,
        start_line: 1,
        paren_depth: 0,
        tokens: Vec::new(),
    };
    l.run();
    l.tokens
}

impl<'a> Lexer<'a> {
    fn rest(&self) -> &'a str {
        &self.input[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn backup(&mut self, c: Option<char>) {
        if let Some(c) = c {
            self.pos -= c.len_utf8();
            if c == '\n' {
                self.line -= 1;
            }
        }
    }

    fn emit(&mut self, kind: Kind) {
        let val = self.input[self.start..self.pos].to_string();
        self.tokens.push(Token {
            kind,
            pos: self.start,
            line: self.start_line,
            val,
        });
        self.start = self.pos;
        self.start_line = self.line;
    }

    fn ignore(&mut self) {
        self.line += self.input[self.start..self.pos].matches('\n').count();
        self.start = self.pos;
        self.start_line = self.line;
    }

    fn error(&mut self, msg: String) {
        self.tokens.push(Token {
            kind: Kind::Error,
            pos: self.start,
            line: self.start_line,
            val: msg,
        });
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.peek() {
            Some(c) if valid.contains(c) => {
                self.next();
                true
            }
            _ => false,
        }
    }

    fn accept_run(&mut self, valid: &str) {
        while self.accept(valid) {}
    }

    fn at_right_delim(&self) -> (bool, bool) {
        let rest = self.rest();
        if has_right_trim(rest) && rest[2..].starts_with(RIGHT) {
            return (true, true);
        }
        (rest.starts_with(RIGHT), false)
    }

    fn at_terminator(&self) -> bool {
        match self.peek() {
            None => true,
            Some(c) if is_space(c) => true,
            Some('.' | ',' | '|' | ':' | ')' | '(') => true,
            _ => self.rest().starts_with(RIGHT),
        }
    }

    fn run(&mut self) {
        // Each state returns false when lexing is over (EOF or error).
        while self.lex_text() {
            if !self.lex_left_delim() {
                return;
            }
        }
    }

    /// Lexes text up to the next `{{`; returns true if one follows.
    fn lex_text(&mut self) -> bool {
        if let Some(x) = self.rest().find(LEFT) {
            if x > 0 {
                self.pos += x;
                let delim_end = self.pos + LEFT.len();
                let mut trim = 0;
                if has_left_trim(&self.input[delim_end..]) {
                    let s = &self.input[self.start..self.pos];
                    trim = s.len() - s.trim_end_matches(SPACE_CHARS).len();
                }
                self.pos -= trim;
                self.line += self.input[self.start..self.pos].matches('\n').count();
                let has_text = self.pos > self.start;
                if has_text {
                    self.emit(Kind::Text);
                }
                self.pos += trim;
                self.ignore();
            }
            return true;
        }
        self.pos = self.input.len();
        if self.pos > self.start {
            self.line += self.input[self.start..self.pos].matches('\n').count();
            self.emit(Kind::Text);
        }
        self.emit(Kind::Eof);
        false
    }

    /// Lexes from `{{` through the matching `}}`; returns false on error.
    fn lex_left_delim(&mut self) -> bool {
        self.pos += LEFT.len();
        let trim = has_left_trim(self.rest());
        let after = if trim { 2 } else { 0 };
        if self.input[self.pos + after..].starts_with("/*") {
            self.pos += after;
            self.ignore();
            return self.lex_comment();
        }
        self.emit(Kind::LeftDelim);
        self.pos += after;
        self.ignore();
        self.paren_depth = 0;
        self.lex_inside_action()
    }

    fn lex_comment(&mut self) -> bool {
        self.pos += 2;
        let Some(x) = self.rest().find("*/") else {
            self.error("unclosed comment".into());
            return false;
        };
        self.pos += x + 2;
        let (delim, trim) = self.at_right_delim();
        if !delim {
            self.error("comment ends before closing delimiter".into());
            return false;
        }
        self.line += self.input[self.start..self.pos].matches('\n').count();
        self.tokens.push(Token {
            kind: Kind::Comment,
            pos: self.start,
            line: self.start_line,
            val: String::new(),
        });
        self.start = self.pos;
        self.start_line = self.line;
        if trim {
            self.pos += 2;
        }
        self.pos += RIGHT.len();
        if trim {
            let rest = self.rest();
            self.pos += rest.len() - rest.trim_start_matches(SPACE_CHARS).len();
        }
        self.ignore();
        true
    }

    fn lex_right_delim(&mut self) {
        let (_, trim) = self.at_right_delim();
        if trim {
            self.pos += 2;
            self.ignore();
        }
        self.pos += RIGHT.len();
        self.emit(Kind::RightDelim);
        if trim {
            let rest = self.rest();
            self.pos += rest.len() - rest.trim_start_matches(SPACE_CHARS).len();
            self.ignore();
        }
    }

    fn lex_inside_action(&mut self) -> bool {
        loop {
            let (delim, _) = self.at_right_delim();
            if delim {
                if self.paren_depth == 0 {
                    self.lex_right_delim();
                    return true;
                }
                self.error("unclosed left paren".into());
                return false;
            }
            let Some(c) = self.next() else {
                self.error("unclosed action".into());
                return false;
            };
            match c {
                c if is_space(c) => {
                    self.backup(Some(c));
                    if self.lex_space() {
                        self.lex_right_delim();
                        return true;
                    }
                }
                '=' => self.emit(Kind::Assign),
                ':' => {
                    if self.next() != Some('=') {
                        self.error("expected :=".into());
                        return false;
                    }
                    self.emit(Kind::Declare);
                }
                '|' => self.emit(Kind::Pipe),
                '"' => {
                    if !self.lex_quote() {
                        return false;
                    }
                }
                '`' => {
                    if !self.lex_raw_quote() {
                        return false;
                    }
                }
                '$' => {
                    if !self.lex_field_or_variable(Kind::Variable) {
                        return false;
                    }
                }
                '\'' => {
                    if !self.lex_char() {
                        return false;
                    }
                }
                '.' if !matches!(self.peek(), Some('0'..='9')) => {
                    if !self.lex_field_or_variable(Kind::Field) {
                        return false;
                    }
                }
                '.' | '+' | '-' | '0'..='9' => {
                    self.backup(Some(c));
                    if !self.lex_number() {
                        return false;
                    }
                }
                c if is_alnum(c) => {
                    self.backup(Some(c));
                    if !self.lex_identifier() {
                        return false;
                    }
                }
                '(' => {
                    self.paren_depth += 1;
                    self.emit(Kind::LeftParen);
                }
                ')' => {
                    self.paren_depth -= 1;
                    if self.paren_depth < 0 {
                        self.error("unexpected right paren".into());
                        return false;
                    }
                    self.emit(Kind::RightParen);
                }
                c if c.is_ascii() && !c.is_ascii_control() => self.emit(Kind::Char),
                c => {
                    self.error(format!(
                        "unrecognized character in action: {}",
                        crate::template::format::go_unicode(c)
                    ));
                    return false;
                }
            }
        }
    }

    /// Lexes a run of spaces; returns true when it ends at ` -}}` with a
    /// single space (then the caller lexes the right delimiter).
    fn lex_space(&mut self) -> bool {
        let mut n = 0;
        while let Some(c) = self.peek() {
            if !is_space(c) {
                break;
            }
            self.next();
            n += 1;
        }
        let before = &self.input[self.pos - 1..];
        if has_right_trim(before) && before[2..].starts_with(RIGHT) {
            // Back up before the last space.
            let c = self.input[..self.pos].chars().next_back();
            self.backup(c);
            if n == 1 {
                return true;
            }
        }
        self.emit(Kind::Space);
        false
    }

    fn lex_identifier(&mut self) -> bool {
        while let Some(c) = self.peek() {
            if !is_alnum(c) {
                break;
            }
            self.next();
        }
        if !self.at_terminator() {
            let c = self.peek().unwrap_or('\0');
            self.error(format!(
                "bad character {}",
                crate::template::format::go_unicode(c)
            ));
            return false;
        }
        let kind = match &self.input[self.start..self.pos] {
            "block" => Kind::Block,
            "break" => Kind::Break,
            "continue" => Kind::Continue,
            "define" => Kind::Define,
            "else" => Kind::Else,
            "end" => Kind::End,
            "if" => Kind::If,
            "nil" => Kind::Nil,
            "range" => Kind::Range,
            "template" => Kind::Template,
            "with" => Kind::With,
            "true" | "false" => Kind::Bool,
            _ => Kind::Identifier,
        };
        self.emit(kind);
        true
    }

    fn lex_field_or_variable(&mut self, kind: Kind) -> bool {
        if self.at_terminator() {
            self.emit(if kind == Kind::Variable {
                Kind::Variable
            } else {
                Kind::Dot
            });
            return true;
        }
        while let Some(c) = self.peek() {
            if !is_alnum(c) {
                break;
            }
            self.next();
        }
        if !self.at_terminator() {
            let c = self.peek().unwrap_or('\0');
            self.error(format!(
                "bad character {}",
                crate::template::format::go_unicode(c)
            ));
            return false;
        }
        self.emit(kind);
        true
    }

    fn lex_char(&mut self) -> bool {
        loop {
            match self.next() {
                Some('\\') => match self.next() {
                    Some('\n') | None => {
                        self.error("unterminated character constant".into());
                        return false;
                    }
                    _ => {}
                },
                Some('\n') | None => {
                    self.error("unterminated character constant".into());
                    return false;
                }
                Some('\'') => break,
                _ => {}
            }
        }
        self.emit(Kind::CharConstant);
        true
    }

    fn scan_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if self.peek().is_some_and(is_alnum) {
            self.next();
            return false;
        }
        true
    }

    fn lex_number(&mut self) -> bool {
        if !self.scan_number() {
            let s = self.input[self.start..self.pos].to_string();
            self.error(format!(
                "bad number syntax: {}",
                crate::template::format::go_quote(&s)
            ));
            return false;
        }
        if matches!(self.peek(), Some('+' | '-')) {
            // Complex constants are not supported by this engine's values.
            let _ = self.scan_number();
            let s = self.input[self.start..self.pos].to_string();
            self.error(format!(
                "bad number syntax: {}",
                crate::template::format::go_quote(&s)
            ));
            return false;
        }
        self.emit(Kind::Number);
        true
    }

    fn lex_quote(&mut self) -> bool {
        loop {
            match self.next() {
                Some('\\') => match self.next() {
                    Some('\n') | None => {
                        self.error("unterminated quoted string".into());
                        return false;
                    }
                    _ => {}
                },
                Some('\n') | None => {
                    self.error("unterminated quoted string".into());
                    return false;
                }
                Some('"') => break,
                _ => {}
            }
        }
        self.emit(Kind::String);
        true
    }

    fn lex_raw_quote(&mut self) -> bool {
        loop {
            match self.next() {
                None => {
                    self.error("unterminated raw quoted string".into());
                    return false;
                }
                Some('`') => break,
                _ => {}
            }
        }
        self.emit(Kind::RawString);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<(Kind, String)> {
        lex(s).into_iter().map(|t| (t.kind, t.val)).collect()
    }

    #[test]
    fn text_and_action() {
        assert_eq!(
            kinds("a {{ .X }} b"),
            vec![
                (Kind::Text, "a ".into()),
                (Kind::LeftDelim, "{{".into()),
                (Kind::Space, " ".into()),
                (Kind::Field, ".X".into()),
                (Kind::Space, " ".into()),
                (Kind::RightDelim, "}}".into()),
                (Kind::Text, " b".into()),
                (Kind::Eof, "".into()),
            ]
        );
    }

    #[test]
    fn trim_markers_remove_surrounding_space() {
        let toks = kinds("a \n {{- 3 -}} \n b");
        assert_eq!(toks[0], (Kind::Text, "a".into()));
        assert_eq!(toks[2], (Kind::Number, "3".into()));
        assert_eq!(toks[4], (Kind::Text, "b".into()));
        // `{{-3}}` is the number -3, not a trim marker.
        assert_eq!(kinds("{{-3}}")[1], (Kind::Number, "-3".into()));
    }

    #[test]
    fn comments_and_errors() {
        let toks = kinds("x {{- /* c */ -}} y");
        assert_eq!(toks[0], (Kind::Text, "x".into()));
        assert_eq!(toks[1].0, Kind::Comment);
        assert_eq!(toks[2], (Kind::Text, "y".into()));
        assert_eq!(kinds("{{/* x").last().unwrap().1, "unclosed comment");
        assert_eq!(
            kinds("{{/* x */ }}").last().unwrap().1,
            "comment ends before closing delimiter"
        );
        assert_eq!(kinds("{{ .x").last().unwrap().1, "unclosed action");
        assert_eq!(
            kinds("{{ \"x }}").last().unwrap().1,
            "unterminated quoted string"
        );
        assert_eq!(
            kinds("{{ 3x }}").last().unwrap().1,
            "bad number syntax: \"3x\""
        );
        assert_eq!(kinds("{{ ) }}").last().unwrap().1, "unexpected right paren");
        assert_eq!(kinds("{{ ( }}").last().unwrap().1, "unclosed left paren");
        assert_eq!(kinds("{{ a : }}").last().unwrap().1, "expected :=");
    }

    #[test]
    fn variables_fields_and_keywords() {
        let toks = kinds("{{$x := .A.B}}{{range $i, $v := .}}{{end}}");
        assert_eq!(toks[1], (Kind::Variable, "$x".into()));
        assert_eq!(toks[3], (Kind::Declare, ":=".into()));
        assert_eq!(toks[5], (Kind::Field, ".A".into()));
        assert_eq!(toks[6], (Kind::Field, ".B".into()));
        assert!(toks.iter().any(|t| t.0 == Kind::Range));
        assert!(toks.iter().any(|t| t.0 == Kind::Char && t.1 == ","));
        assert!(toks.iter().any(|t| t.0 == Kind::Dot));
    }
}
