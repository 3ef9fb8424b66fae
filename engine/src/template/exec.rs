//! The executor: walks a parsed template over a [`Value`] and writes text.
//!
//! Semantics follow Go's text/template: truthiness, variable scoping,
//! `range` over lists, maps (in key order) and integers, `break`/`continue`,
//! method calls on data with arguments, and Go's error messages with the
//! template name, line and column.

use std::fmt::Display;
use std::sync::Arc;

use super::data;
use super::error::Error;
use super::format;
use super::funcs::{self, Func};
use super::html::{Escaper, Predefined};
use super::parse::{Arg, Branch, BranchKind, Command, Node, Pipe, Tree};
use super::value::Value;

/// Deepest nesting of `{{template}}` calls before execution stops. Go allows
/// 100000; this engine runs on ordinary thread stacks, so it stops earlier.
pub const MAX_EXEC_DEPTH: usize = 200;

/// What a missing map key evaluates to (Go's `missingkey` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingKey {
    /// The zero value of the map's element type (Alertmanager's setting).
    #[default]
    Zero,
    /// "no value" (Go's default).
    Invalid,
    /// An error.
    Error,
}

enum Flow {
    Normal,
    Break,
    Continue,
}

type R<T> = Result<T, Error>;

/// Looks up templates by name for `{{template}}`.
pub(crate) trait Lookup {
    fn lookup<'s>(&'s self, name: &str) -> Option<&'s Arc<Tree>>;
}

pub(crate) struct Exec<'a> {
    pub lookup: &'a dyn Lookup,
    pub tree: &'a Tree,
    pub vars: Vec<(&'a str, Value)>,
    pub depth: usize,
    pub out: &'a mut String,
    pub html: Option<Escaper>,
    pub missing_key: MissingKey,
    pub env: &'a funcs::Env,
}

impl<'a> Exec<'a> {
    fn err(&self, pos: usize, ctx: &dyn Display, msg: impl Display) -> Error {
        Error::Exec(format!(
            "template: {}: executing {} at <{}>: {}",
            self.tree.location(pos),
            format::go_quote(&self.tree.name),
            ctx,
            msg
        ))
    }

    /// Runs the template body with `dot` as data.
    pub(crate) fn run(&mut self, dot: &Value) -> R<()> {
        let root: &'a [Node] = &self.tree.root;
        self.walk(dot, root)?;
        if let Some(h) = &mut self.html {
            h.finish(self.out);
        }
        Ok(())
    }

    fn walk(&mut self, dot: &Value, nodes: &'a [Node]) -> R<Flow> {
        for node in nodes {
            match node {
                Node::Text(t) => match &mut self.html {
                    Some(h) => h.text(self.out, t),
                    None => self.out.push_str(t),
                },
                Node::Action { pipe, .. } => {
                    let v = self.eval_pipeline(dot, pipe)?;
                    if pipe.decl.is_empty() {
                        self.print(&v, pipe);
                    }
                }
                Node::Branch(b) => {
                    let flow = match b.kind {
                        BranchKind::If | BranchKind::With => self.walk_if_with(dot, b)?,
                        BranchKind::Range => self.walk_range(dot, b)?,
                    };
                    if !matches!(flow, Flow::Normal) {
                        return Ok(flow);
                    }
                }
                Node::Template { pos, name, pipe } => {
                    self.walk_template(dot, *pos, node, name, pipe.as_ref())?
                }
                Node::Break => return Ok(Flow::Break),
                Node::Continue => return Ok(Flow::Continue),
            }
        }
        Ok(Flow::Normal)
    }

    fn print(&mut self, v: &Value, pipe: &Pipe) {
        match &mut self.html {
            Some(h) => {
                let mut pre = Predefined::default();
                for c in &pipe.cmds {
                    if let Some(Arg::Identifier { name, .. }) = c.args.first() {
                        pre.html |= name == "html";
                        pre.urlquery |= name == "urlquery";
                    }
                }
                h.value_with(self.out, v, pre)
            }
            None => match v {
                Value::Nil => self.out.push_str("<no value>"),
                _ => format::print_value(self.out, v),
            },
        }
    }

