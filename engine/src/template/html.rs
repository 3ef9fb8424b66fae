//! Contextual auto-escaping for HTML output, after Go's html/template.
//!
//! Go rewrites the template's pipelines once, ahead of execution; this
//! engine instead follows the HTML context while it writes output, and
//! escapes each printed value for the context it lands in. For templates
//! whose branches end in the same context (which Go requires anyway) the
//! result is the same.
//!
//! Supported contexts: HTML text, RCDATA (`<textarea>`, `<title>`), tag and
//! attribute names, attribute values (quoted and unquoted) of plain, URL
//! (`href`, `src`, `*url*`, ...), JavaScript (`on*`) and CSS (`style`)
//! attributes, `<script>` (values become JSON; string literals are
//! escaped) and `<style>` bodies, and HTML comments (removed from the
//! output, as Go does). `safeHtml` output is not escaped in text and has its
//! tags stripped in attributes; `safeUrl` output skips the URL scheme check.
//! Not supported: JS regular-expression literals, CSS strings and `url()`,
//! `srcset` lists (treated as URLs), and Go's parse-time errors for
//! ambiguous contexts.

use std::fmt::Write as _;

use super::format;
use super::funcs;
use super::value::Value;

const FAILSAFE: &str = "ZgotmplZ";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AttrKind {
    Plain,
    Url,
    Js,
    Css,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delim {
    Double,
    Single,
    Space,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UrlPart {
    None,
    PreQuery,
    QueryOrFrag,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Js {
    Code,
    Dq,
    Sq,
    Bq,
    LineComment,
    BlockComment,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Element {
    None,
    Script,
    Style,
    Textarea,
    Title,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Text,
    Comment,
    Tag,
    AttrName,
    AfterName,
    BeforeValue,
    Attr,
    Rcdata,
    Script,
    Style,
}

/// The HTML context at the current output position.
#[derive(Debug, Clone)]
pub(crate) struct Escaper {
    state: State,
    element: Element,
    attr_name: String,
    attr: AttrKind,
    delim: Delim,
    url: UrlPart,
    js: Js,
    /// Text withheld because it may start a comment or end tag (`<`, `<!-`).
    pending: String,
}

impl Default for Escaper {
    fn default() -> Self {
        Escaper {
            state: State::Text,
            element: Element::None,
            attr_name: String::new(),
            attr: AttrKind::Plain,
            delim: Delim::Double,
            url: UrlPart::None,
            js: Js::Code,
            pending: String::new(),
        }
    }
}

fn attr_kind(name: &str) -> AttrKind {
    let name = name.to_ascii_lowercase();
    let mut n = name.as_str();
    if let Some(r) = n.strip_prefix("data-") {
        n = r;
    } else if let Some((prefix, short)) = n.split_once(':') {
        if prefix == "xmlns" {
            return AttrKind::Url;
        }
        n = short;
    }
    match n {
        "action" | "archive" | "background" | "cite" | "classid" | "codebase" | "data"
        | "formaction" | "href" | "icon" | "longdesc" | "manifest" | "poster" | "profile"
        | "src" | "usemap" | "xmlns" | "srcset" => AttrKind::Url,
        "style" => AttrKind::Css,
        n if n.starts_with("on") => AttrKind::Js,
        n if n.contains("src") || n.contains("uri") || n.contains("url") => AttrKind::Url,
        _ => AttrKind::Plain,
    }
}

fn element_of(name: &str) -> Element {
    match name.to_ascii_lowercase().as_str() {
        "script" => Element::Script,
        "style" => Element::Style,
        "textarea" => Element::Textarea,
        "title" => Element::Title,
        _ => Element::None,
    }
}

fn element_name(e: Element) -> &'static str {
    match e {
        Element::Script => "script",
        Element::Style => "style",
        Element::Textarea => "textarea",
        Element::Title => "title",
        Element::None => "",
    }
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c')
}

impl Escaper {
    /// Writes template text, tracking the context and dropping HTML comments.
    pub(crate) fn text(&mut self, out: &mut String, text: &str) {
        if self.pending.is_empty() {
            self.scan(out, text);
        } else {
            let mut buf = std::mem::take(&mut self.pending);
            buf.push_str(text);
            self.scan(out, &buf);
        }
    }

    /// Flushes withheld text at the end of the output.
    pub(crate) fn finish(&mut self, out: &mut String) {
        self.flush_pending(out);
    }

    /// Writes text withheld for lookahead once no more text follows it: a `<` that
    /// did not turn out to start a tag or comment is text, escaped in text and
    /// RCDATA like Go does; a partial comment is dropped.
    fn flush_pending(&mut self, out: &mut String) {
        let p = std::mem::take(&mut self.pending);
        match self.state {
            State::Comment => {}
            State::Text | State::Rcdata => match p.strip_prefix('<') {
                Some(rest) => {
                    out.push_str("&lt;");
                    out.push_str(rest);
                }
                None => out.push_str(&p),
            },
            _ => out.push_str(&p),
        }
    }

    fn end_tag_state(&mut self) {
        self.state = match self.element {
            Element::Script => State::Script,
            Element::Style => State::Style,
            Element::Textarea | Element::Title => State::Rcdata,
            Element::None => State::Text,
        };
        self.js = Js::Code;
    }

    fn scan(&mut self, out: &mut String, s: &str) {
        let mut i = 0;
        let b = s.as_bytes();
        while i < s.len() {
            let rest = &s[i..];
            let Some(c) = rest.chars().next() else { break };
            let clen = c.len_utf8();
            match self.state {
                State::Text => {
                    if c == '<' {
                        // Need enough lookahead to classify.
                        if rest.len() < 4
                            && ("<!--".starts_with(rest) || rest == "<" || rest == "</")
                        {
                            self.pending.push_str(rest);
                            return;
                        }
                        if rest.starts_with("<!--") {
                            self.state = State::Comment;
                            i += 4;
                            continue;
                        }
                        let after = &rest[1..];
                        let (is_end, name_start) = match after.strip_prefix('/') {
                            Some(r) => (true, r),
                            None => (false, after),
                        };
                        if name_start.starts_with(|ch: char| ch.is_ascii_alphabetic()) {
                            let n = name_start
                                .find(|ch: char| {
                                    !(ch.is_ascii_alphanumeric() || ch == '-' || ch == ':')
                                })
                                .unwrap_or(name_start.len());
                            let name = &name_start[..n];
                            self.element = if is_end {
                                Element::None
                            } else {
                                element_of(name)
                            };
                            let consumed = 1 + usize::from(is_end) + n;
                            out.push_str(&rest[..consumed]);
                            self.state = State::Tag;
                            i += consumed;
                            continue;
                        }
                        // Like Go's html/template, a `<` in text that starts no tag,
                        // comment or doctype is escaped.
                        let doctype =
                            b.len() >= i + 9 && b[i..i + 9].eq_ignore_ascii_case(b"<!DOCTYPE");
                        if !doctype {
                            out.push_str("&lt;");
                            i += clen;
                            continue;
                        }
                    }
                    out.push(c);
                }
                State::Comment => {
                    if let Some(p) = rest.find("-->") {
                        i += p + 3;
                        self.state = State::Text;
                        continue;
                    }
                    // Keep a possible partial terminator for the next chunk.
                    let keep = if rest.ends_with("--") {
                        2
                    } else if rest.ends_with('-') {
                        1
                    } else {
                        0
                    };
                    self.pending.push_str(&rest[rest.len() - keep..]);
                    return;
                }
                State::Tag => {
                    if c == '>' {
                        out.push(c);
                        self.end_tag_state();
                    } else if is_space(c) || c == '/' {
                        out.push(c);
                    } else {
                        self.state = State::AttrName;
                        self.attr_name.clear();
                        self.attr_name.push(c);
                        out.push(c);
                    }
                }
                State::AttrName => {
                    if c == '=' {
                        self.state = State::BeforeValue;
                    } else if c == '>' {
                        self.end_tag_state();
                    } else if is_space(c) {
                        self.state = State::AfterName;
                    } else if c == '/' {
                        self.state = State::Tag;
                    } else {
                        self.attr_name.push(c);
                    }
                    out.push(c);
                }
                State::AfterName => {
                    if c == '=' {
                        self.state = State::BeforeValue;
                    } else if c == '>' {
                        self.end_tag_state();
                    } else if !is_space(c) && c != '/' {
                        self.state = State::AttrName;
                        self.attr_name.clear();
                        self.attr_name.push(c);
                    }
                    out.push(c);
                }
                State::BeforeValue => {
                    if is_space(c) {
                        out.push(c);
                    } else if c == '>' {
                        out.push(c);
                        self.end_tag_state();
                    } else {
                        self.start_attr(match c {
                            '"' => Delim::Double,
                            '\'' => Delim::Single,
                            _ => Delim::Space,
                        });
                        if self.delim != Delim::Space {
                            out.push(c);
                        } else {
                            continue; // Reprocess as part of the value.
                        }
                    }
                }
                State::Attr => {
                    let end = match self.delim {
                        Delim::Double => c == '"',
                        Delim::Single => c == '\'',
                        Delim::Space => is_space(c) || c == '>',
                    };
                    if end {
                        if c == '>' {
                            out.push(c);
                            self.end_tag_state();
                        } else {
                            out.push(c);
                            self.state = State::Tag;
                        }
                    } else {
                        out.push(c);
                        match self.attr {
                            AttrKind::Url => {
                                if c == '?' || c == '#' {
                                    self.url = UrlPart::QueryOrFrag;
                                } else if self.url == UrlPart::None {
                                    self.url = UrlPart::PreQuery;
                                }
                            }
                            AttrKind::Js => self.js_char(rest),
                            _ => {}
                        }
                    }
                }
                State::Rcdata | State::Script | State::Style => {
                    let name = element_name(self.element);
                    if c == '<'
                        && rest.len() >= 2 + name.len()
                        && rest.as_bytes()[1] == b'/'
                        && rest[2..2 + name.len()].eq_ignore_ascii_case(name)
                    {
                        let consumed = 2 + name.len();
                        out.push_str(&rest[..consumed]);
                        self.element = Element::None;
                        self.state = State::Tag;
                        i += consumed;
                        continue;
                    }
                    if c == '<'
                        && rest.len() < 2 + name.len()
                        && format!("</{name}").starts_with(&rest.to_ascii_lowercase())
                    {
                        self.pending.push_str(rest);
                        return;
                    }
                    if self.state == State::Script {
                        self.js_char(rest);
                    }
                    if c == '<' && self.state == State::Rcdata {
                        // RCDATA text (`<title>`, `<textarea>`) escapes `<` in Go too.
                        out.push_str("&lt;");
                    } else {
                        out.push(c);
                    }
                }
            }
            i += clen;
        }
    }

    fn start_attr(&mut self, delim: Delim) {
        self.state = State::Attr;
        self.delim = delim;
        self.attr = attr_kind(&self.attr_name);
        self.url = UrlPart::None;
        self.js = Js::Code;
    }

    fn js_char(&mut self, rest: &str) {
        let c = rest.as_bytes()[0];
        self.js = match (self.js, c) {
            (Js::Code, b'"') => Js::Dq,
            (Js::Code, b'\'') => Js::Sq,
            (Js::Code, b'`') => Js::Bq,
            (Js::Code, b'/') if rest.starts_with("//") => Js::LineComment,
            (Js::Code, b'/') if rest.starts_with("/*") => Js::BlockComment,
            (Js::Dq, b'"') | (Js::Sq, b'\'') | (Js::Bq, b'`') => Js::Code,
            (Js::LineComment, b'\n') => Js::Code,
            (Js::BlockComment, b'/') => Js::BlockComment,
            (s, _) => s,
        };
        if self.js == Js::BlockComment && rest.starts_with("*/") {
            // The closing `/` is consumed next; treat the comment as ended.
            self.js = Js::Code;
        }
    }

    /// Writes a value escaped for the current context.
    #[cfg(test)]
    pub(crate) fn value(&mut self, out: &mut String, v: &Value) {
        self.value_with(out, v, Predefined::default());
    }

    /// Writes a value whose pipeline already ran Go's `html` or `urlquery`
    /// (which then stand in for the equivalent context escapers, as in Go).
    pub(crate) fn value_with(&mut self, out: &mut String, v: &Value, pre: Predefined) {
        if !self.pending.is_empty() {
            self.flush_pending(out);
        }
        let (s, kind) = stringify(v);
        match self.state {
            State::Text | State::Rcdata if pre.html => out.push_str(&s),
            State::Text => match kind {
                Content::Html => out.push_str(&s),
                _ => html_replace(out, &s, Table::Html),
            },
            State::Comment => {}
            State::Rcdata => html_replace(
                out,
                &s,
                if kind == Content::Html {
                    Table::HtmlNorm
                } else {
                    Table::Html
                },
            ),
            State::Tag | State::AttrName | State::AfterName => {
                let lower = s.to_ascii_lowercase();
                let ok = !lower.is_empty()
                    && attr_kind(&lower) == AttrKind::Plain
                    && lower
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                let name = if ok { lower } else { FAILSAFE.to_string() };
                out.push_str(&name);
                if self.state != State::AttrName {
                    self.attr_name.clear();
                }
                self.attr_name.push_str(&name);
                self.state = State::AttrName;
            }
            State::BeforeValue => {
                self.start_attr(Delim::Space);
                self.attr_value(out, v, &s, kind, pre);
            }
            State::Attr => self.attr_value(out, v, &s, kind, pre),
            State::Script => match self.js {
                Js::Code => out.push_str(&js_val(v)),
                Js::Dq | Js::Sq => js_str(out, &s, false),
                Js::Bq => js_str(out, &s, true),
                Js::LineComment | Js::BlockComment => {}
            },
            State::Style => out.push_str(&css_filter(&s)),
        }
    }

    fn attr_value(&mut self, out: &mut String, v: &Value, s: &str, kind: Content, pre: Predefined) {
        let mut kind = kind;
        let inner: String = match self.attr {
            AttrKind::Plain => s.to_string(),
            AttrKind::Url => {
                let mut t = String::new();
                match self.url {
                    _ if pre.urlquery && self.url != UrlPart::None => t.push_str(s),
                    UrlPart::None => {
                        if pre.urlquery && (kind == Content::Url || url_scheme_ok(s)) {
                            t.push_str(s);
                        } else if kind == Content::Url || url_scheme_ok(s) {
                            url_process(&mut t, s, true);
                        } else {
                            t.push_str("#ZgotmplZ");
                        }
                    }
                    UrlPart::PreQuery => url_process(&mut t, s, true),
                    UrlPart::QueryOrFrag => url_process(&mut t, s, kind == Content::Url),
                }
                kind = Content::Plain;
                t
            }
            AttrKind::Js => {
                let mut t = String::new();
                match self.js {
                    Js::Code => t = js_val(v),
                    Js::Dq | Js::Sq => js_str(&mut t, s, false),
                    Js::Bq => js_str(&mut t, s, true),
                    _ => {}
                }
                kind = Content::Plain;
                t
            }
            AttrKind::Css => {
                kind = Content::Plain;
                css_filter(s)
            }
        };
        if self.delim == Delim::Space {
            if inner.is_empty() {
                out.push_str(FAILSAFE);
            } else if kind == Content::Html {
                html_replace(out, &strip_tags(&inner), Table::NospaceNorm);
            } else {
                html_replace(out, &inner, Table::Nospace);
            }
        } else if pre.html {
            out.push_str(&inner);
        } else if kind == Content::Html {
            html_replace(out, &strip_tags(&inner), Table::HtmlNorm);
        } else {
            html_replace(out, &inner, Table::Html);
        }
    }
}

/// Go's predefined escapers found in an action's pipeline.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Predefined {
    /// The pipeline calls `html`.
    pub html: bool,
    /// The pipeline calls `urlquery`.
    pub urlquery: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Content {
    Plain,
    Html,
    Url,
}

fn stringify(v: &Value) -> (String, Content) {
    match v {
        Value::Nil => (String::new(), Content::Plain),
        Value::Html(s) => (s.to_string(), Content::Html),
        Value::Url(s) => (s.to_string(), Content::Url),
        Value::Str(s) => (s.to_string(), Content::Plain),
        v => {
            let mut s = String::new();
            format::print_value(&mut s, v);
            (s, Content::Plain)
        }
    }
}

#[derive(Clone, Copy)]
enum Table {
    Html,
    HtmlNorm,
    Nospace,
    NospaceNorm,
}

fn html_replace(out: &mut String, s: &str, table: Table) {
    let norm = matches!(table, Table::HtmlNorm | Table::NospaceNorm);
    let nospace = matches!(table, Table::Nospace | Table::NospaceNorm);
    for c in s.chars() {
        let r: Option<&str> = match c {
            '\0' => Some(if nospace { "&#xfffd;" } else { "\u{FFFD}" }),
            '"' => Some("&#34;"),
            '&' if !norm => Some("&amp;"),
            '\'' => Some("&#39;"),
            '+' => Some("&#43;"),
            '<' => Some("&lt;"),
            '>' => Some("&gt;"),
            '\t' if nospace => Some("&#9;"),
            '\n' if nospace => Some("&#10;"),
            '\x0b' if nospace => Some("&#11;"),
            '\x0c' if nospace => Some("&#12;"),
            '\r' if nospace => Some("&#13;"),
            ' ' if nospace => Some("&#32;"),
            '=' if nospace => Some("&#61;"),
            '`' if nospace => Some("&#96;"),
            _ => None,
        };
        match r {
            Some(r) => out.push_str(r),
            None => out.push(c),
        }
    }
}

fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match (in_tag, c) {
            (false, '<') => in_tag = true,
            (true, '>') => in_tag = false,
            (false, c) => out.push(c),
            _ => {}
        }
    }
    out
}

fn url_scheme_ok(s: &str) -> bool {
    match s.split_once(':') {
        Some((scheme, _)) if !scheme.contains('/') => {
            let l = scheme.to_ascii_lowercase();
            l == "http" || l == "https" || l == "mailto"
        }
        _ => true,
    }
}

/// Go's `urlProcessor`: percent-encodes what may not appear in a URL; with
/// `norm`, reserved characters and existing escapes are kept.
fn url_process(out: &mut String, s: &str, norm: bool) {
    for b in s.bytes() {
        let keep = match b {
            b'!' | b'#' | b'$' | b'&' | b'*' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?'
            | b'@' | b'[' | b']' | b'%' => norm,
            b'-' | b'.' | b'_' | b'~' => true,
            b if b.is_ascii_alphanumeric() => true,
            _ => false,
        };
        if keep {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02x}");
        }
    }
}

