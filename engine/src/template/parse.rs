//! Parser: turns tokens into the syntax tree of one or more named templates.
//!
//! The structure and error messages follow Go's text/template/parse, so a
//! template that Go rejects is rejected here with the same message.

use std::fmt::{self, Write as _};
use std::sync::Arc;

use super::error::ParseError;
use super::lexer::{Kind, Token, lex};

/// A node of a template body.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// Literal text.
    Text(String),
    /// `{{pipeline}}`.
    Action { pipe: Pipe },
    /// `{{if}}`, `{{range}}` or `{{with}}`.
    Branch(Box<Branch>),
    /// `{{template "name" pipeline}}`.
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
    /// `{{break}}`.
    Break,
    /// `{{continue}}`.
    Continue,
}

/// Which control structure a [`Branch`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BranchKind {
    If,
    Range,
    With,
}

/// An `if`, `range` or `with` with its bodies.
#[derive(Debug, Clone)]
pub(crate) struct Branch {
    pub kind: BranchKind,
    pub pos: usize,
    pub pipe: Pipe,
    pub list: Vec<Node>,
    pub else_list: Option<Vec<Node>>,
}

/// A pipeline, optionally declaring or assigning variables.
#[derive(Debug, Clone)]
pub(crate) struct Pipe {
    pub pos: usize,
    pub is_assign: bool,
    pub decl: Vec<String>,
    pub cmds: Vec<Command>,
}

/// One stage of a pipeline: a function/method/value with arguments.
#[derive(Debug, Clone)]
pub(crate) struct Command {
    pub pos: usize,
    pub args: Vec<Arg>,
}

/// A parsed number literal.
#[derive(Debug, Clone)]
pub(crate) struct Number {
    pub int: Option<i64>,
    pub float: Option<f64>,
    /// Written as a float (with `.`, `e` or `p`), so it is a float64 when
    /// used as an untyped value.
    pub is_float: bool,
    /// A character constant such as `'a'`.
    pub is_char: bool,
    pub text: String,
}

/// An operand of a command.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Identifier {
        pos: usize,
        name: String,
    },
    Dot {
        pos: usize,
    },
    Nil {
        pos: usize,
    },
    /// `$x` or `$x.A.B`: `idents[0]` is the variable name.
    Variable {
        pos: usize,
        idents: Vec<String>,
    },
    /// `.A.B`.
    Field {
        pos: usize,
        idents: Vec<String>,
    },
    /// `(pipe).A.B`.
    Chain {
        pos: usize,
        node: Box<Arg>,
        fields: Vec<String>,
    },
    Bool {
        pos: usize,
        val: bool,
    },
    Number {
        pos: usize,
        num: Box<Number>,
    },
    String {
        pos: usize,
        quoted: String,
        val: Arc<str>,
    },
    Pipe(Box<Pipe>),
}

impl Arg {
    pub(crate) fn pos(&self) -> usize {
        match self {
            Arg::Identifier { pos, .. }
            | Arg::Dot { pos }
            | Arg::Nil { pos }
            | Arg::Variable { pos, .. }
            | Arg::Field { pos, .. }
            | Arg::Chain { pos, .. }
            | Arg::Bool { pos, .. }
            | Arg::Number { pos, .. }
            | Arg::String { pos, .. } => *pos,
            Arg::Pipe(p) => p.pos,
        }
    }
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Identifier { name, .. } => f.write_str(name),
            Arg::Dot { .. } => f.write_str("."),
            Arg::Nil { .. } => f.write_str("nil"),
            Arg::Variable { idents, .. } => f.write_str(&idents.join(".")),
            Arg::Field { idents, .. } => {
                for i in idents {
                    write!(f, ".{i}")?;
                }
                Ok(())
            }
            Arg::Chain { node, fields, .. } => {
                if let Arg::Pipe(p) = node.as_ref() {
                    write!(f, "({p})")?;
                } else {
                    write!(f, "{node}")?;
                }
                for i in fields {
                    write!(f, ".{i}")?;
                }
                Ok(())
            }
            Arg::Bool { val, .. } => write!(f, "{val}"),
            Arg::Number { num, .. } => f.write_str(&num.text),
            Arg::String { quoted, .. } => f.write_str(quoted),
            Arg::Pipe(p) => write!(f, "{p}"),
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_char(' ')?;
            }
            if let Arg::Pipe(p) = a {
                write!(f, "({p})")?;
            } else {
                write!(f, "{a}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            f.write_str(&self.decl.join(", "))?;
            f.write_str(if self.is_assign { " = " } else { " := " })?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

fn write_list(f: &mut fmt::Formatter<'_>, list: &[Node]) -> fmt::Result {
    for n in list {
        write!(f, "{n}")?;
    }
    Ok(())
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Text(t) => f.write_str(t),
            Node::Action { pipe, .. } => write!(f, "{{{{{pipe}}}}}"),
            Node::Branch(b) => {
                let name = match b.kind {
                    BranchKind::If => "if",
                    BranchKind::Range => "range",
                    BranchKind::With => "with",
                };
                write!(f, "{{{{{name} {}}}}}", b.pipe)?;
                write_list(f, &b.list)?;
                if let Some(e) = &b.else_list {
                    f.write_str("{{else}}")?;
                    write_list(f, e)?;
                }
                f.write_str("{{end}}")
            }
            Node::Template { name, pipe, .. } => {
                let q = super::format::go_quote(name);
                match pipe {
                    Some(p) => write!(f, "{{{{template {q} {p}}}}}"),
                    None => write!(f, "{{{{template {q}}}}}"),
                }
            }
            Node::Break => f.write_str("{{break}}"),
            Node::Continue => f.write_str("{{continue}}"),
        }
    }
}