    fn walk_if_with(&mut self, dot: &Value, b: &'a Branch) -> R<Flow> {
        let mark = self.vars.len();
        let r = (|| {
            let v = self.eval_pipeline(dot, &b.pipe)?;
            if v.truthy() {
                if b.kind == BranchKind::With {
                    self.walk(&v, &b.list)
                } else {
                    self.walk(dot, &b.list)
                }
            } else if let Some(e) = &b.else_list {
                self.walk(dot, e)
            } else {
                Ok(Flow::Normal)
            }
        })();
        self.vars.truncate(mark);
        r
    }

    fn walk_range(&mut self, dot: &Value, b: &'a Branch) -> R<Flow> {
        let outer = self.vars.len();
        let r = self.walk_range_inner(dot, b);
        self.vars.truncate(outer);
        r.map(|_| Flow::Normal)
    }

    /// The node Go's executor last visited while evaluating `pipe` (its
    /// range errors point there).
    fn last_node(pipe: &'a Pipe) -> Option<&'a Arg> {
        let cmd = pipe.cmds.last()?;
        match cmd.args.first() {
            Some(Arg::Identifier { .. }) if cmd.args.len() > 1 => {
                cmd.args.last().map(Self::last_visited)
            }
            first => first.map(Self::last_visited),
        }
    }

    /// The innermost node evaluated last for an argument.
    fn last_visited(a: &'a Arg) -> &'a Arg {
        match a {
            Arg::Pipe(p) => Self::last_node(p).unwrap_or(a),
            a => a,
        }
    }

    fn range_err(&self, b: &'a Branch, msg: impl Display) -> Error {
        match Self::last_node(&b.pipe) {
            Some(a) => self.err(a.pos(), a, msg),
            None => self.err(b.pos, &b.pipe, msg),
        }
    }

    fn walk_range_inner(&mut self, dot: &Value, b: &'a Branch) -> R<()> {
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let mark = self.vars.len();
        let decl = &b.pipe.decl;
        let one = |this: &mut Self, index: Value, elem: Value| -> R<bool> {
            if !decl.is_empty() {
                if b.pipe.is_assign {
                    let (first, second) = if decl.len() > 1 {
                        (index.clone(), Some(elem.clone()))
                    } else {
                        (elem.clone(), None)
                    };
                    this.set_var(&decl[0], first);
                    if let (Some(s), Some(name)) = (second, decl.get(1)) {
                        this.set_var(name, s);
                    }
                } else {
                    let n = this.vars.len();
                    if decl.len() > 1 {
                        this.vars[n - 1].1 = elem.clone();
                        this.vars[n - 2].1 = index;
                    } else {
                        this.vars[n - 1].1 = elem.clone();
                    }
                }
            }
            let flow = this.walk(&elem, &b.list);
            this.vars.truncate(mark);
            Ok(matches!(flow?, Flow::Break))
        };
        let ran = match &val {
            Value::Nil => false,
            Value::Int(n) => {
                if decl.len() > 1 {
                    return Err(self.err(
                        b.pos,
                        &b.pipe,
                        format_args!("can't use {n} to iterate over more than one variable"),
                    ));
                }
                for i in 0..*n {
                    if one(self, Value::Nil, Value::Int(i))? {
                        break;
                    }
                }
                *n > 0
            }
            Value::List(_) | Value::StrList(..) | Value::Pairs(_) | Value::Alerts(..) => {
                let n = val.len().unwrap_or(0);
                for i in 0..n {
                    let e = val.elem(i).unwrap_or_default();
                    if one(self, Value::Int(i as i64), e)? {
                        break;
                    }
                }
                n > 0
            }
            Value::Map(_) | Value::Kv(_) => {
                let entries = val.map_entries();
                for (k, v) in entries.iter() {
                    if one(self, k.clone(), v.clone())? {
                        break;
                    }
                }
                !entries.is_empty()
            }
            other => {
                let mut s = String::new();
                format::print_value(&mut s, other);
                return Err(self.range_err(b, format_args!("range can't iterate over {s}")));
            }
        };
        if !ran && let Some(e) = &b.else_list {
            self.walk(dot, e)?;
        }
        Ok(())
    }

    fn walk_template(
        &mut self,
        dot: &Value,
        pos: usize,
        node: &'a Node,
        name: &str,
        pipe: Option<&'a Pipe>,
    ) -> R<()> {
        let lookup: &'a dyn Lookup = self.lookup;
        let Some(tree) = lookup.lookup(name) else {
            return Err(self.err(
                pos,
                node,
                format_args!("template {} not defined", format::go_quote(name)),
            ));
        };
        if self.depth >= MAX_EXEC_DEPTH {
            return Err(self.err(
                pos,
                node,
                format_args!("exceeded maximum template depth ({MAX_EXEC_DEPTH})"),
            ));
        }
        let newdot = match pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => Value::Nil,
        };
        let tree: &'a Tree = tree;
        let saved_tree = std::mem::replace(&mut self.tree, tree);
        let saved_vars = std::mem::replace(&mut self.vars, vec![("$", newdot.clone())]);
        self.depth += 1;
        let r = self.walk(&newdot, &tree.root);
        self.depth -= 1;
        self.tree = saved_tree;
        self.vars = saved_vars;
        r.map(|_| ())
    }

    fn set_var(&mut self, name: &str, v: Value) {
        if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| *n == name) {
            slot.1 = v;
        }
    }