/// Go's `jsValEscaper`: the value as JSON, padded when it could merge with
/// neighbouring identifiers.
fn js_val(v: &Value) -> String {
    let v = match v {
        Value::Kv(_)
        | Value::Pairs(_)
        | Value::Time(_)
        | Value::Duration(_)
        | Value::Month(_)
        | Value::Weekday(_) => {
            let mut s = String::new();
            format::print_value(&mut s, v);
            Value::from(s)
        }
        v => v.clone(),
    };
    let mut b = String::new();
    if let Err(e) = funcs::to_json(&mut b, &v) {
        return format!(" /* {} */null ", e.replace("*/", "* /"));
    }
    if b.is_empty() {
        return " null ".into();
    }
    let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$');
    let b = b
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029");
    if ident(b.chars().next()) || ident(b.chars().last()) {
        format!(" {b} ")
    } else {
        b
    }
}

/// Go's `jsStrEscaper` (and the template-literal variant).
fn js_str(out: &mut String, s: &str, backquote: bool) {
    for c in s.chars() {
        match c {
            '\0' => out.push_str("\\u0000"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\x0b' => out.push_str("\\u000b"),
            '\x0c' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '"' => out.push_str("\\u0022"),
            '`' => out.push_str("\\u0060"),
            '&' => out.push_str("\\u0026"),
            '\'' => out.push_str("\\u0027"),
            '+' => out.push_str("\\u002b"),
            '/' => out.push_str("\\/"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '\\' => out.push_str("\\\\"),
            '$' if backquote => out.push_str("\\u0024"),
            '{' if backquote => out.push_str("\\u007b"),
            '}' if backquote => out.push_str("\\u007d"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// Go's `cssValueFilter`, simplified: plain values pass, anything that
/// could break out of a CSS value becomes `ZgotmplZ`.
fn css_filter(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    if s.chars().any(|c| {
        matches!(
            c,
            '\0' | '"'
                | '\''
                | '('
                | ')'
                | '/'
                | ';'
                | '@'
                | '['
                | '\\'
                | ']'
                | '`'
                | '{'
                | '}'
                | '<'
                | '>'
        )
    }) || lower.contains("expression")
        || lower.contains("mozbinding")
    {
        return FAILSAFE.into();
    }
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(parts: &[Result<&str, Value>]) -> String {
        let mut e = Escaper::default();
        let mut out = String::new();
        for p in parts {
            match p {
                Ok(t) => e.text(&mut out, t),
                Err(v) => e.value(&mut out, v),
            }
        }
        e.finish(&mut out);
        out
    }

    #[test]
    fn escapes_by_context() {
        let s = |x: &str| Err(Value::str(x));
        assert_eq!(
            run(&[Ok("<p>"), s("<b>&+"), Ok("</p>")]),
            "<p>&lt;b&gt;&amp;&#43;</p>"
        );
        assert_eq!(
            run(&[Ok("<a href=\""), s("javascript:x"), Ok("\">")]),
            "<a href=\"#ZgotmplZ\">"
        );
        assert_eq!(
            run(&[Ok("<a href=\"http://x/?q="), s("a b&c"), Ok("\">")]),
            "<a href=\"http://x/?q=a%20b%26c\">"
        );
        assert_eq!(
            run(&[Ok("<a href=\""), s("http://x/a b?c=d&e"), Ok("\">")]),
            "<a href=\"http://x/a%20b?c=d&amp;e\">"
        );
        assert_eq!(
            run(&[Ok("<p title="), s("x y"), Ok(">")]),
            "<p title=x&#32;y>"
        );
        assert_eq!(
            run(&[Ok("<p title="), s(""), Ok(">")]),
            "<p title=ZgotmplZ>"
        );
        assert_eq!(
            run(&[Ok("<script>var x = "), s("a\"b"), Ok(";</script>")]),
            "<script>var x = \"a\\\"b\";</script>"
        );
        assert_eq!(
            run(&[Ok("<script>var x = "), Err(Value::Int(1)), Ok(";</script>")]),
            "<script>var x =  1 ;</script>"
        );
        assert_eq!(
            run(&[
                Ok("<textarea>"),
                Err(Value::Html("<i>".into())),
                Ok("</textarea>")
            ]),
            "<textarea>&lt;i&gt;</textarea>"
        );
        assert_eq!(run(&[Ok("a<!-- c -->b<!--"), s("x"), Ok("-->c")]), "abc");
        // A `<` of the template text that starts no tag is escaped, in text and in
        // RCDATA, as Go does; a doctype is kept.
        assert_eq!(
            run(&[Ok("<!DOCTYPE html>a < b <b>x</b> 1<2 <")]),
            "<!DOCTYPE html>a &lt; b <b>x</b> 1&lt;2 &lt;"
        );
        assert_eq!(
            run(&[
                Ok("<title>a<b>"),
                s("<c>"),
                Ok("</title><textarea><x></TEXTAREA>")
            ]),
            "<title>a&lt;b>&lt;c&gt;</title><textarea>&lt;x></TEXTAREA>"
        );
        assert_eq!(run(&[Ok("x <"), s("y")]), "x &lt;y");
        assert_eq!(
            run(&[Ok("<script>if (a<b) {}</script>")]),
            "<script>if (a<b) {}</script>"
        );
        assert_eq!(
            run(&[Ok("<b>"), Err(Value::Html("<i>".into())), Err(Value::Nil)]),
            "<b><i>"
        );
        assert_eq!(
            run(&[
                Ok("<p style=\"color: "),
                s("red"),
                Ok("\" onclick=\"f("),
                s("a"),
                Ok(")\">")
            ]),
            "<p style=\"color: red\" onclick=\"f(&#34;a&#34;)\">"
        );
    }
}