/// A parsed template: its body plus where it came from (for messages).
#[derive(Debug)]
pub(crate) struct Tree {
    /// The template's own name (`define` name, or the file name).
    pub name: String,
    /// The name of the top-level template (file) it was parsed from.
    pub parse_name: Arc<str>,
    /// The whole source text, for turning positions into line:column.
    pub text: Arc<str>,
    pub root: Vec<Node>,
}

impl Tree {
    /// `name:line:col` of a byte offset, as Go's `ErrorContext` prints it.
    pub(crate) fn location(&self, pos: usize) -> String {
        let pos = pos.min(self.text.len());
        let before = &self.text[..pos];
        let col = match before.rfind('\n') {
            Some(i) => pos - (i + 1),
            None => pos,
        };
        let line = 1 + before.matches('\n').count();
        format!("{}:{}:{}", self.parse_name, line, col)
    }

    /// Whether the body is only white space and comments (Go's `IsEmptyTree`).
    pub(crate) fn is_empty(&self) -> bool {
        self.root.iter().all(|n| match n {
            Node::Text(t) => t.trim().is_empty(),
            _ => false,
        })
    }
}

/// Marker nodes returned by the item-list parser besides real nodes.
enum Item {
    Node(Node),
    End,
    Else,
}

/// Deepest nesting of parenthesized expressions. Go allows 10,000 (its stacks grow);
/// parsing and executing recurse once per level here, and 10,000 levels overflow a
/// 2 MiB thread stack (the fuzzer's template input with 900 levels did, in a debug
/// build), so the limit is far lower, and far above what a template needs.
const MAX_STACK_DEPTH: usize = 100;
/// Deepest nesting of `if`, `range`, `with` (an `else if` counts as one more level)
/// and `block`; Go has no limit, but parsing and executing recurse once per level
/// (5,000 nested `if`s overflowed a 2 MiB stack).
const MAX_NESTING_DEPTH: usize = 250;

struct Parser<'a> {
    tokens: Vec<Token>,
    idx: usize,
    furthest: usize,
    parse_name: &'a Arc<str>,
    text: &'a Arc<str>,
    vars: Vec<String>,
    range_depth: usize,
    action_line: usize,
    stack_depth: usize,
    nesting: usize,
    has_func: &'a dyn Fn(&str) -> bool,
    /// Templates defined so far (`define` and `block`), in order.
    defined: Vec<Tree>,
}

type PResult<T> = Result<T, ParseError>;