    fn var(&self, name: &str) -> Value {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    fn eval_pipeline(&mut self, dot: &Value, pipe: &'a Pipe) -> R<Value> {
        let mut value: Option<Value> = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(dot, cmd, value)?);
        }
        let value = value.unwrap_or_default();
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name, value.clone());
            } else {
                self.vars.push((name.as_str(), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, cmd: &'a Command, args: &'a [Arg], final_: &Option<Value>) -> R<()> {
        if args.len() > 1 || final_.is_some() {
            let _ = cmd;
            return Err(self.err(
                args[0].pos(),
                &args[0],
                format_args!("can't give argument to non-function {}", args[0]),
            ));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Value, cmd: &'a Command, final_: Option<Value>) -> R<Value> {
        let args: &'a [Arg] = &cmd.args;
        let first = &args[0];
        match first {
            Arg::Field { pos, idents } => {
                self.eval_field_chain(dot, dot.clone(), *pos, first, idents, args, final_)
            }
            Arg::Chain { pos, node, fields } => {
                if let Arg::Nil { .. } = node.as_ref() {
                    return Err(self.err(
                        *pos,
                        first,
                        format_args!("indirection through explicit nil in {first}"),
                    ));
                }
                let recv = self.eval_arg(dot, node)?;
                self.eval_field_chain(dot, recv, *pos, first, fields, args, final_)
            }
            Arg::Identifier { name, .. } => self.eval_function(dot, name, cmd, &args[1..], final_),
            Arg::Pipe(p) => {
                self.not_a_function(cmd, args, &final_)?;
                self.eval_pipeline(dot, p)
            }
            Arg::Variable { pos, idents } => {
                let v = self.var(&idents[0]);
                if idents.len() == 1 {
                    self.not_a_function(cmd, args, &final_)?;
                    return Ok(v);
                }
                self.eval_field_chain(dot, v, *pos, first, &idents[1..], args, final_)
            }
            Arg::Nil { pos } => {
                self.not_a_function(cmd, args, &final_)?;
                Err(self.err(*pos, first, "nil is not a command"))
            }
            _ => {
                self.not_a_function(cmd, args, &final_)?;
                self.eval_arg(dot, first)
            }
        }
    }

    /// Evaluates an argument whose type is not known (Go's empty interface).
    fn eval_arg(&mut self, dot: &Value, arg: &'a Arg) -> R<Value> {
        Ok(match arg {
            Arg::Dot { .. } => dot.clone(),
            Arg::Nil { .. } => Value::Nil,
            Arg::Bool { val, .. } => Value::Bool(*val),
            Arg::String { val, .. } => Value::Str(val.clone()),
            Arg::Number { num, pos } => {
                if num.is_char {
                    Value::Int(num.int.unwrap_or(0))
                } else if num.is_float {
                    Value::Float(num.float.unwrap_or(0.0))
                } else {
                    match num.int {
                        Some(i) => Value::Int(i),
                        None => {
                            return Err(self.err(
                                *pos,
                                arg,
                                format_args!("{} overflows int", num.text),
                            ));
                        }
                    }
                }
            }
            Arg::Field { pos, idents } => self.eval_field_chain(
                dot,
                dot.clone(),
                *pos,
                arg,
                idents,
                std::slice::from_ref(arg),
                None,
            )?,
            Arg::Variable { pos, idents } => {
                let v = self.var(&idents[0]);
                if idents.len() == 1 {
                    v
                } else {
                    self.eval_field_chain(
                        dot,
                        v,
                        *pos,
                        arg,
                        &idents[1..],
                        std::slice::from_ref(arg),
                        None,
                    )?
                }
            }
            Arg::Chain { pos, node, fields } => {
                if let Arg::Nil { .. } = node.as_ref() {
                    return Err(self.err(
                        *pos,
                        arg,
                        format_args!("indirection through explicit nil in {arg}"),
                    ));
                }
                let recv = self.eval_arg(dot, node)?;
                self.eval_field_chain(
                    dot,
                    recv,
                    *pos,
                    arg,
                    fields,
                    std::slice::from_ref(arg),
                    None,
                )?
            }
            Arg::Pipe(p) => self.eval_pipeline(dot, p)?,
            Arg::Identifier { name, pos } => {
                let cmd_args = std::slice::from_ref(arg);
                let _ = cmd_args;
                self.call_function_at(dot, name, *pos, arg, &[], None)?
            }
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_field_chain(
        &mut self,
        dot: &Value,
        mut recv: Value,
        pos: usize,
        node: &'a Arg,
        idents: &'a [String],
        args: &'a [Arg],
        final_: Option<Value>,
    ) -> R<Value> {
        let n = idents.len();
        for ident in &idents[..n - 1] {
            recv = self.eval_field(dot, ident, pos, node, &[], None, recv)?;
        }
        let call_args = if args.len() > 1 { &args[1..] } else { &[] };
        self.eval_field(dot, &idents[n - 1], pos, node, call_args, final_, recv)
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_field(
        &mut self,
        dot: &Value,
        name: &str,
        pos: usize,
        node: &'a Arg,
        args: &'a [Arg],
        final_: Option<Value>,
        recv: Value,
    ) -> R<Value> {
        if let Value::Nil = recv {
            if self.missing_key == MissingKey::Error {
                return Err(self.err(
                    pos,
                    node,
                    format_args!("nil data; no entry for key {}", format::go_quote(name)),
                ));
            }
            return Ok(Value::Nil);
        }
        if let Some(arity) = data::method_arity(&recv, name) {
            let mut argv = Vec::with_capacity(args.len() + 1);
            for a in args {
                argv.push(self.eval_arg(dot, a)?);
            }
            if let Some(f) = final_ {
                argv.push(f);
            }
            if argv.len() != arity {
                return Err(self.err(
                    pos,
                    node,
                    format_args!(
                        "wrong number of args for {name}: want {arity} got {}",
                        argv.len()
                    ),
                ));
            }
            let params = data::method_params(&recv, name);
            for (i, a) in argv.iter().enumerate() {
                if let Some(ty) = params.get(i)
                    && !funcs::assignable(a, ty)
                {
                    return Err(self.err(pos, node, funcs::wrong_type(a, ty)));
                }
            }
            return data::call_method(&recv, name, &argv)
                .map_err(|e| self.err(pos, node, format_args!("error calling {name}: {e}")));
        }
        let has_args = !args.is_empty() || final_.is_some();
        if let Some(v) = data::field(&recv, name) {
            if has_args {
                return Err(self.err(
                    pos,
                    node,
                    format_args!("{name} has arguments but cannot be invoked as function"),
                ));
            }
            return Ok(v);
        }
        if matches!(recv, Value::Map(_) | Value::Kv(_)) {
            if has_args {
                return Err(self.err(
                    pos,
                    node,
                    format_args!("{name} is not a method but has arguments"),
                ));
            }
            return match recv.map_get(name) {
                Some(v) => Ok(v),
                None => match self.missing_key {
                    MissingKey::Zero => Ok(recv.zero_elem()),
                    MissingKey::Invalid => Ok(Value::Nil),
                    MissingKey::Error => Err(self.err(
                        pos,
                        node,
                        format_args!("map has no entry for key {}", format::go_quote(name)),
                    )),
                },
            };
        }
        Err(self.err(
            pos,
            node,
            format_args!("can't evaluate field {name} in type {}", recv.type_name()),
        ))
    }

    fn eval_function(
        &mut self,
        dot: &Value,
        name: &str,
        cmd: &'a Command,
        args: &'a [Arg],
        final_: Option<Value>,
    ) -> R<Value> {
        self.call_function_at(dot, name, cmd.pos, cmd, args, final_)
    }

    fn call_function_at(
        &mut self,
        dot: &Value,
        name: &str,
        pos: usize,
        ctx: &dyn Display,
        args: &'a [Arg],
        final_: Option<Value>,
    ) -> R<Value> {
        let Some(func) = funcs::lookup(name) else {
            return Err(self.err(
                pos,
                ctx,
                format_args!("{} is not a defined function", format::go_quote(name)),
            ));
        };
        // and/or short-circuit and return the deciding value.
        if name == "and" || name == "or" {
            if args.is_empty() && final_.is_none() {
                return Err(self.err(
                    pos,
                    ctx,
                    format_args!("wrong number of args for {name}: want at least 1 got 0"),
                ));
            }
            let want = name == "or";
            let mut v = Value::Nil;
            for a in args {
                v = self.eval_arg(dot, a)?;
                if v.truthy() == want {
                    return Ok(v);
                }
            }
            if let Some(f) = final_ {
                v = f;
            }
            return Ok(v);
        }
        let Func {
            params, variadic, ..
        } = func;
        let nargs = args.len() + usize::from(final_.is_some());
        match variadic {
            None if nargs != params.len() => {
                return Err(self.err(
                    pos,
                    ctx,
                    format_args!(
                        "wrong number of args for {name}: want {} got {nargs}",
                        params.len()
                    ),
                ));
            }
            Some(_) if nargs < params.len() => {
                return Err(self.err(
                    pos,
                    ctx,
                    format_args!(
                        "wrong number of args for {name}: want at least {} got {nargs}",
                        params.len()
                    ),
                ));
            }
            _ => {}
        }
        let mut argv = Vec::with_capacity(nargs);
        for (i, a) in args.iter().enumerate() {
            let ty = params.get(i).copied().or(variadic).unwrap_or("any");
            let v = self.eval_arg(dot, a)?;
            if let Value::Nil = v
                && let Arg::Nil { .. } = a
                && !funcs::can_be_nil(ty)
            {
                return Err(self.err(a.pos(), a, format_args!("cannot assign nil to {ty}")));
            }
            if !funcs::assignable(&v, ty) {
                if matches!(
                    a,
                    Arg::String { .. } | Arg::Number { .. } | Arg::Bool { .. }
                ) {
                    let want = match ty {
                        "string" => "string",
                        "int" | "time.Duration" => "integer",
                        "bool" => "bool",
                        _ => ty,
                    };
                    return Err(self.err(a.pos(), a, format_args!("expected {want}; found {a}")));
                }
                let at = Self::last_visited(a);
                return Err(self.err(at.pos(), at, funcs::wrong_type(&v, ty)));
            }
            argv.push(v);
        }
        if let Some(f) = final_ {
            let ty = params
                .get(args.len())
                .copied()
                .or(variadic)
                .unwrap_or("any");
            if let Value::Nil = f
                && !funcs::can_be_nil(ty)
            {
                return Err(self.err(pos, ctx, format_args!("invalid value; expected {ty}")));
            }
            if !funcs::assignable(&f, ty) {
                return Err(self.err(pos, ctx, funcs::wrong_type(&f, ty)));
            }
            argv.push(f);
        }
        (func.call)(self.env, &argv)
            .map_err(|e| self.err(pos, ctx, format_args!("error calling {name}: {e}")))
    }
}