/// Parses `text` as the template `name`. Returns the top-level tree followed
/// by every `define`/`block` tree, in source order. `has_func` says which
/// function names exist (Go rejects calls to unknown functions at parse time).
pub(crate) fn parse(
    name: &str,
    text: &str,
    has_func: &dyn Fn(&str) -> bool,
) -> Result<Vec<Tree>, ParseError> {
    let parse_name: Arc<str> = Arc::from(name);
    let text_arc: Arc<str> = Arc::from(text);
    let mut p = Parser {
        tokens: lex(text),
        idx: 0,
        furthest: 0,
        parse_name: &parse_name,
        text: &text_arc,
        vars: vec!["$".to_string()],
        range_depth: 0,
        action_line: 0,
        stack_depth: 0,
        nesting: 0,
        has_func,
        defined: Vec::new(),
    };
    let root = p.parse_top()?;
    let mut out = vec![Tree {
        name: name.to_string(),
        parse_name: parse_name.clone(),
        text: text_arc.clone(),
        root,
    }];
    out.append(&mut p.defined);
    Ok(out)
}

impl Parser<'_> {
    fn errorf(&self, msg: impl fmt::Display) -> ParseError {
        let line = self
            .tokens
            .get(self.furthest)
            .or(self.tokens.last())
            .map_or(1, |t| t.line);
        ParseError {
            message: format!("template: {}:{}: {}", self.parse_name, line, msg),
        }
    }

    fn next(&mut self) -> Token {
        let i = self.idx.min(self.tokens.len().saturating_sub(1));
        self.idx = i + 1;
        self.furthest = self.furthest.max(i);
        self.tokens[i].clone()
    }

    fn backup(&mut self) {
        self.idx -= 1;
    }

    fn peek(&mut self) -> Token {
        let t = self.next();
        self.backup();
        t
    }

    fn next_non_space(&mut self) -> Token {
        loop {
            let t = self.next();
            if t.kind != Kind::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Token {
        let t = self.next_non_space();
        self.backup();
        t
    }

    fn unexpected(&self, token: &Token, context: &str) -> ParseError {
        if token.kind == Kind::Error {
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != token.line {
                extra = format!(
                    " in action started at {}:{}",
                    self.parse_name, self.action_line
                );
                if token.val.ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return self.errorf(format_args!("{token}{extra}"));
        }
        self.errorf(format_args!("unexpected {token} in {context}"))
    }

    fn expect(&mut self, kind: Kind, context: &str) -> PResult<Token> {
        let t = self.next_non_space();
        if t.kind != kind {
            return Err(self.unexpected(&t, context));
        }
        Ok(t)
    }

    fn add(&mut self, tree: Tree) -> PResult<()> {
        // Within one parse, a later non-empty definition of a name that is
        // already non-empty is an error; an empty one never replaces.
        if let Some(i) = self.defined.iter().position(|t| t.name == tree.name) {
            if self.defined[i].is_empty() {
                self.defined[i] = tree;
            } else if !tree.is_empty() {
                return Err(self.errorf(format_args!(
                    "template: multiple definition of template {}",
                    super::format::go_quote(&tree.name)
                )));
            }
            return Ok(());
        }
        self.defined.push(tree);
        Ok(())
    }

    fn parse_top(&mut self) -> PResult<Vec<Node>> {
        let mut root = Vec::new();
        while self.peek().kind != Kind::Eof {
            if self.peek().kind == Kind::LeftDelim {
                let save = self.idx;
                self.next();
                if self.next_non_space().kind == Kind::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.idx = save;
            }
            match self.text_or_action()? {
                Item::Node(n) => root.push(n),
                Item::End => return Err(self.errorf("unexpected {{end}}")),
                Item::Else => return Err(self.errorf("unexpected {{else}}")),
            }
        }
        Ok(root)
    }

    fn parse_definition(&mut self) -> PResult<()> {
        const CONTEXT: &str = "define clause";
        let t = self.next_non_space();
        if t.kind != Kind::String && t.kind != Kind::RawString {
            return Err(self.unexpected(&t, CONTEXT));
        }
        let name = self.unquote(&t)?;
        self.expect(Kind::RightDelim, CONTEXT)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let (list, end) = self.item_list()?;
        self.vars = saved_vars;
        if !matches!(end, Item::End) {
            return Err(self.errorf(format_args!("unexpected {{{{else}}}} in {CONTEXT}")));
        }
        self.add(Tree {
            name,
            parse_name: self.parse_name.clone(),
            text: self.text.clone(),
            root: list,
        })
    }

    fn item_list(&mut self) -> PResult<(Vec<Node>, Item)> {
        let mut list = Vec::new();
        while self.peek_non_space().kind != Kind::Eof {
            match self.text_or_action()? {
                Item::Node(n) => list.push(n),
                other => return Ok((list, other)),
            }
        }
        Err(self.errorf("unexpected EOF"))
    }

    fn text_or_action(&mut self) -> PResult<Item> {
        let t = self.next_non_space();
        match t.kind {
            Kind::Text => Ok(Item::Node(Node::Text(t.val))),
            Kind::LeftDelim => {
                self.action_line = t.line;
                let r = self.action();
                self.action_line = 0;
                r
            }
            Kind::Comment => Ok(Item::Node(Node::Text(String::new()))),
            _ => Err(self.unexpected(&t, "input")),
        }
    }

    fn action(&mut self) -> PResult<Item> {
        let t = self.next_non_space();
        match t.kind {
            Kind::Block => return self.block_control().map(Item::Node),
            Kind::Break | Kind::Continue => {
                let ctx = if t.kind == Kind::Break {
                    "{{break}}"
                } else {
                    "{{continue}}"
                };
                let n = self.next_non_space();
                if n.kind != Kind::RightDelim {
                    return Err(self.unexpected(&n, ctx));
                }
                if self.range_depth == 0 {
                    return Err(self.errorf(format_args!("{ctx} outside {{{{range}}}}")));
                }
                return Ok(Item::Node(if t.kind == Kind::Break {
                    Node::Break
                } else {
                    Node::Continue
                }));
            }
            Kind::Else => {
                let p = self.peek_non_space();
                if p.kind == Kind::If || p.kind == Kind::With {
                    return Ok(Item::Else);
                }
                self.expect(Kind::RightDelim, "else")?;
                return Ok(Item::Else);
            }
            Kind::End => {
                self.expect(Kind::RightDelim, "end")?;
                return Ok(Item::End);
            }
            Kind::If => return self.control(BranchKind::If).map(Item::Node),
            Kind::Range => return self.control(BranchKind::Range).map(Item::Node),
            Kind::With => return self.control(BranchKind::With).map(Item::Node),
            Kind::Template => return self.template_control().map(Item::Node),
            _ => {}
        }
        self.backup();
        let t = self.peek();
        let pipe = self.pipeline("command", Kind::RightDelim)?;
        let _ = t;
        Ok(Item::Node(Node::Action { pipe }))
    }

    fn control(&mut self, kind: BranchKind) -> PResult<Node> {
        let context = match kind {
            BranchKind::If => "if",
            BranchKind::Range => "range",
            BranchKind::With => "with",
        };
        if self.nesting >= MAX_NESTING_DEPTH {
            return Err(self.errorf(format_args!(
                "max nesting depth ({MAX_NESTING_DEPTH}) exceeded in {context}"
            )));
        }
        let nvars = self.vars.len();
        self.nesting += 1;
        let r = self.control_inner(kind, context);
        self.nesting -= 1;
        self.vars.truncate(nvars);
        r
    }

    fn control_inner(&mut self, kind: BranchKind, context: &str) -> PResult<Node> {
        let pipe = self.pipeline(context, Kind::RightDelim)?;
        if kind == BranchKind::Range {
            self.range_depth += 1;
        }
        let r = self.item_list();
        if kind == BranchKind::Range {
            self.range_depth -= 1;
        }
        let (list, next) = r?;
        let mut else_list = None;
        match next {
            Item::End => {}
            Item::Else => {
                let p = self.peek();
                if kind == BranchKind::If && p.kind == Kind::If {
                    self.next();
                    else_list = Some(vec![self.control(BranchKind::If)?]);
                } else if kind == BranchKind::With && p.kind == Kind::With {
                    self.next();
                    else_list = Some(vec![self.control(BranchKind::With)?]);
                } else {
                    let (l, next) = self.item_list()?;
                    if !matches!(next, Item::End) {
                        return Err(self.errorf("expected end; found {{else}}"));
                    }
                    else_list = Some(l);
                }
            }
            Item::Node(_) => {}
        }
        Ok(Node::Branch(Box::new(Branch {
            kind,
            pos: pipe.pos,
            pipe,
            list,
            else_list,
        })))
    }

    fn template_name(&mut self, t: &Token, context: &str) -> PResult<String> {
        match t.kind {
            Kind::String | Kind::RawString => self.unquote(t),
            _ => Err(self.unexpected(t, context)),
        }
    }

    fn template_control(&mut self) -> PResult<Node> {
        const CONTEXT: &str = "template clause";
        let t = self.next_non_space();
        let name = self.template_name(&t, CONTEXT)?;
        let mut pipe = None;
        if self.next_non_space().kind != Kind::RightDelim {
            self.backup();
            pipe = Some(self.pipeline(CONTEXT, Kind::RightDelim)?);
        }
        Ok(Node::Template {
            pos: t.pos,
            name,
            pipe,
        })
    }

    fn block_control(&mut self) -> PResult<Node> {
        const CONTEXT: &str = "block clause";
        let t = self.next_non_space();
        let name = self.template_name(&t, CONTEXT)?;
        let pipe = self.pipeline(CONTEXT, Kind::RightDelim)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let saved_depth = std::mem::replace(&mut self.range_depth, 0);
        if self.nesting >= MAX_NESTING_DEPTH {
            return Err(self.errorf(format_args!(
                "max nesting depth ({MAX_NESTING_DEPTH}) exceeded in {CONTEXT}"
            )));
        }
        self.nesting += 1;
        let r = self.item_list();
        self.nesting -= 1;
        self.vars = saved_vars;
        self.range_depth = saved_depth;
        let (list, end) = r?;
        if !matches!(end, Item::End) {
            return Err(self.errorf(format_args!("unexpected {{{{else}}}} in {CONTEXT}")));
        }
        self.add(Tree {
            name: name.clone(),
            parse_name: self.parse_name.clone(),
            text: self.text.clone(),
            root: list,
        })?;
        Ok(Node::Template {
            pos: t.pos,
            name,
            pipe: Some(pipe),
        })
    }

    fn pipeline(&mut self, context: &str, end: Kind) -> PResult<Pipe> {
        let t = self.peek_non_space();
        let mut pipe = Pipe {
            pos: t.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        'decls: loop {
            let v = self.peek_non_space();
            if v.kind != Kind::Variable {
                break;
            }
            let save = self.idx;
            self.next_non_space();
            let after_var = self.peek();
            let next = self.peek_non_space();
            match next.kind {
                Kind::Assign | Kind::Declare => {
                    pipe.is_assign = next.kind == Kind::Assign;
                    self.next_non_space();
                    pipe.decl.push(v.val.clone());
                    self.vars.push(v.val);
                    break 'decls;
                }
                Kind::Char if next.val == "," => {
                    self.next_non_space();
                    pipe.decl.push(v.val.clone());
                    self.vars.push(v.val);
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().kind {
                            Kind::Variable | Kind::RightDelim | Kind::RightParen => {
                                continue 'decls;
                            }
                            _ => return Err(self.errorf("range can only initialize variables")),
                        }
                    }
                    return Err(self.errorf(format_args!("too many declarations in {context}")));
                }
                _ => {
                    let _ = after_var;
                    self.idx = save;
                    break 'decls;
                }
            }
        }
        loop {
            let t = self.next_non_space();
            if t.kind == end {
                self.check_pipeline(&pipe, context)?;
                return Ok(pipe);
            }
            match t.kind {
                Kind::Bool
                | Kind::CharConstant
                | Kind::Dot
                | Kind::Field
                | Kind::Identifier
                | Kind::Number
                | Kind::Nil
                | Kind::RawString
                | Kind::String
                | Kind::Variable
                | Kind::LeftParen => {
                    self.backup();
                    let c = self.command()?;
                    pipe.cmds.push(c);
                }
                _ => return Err(self.unexpected(&t, context)),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return Err(self.errorf(format_args!("missing value for {context}")));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args.first(),
                Some(
                    Arg::Bool { .. }
                        | Arg::Dot { .. }
                        | Arg::Nil { .. }
                        | Arg::Number { .. }
                        | Arg::String { .. }
                )
            ) {
                return Err(self.errorf(format_args!(
                    "non executable command in pipeline stage {}",
                    i + 1
                )));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> PResult<Command> {
        let pos = self.peek_non_space().pos;
        let mut cmd = Command {
            pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                cmd.args.push(op);
            }
            let t = self.next();
            match t.kind {
                Kind::Space => continue,
                Kind::RightDelim | Kind::RightParen => self.backup(),
                Kind::Pipe => {}
                _ => return Err(self.unexpected(&t, "operand")),
            }
            break;
        }
        if cmd.args.is_empty() {
            return Err(self.errorf("empty command"));
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().kind != Kind::Field {
            return Ok(Some(node));
        }
        let chain_pos = self.peek().pos;
        let mut fields = Vec::new();
        while self.peek().kind == Kind::Field {
            let t = self.next();
            fields.push(t.val[1..].to_string());
        }
        Ok(Some(match node {
            Arg::Field { mut idents, .. } => {
                idents.extend(fields);
                Arg::Field {
                    pos: chain_pos,
                    idents,
                }
            }
            Arg::Variable { mut idents, .. } => {
                idents.extend(fields);
                Arg::Variable {
                    pos: chain_pos,
                    idents,
                }
            }
            Arg::Bool { .. }
            | Arg::String { .. }
            | Arg::Number { .. }
            | Arg::Nil { .. }
            | Arg::Dot { .. } => {
                return Err(self.errorf(format_args!(
                    "unexpected . after term {}",
                    super::format::go_quote(&node.to_string())
                )));
            }
            other => Arg::Chain {
                pos: chain_pos,
                node: Box::new(other),
                fields,
            },
        }))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let t = self.next_non_space();
        let pos = t.pos;
        Ok(Some(match t.kind {
            Kind::Identifier => {
                if !(self.has_func)(&t.val) {
                    return Err(self.errorf(format_args!(
                        "function {} not defined",
                        super::format::go_quote(&t.val)
                    )));
                }
                Arg::Identifier { pos, name: t.val }
            }
            Kind::Dot => Arg::Dot { pos },
            Kind::Nil => Arg::Nil { pos },
            Kind::Variable => {
                if !self.vars.contains(&t.val) {
                    return Err(self.errorf(format_args!(
                        "undefined variable {}",
                        super::format::go_quote(&t.val)
                    )));
                }
                Arg::Variable {
                    pos,
                    idents: vec![t.val],
                }
            }
            Kind::Field => Arg::Field {
                pos,
                idents: vec![t.val[1..].to_string()],
            },
            Kind::Bool => Arg::Bool {
                pos,
                val: t.val == "true",
            },
            Kind::Number | Kind::CharConstant => {
                let num = self.number(&t)?;
                Arg::Number {
                    pos,
                    num: Box::new(num),
                }
            }
            Kind::LeftParen => {
                if self.stack_depth >= MAX_STACK_DEPTH {
                    return Err(self.errorf("max expression depth exceeded"));
                }
                self.stack_depth += 1;
                let r = self.pipeline("parenthesized pipeline", Kind::RightParen);
                self.stack_depth -= 1;
                Arg::Pipe(Box::new(r?))
            }
            Kind::String | Kind::RawString => {
                let s = self.unquote(&t)?;
                Arg::String {
                    pos,
                    quoted: t.val,
                    val: Arc::from(s),
                }
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }

    fn unquote(&self, t: &Token) -> PResult<String> {
        super::format::go_unquote(&t.val).ok_or_else(|| self.errorf("invalid syntax"))
    }

    fn number(&self, t: &Token) -> PResult<Number> {
        let text = t.val.clone();
        if t.kind == Kind::CharConstant {
            let s = super::format::go_unquote(&text).ok_or_else(|| {
                self.errorf(format_args!("malformed character constant: {}", text))
            })?;
            let mut chars = s.chars();
            let (Some(c), None) = (chars.next(), chars.next()) else {
                return Err(self.errorf(format_args!("malformed character constant: {text}")));
            };
            return Ok(Number {
                int: Some(c as i64),
                float: Some(c as u32 as f64),
                is_float: false,
                is_char: true,
                text,
            });
        }
        let clean: String = text.chars().filter(|c| *c != '_').collect();
        let (neg, body) = match clean.as_bytes().first() {
            Some(b'-') => (true, &clean[1..]),
            Some(b'+') => (false, &clean[1..]),
            _ => (false, &clean[..]),
        };
        let lower = body.to_ascii_lowercase();
        let radix_int = if let Some(h) = lower.strip_prefix("0x") {
            if h.contains('.') || h.contains('p') {
                None
            } else {
                Some(u64::from_str_radix(h, 16).ok())
            }
        } else if let Some(o) = lower.strip_prefix("0o") {
            Some(u64::from_str_radix(o, 8).ok())
        } else if let Some(b) = lower.strip_prefix("0b") {
            Some(u64::from_str_radix(b, 2).ok())
        } else if lower.len() > 1
            && lower.starts_with('0')
            && lower.bytes().all(|b| b.is_ascii_digit())
        {
            Some(u64::from_str_radix(&lower[1..], 8).ok())
        } else {
            None
        };
        let signed = |u: u64| -> Option<i64> {
            if neg {
                if u <= i64::MAX as u64 + 1 {
                    Some((u as i128).wrapping_neg() as i64)
                } else {
                    None
                }
            } else {
                i64::try_from(u).ok()
            }
        };
        let bad = || {
            self.errorf(format_args!(
                "illegal number syntax: {}",
                super::format::go_quote(&text)
            ))
        };
        if let Some(u) = radix_int {
            let u = u.ok_or_else(bad)?;
            let int = signed(u);
            return Ok(Number {
                int,
                float: Some(if neg { -(u as f64) } else { u as f64 }),
                is_float: false,
                is_char: false,
                text,
            });
        }
        if lower.starts_with("0x") {
            return Err(bad());
        }
        let f: f64 = clean.parse().map_err(|_| bad())?;
        let is_float = lower.contains(['.', 'e']);
        let int = if !is_float {
            clean.parse::<i64>().ok()
        } else if f.fract() == 0.0 && f.abs() < 9.2e18 {
            Some(f as i64)
        } else {
            None
        };
        Ok(Number {
            int,
            float: Some(f),
            is_float,
            is_char: false,
            text,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<Vec<Tree>, String> {
        parse("t", text, &|n| n == "printf" || n == "len").map_err(|e| e.message)
    }

    fn err(text: &str) -> String {
        p(text).err().unwrap_or_default()
    }

    #[test]
    fn round_trips_to_go_node_strings() {
        let trees = p(r#"{{if .A}}x{{else if $.B}}y{{end}}{{range $i, $v := .L}}{{$v.Name}}{{end}}{{with $x := (printf "%d" 1).Foo}}{{.}}{{end}}"#).unwrap();
        let s: String = trees[0].root.iter().map(|n| n.to_string()).collect();
        assert_eq!(
            s,
            r#"{{if .A}}x{{else}}{{if $.B}}y{{end}}{{end}}{{range $i, $v := .L}}{{$v.Name}}{{end}}{{with $x := (printf "%d" 1).Foo}}{{.}}{{end}}"#
        );
    }

    #[test]
    fn defines_and_blocks_become_trees() {
        let trees = p(r#"a{{define "x"}}X{{end}}{{block "y" .}}Y{{end}}"#).unwrap();
        let names: Vec<_> = trees.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["t", "x", "y"]);
        assert_eq!(trees[0].root.len(), 2);
    }

    #[test]
    fn go_error_messages() {
        assert_eq!(err("{{ .A }"), "template: t:1: unexpected \"}\" in operand");
        assert_eq!(err("a\n\n{{ if }}"), "template: t:3: missing value for if");
        assert_eq!(err("{{ end }}"), "template: t:1: unexpected {{end}}");
        assert_eq!(err("{{ if .A }}"), "template: t:1: unexpected EOF");
        assert_eq!(
            err("{{ foo }}"),
            "template: t:1: function \"foo\" not defined"
        );
        assert_eq!(err("{{ $x }}"), "template: t:1: undefined variable \"$x\"");
        assert_eq!(
            err("{{ break }}"),
            "template: t:1: {{break}} outside {{range}}"
        );
        assert_eq!(
            err("{{ .A | 3 }}"),
            "template: t:1: non executable command in pipeline stage 2"
        );
        assert_eq!(
            err("{{ range $a, $b, $c := . }}{{end}}"),
            "template: t:1: too many declarations in range"
        );
        assert_eq!(
            err("{{ \"x\".A }}"),
            "template: t:1: unexpected . after term \"\\\"x\\\"\""
        );
        assert_eq!(
            err("{{define \"a\"}}x{{end}}{{define \"a\"}}y{{end}}"),
            "template: t:1: template: multiple definition of template \"a\""
        );
        assert_eq!(
            err("{{ if .A }}{{ else }}{{ else }}{{ end }}"),
            "template: t:1: expected end; found {{else}}"
        );
        assert_eq!(
            err("x\n{{ .A\n"),
            "template: t:3: unclosed action started at t:2"
        );
        assert_eq!(
            err("{{ template .A }}"),
            "template: t:1: unexpected \".A\" in template clause"
        );
    }
}
