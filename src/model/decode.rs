//! Structural decoding: hcl-edit syntax trees -> [`Block`] trees checked against the format.
//!
//! Consumes the parsed bodies of every file of a topology; produces one root [`Block`] whose
//! attributes hold only well-typed, in-range values, and diagnostics for everything else
//! (unknown names with "did you mean", wrong types, expressions, duplicates, missing required
//! attributes, range and allowed-value checks from [`super::schema`]). Meaning (routing rules,
//! regions, cross references) is checked afterwards, in [`super::lower`].

use super::schema::{AttrSpec, BlockSpec, Check, ChildSpec, Kind};
use super::variables::{mentions_var, Bindings, Substituted};
use crate::diagnostics::{suggest, Code, Diagnostic, Diagnostics};
use crate::duration::Duration;
use crate::source::{FileId, Loc};
use hcl_edit::expr::{Expression, UnaryOperator};
use hcl_edit::structure::{Attribute, Body, Structure};
use hcl_edit::Span;
use std::collections::BTreeMap;

/// A decoded attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    Num(f64),
    Bool(bool),
    Dur(Duration),
    List(Vec<(String, Loc)>),
    /// An object of strings: key, value and where the value is, in source order.
    Map(Vec<(String, String, Loc)>),
}

/// A well-typed attribute: its value, where the value is, and where the key is.
#[derive(Debug, Clone)]
pub struct Field {
    pub value: Value,
    pub loc: Loc,
    pub key: Loc,
}

/// A block's attributes or child blocks by name, sorted: a vector, because a block has a
/// handful of each and a B-tree node costs about a kilobyte even for one entry (10,000
/// services decode into 50,000 blocks).
#[derive(Debug, Clone)]
pub struct Small<V>(Vec<(&'static str, V)>);

impl<V> Default for Small<V> {
    fn default() -> Self {
        Small(Vec::new())
    }
}

impl<V> Small<V> {
    fn find(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| (*k).cmp(name))
    }

    pub fn get(&self, name: &str) -> Option<&V> {
        self.find(name).ok().map(|i| &self.0[i].1)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.find(name).is_ok()
    }

    /// Sets `name` to `value`, replacing any earlier value.
    pub fn insert(&mut self, name: &'static str, value: V) {
        match self.find(name) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => self.0.insert(i, (name, value)),
        }
    }

    /// The value of `name`, inserted as `V::default()` when missing.
    pub fn or_default(&mut self, name: &'static str) -> &mut V
    where
        V: Default,
    {
        let i = match self.find(name) {
            Ok(i) => i,
            Err(i) => {
                self.0.insert(i, (name, V::default()));
                i
            }
        };
        &mut self.0[i].1
    }

    /// The names, in order.
    pub fn keys(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.iter().map(|(k, _)| *k)
    }
}

/// A decoded block.
#[derive(Debug, Clone)]
pub struct Block {
    pub spec: &'static BlockSpec,
    /// The block type and its labels: where "missing attribute" diagnostics point.
    pub header: Loc,
    pub labels: Vec<(String, Loc)>,
    /// Attributes whose values passed the structural checks.
    pub fields: Small<Field>,
    /// Every known attribute written, valid or not (key location).
    pub written: Small<Loc>,
    pub children: Small<Vec<Block>>,
    /// Index into `children` by block type and labels, for duplicate checks.
    by_label: BTreeMap<(&'static str, Vec<String>), usize>,
}

impl Block {
    fn new(spec: &'static BlockSpec, header: Loc, labels: Vec<(String, Loc)>) -> Block {
        Block {
            spec,
            header,
            labels,
            fields: Small::default(),
            written: Small::default(),
            children: Small::default(),
            by_label: BTreeMap::new(),
        }
    }

    /// The first label (`"api"` in `service "api"`), or "" for unlabeled blocks.
    pub fn label(&self) -> &str {
        self.labels.first().map_or("", |(l, _)| l.as_str())
    }

    pub fn label_loc(&self) -> Loc {
        self.labels
            .first()
            .map_or_else(|| self.header.clone(), |(_, l)| l.clone())
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.get(name)
    }

    pub fn is_written(&self, name: &str) -> bool {
        self.written.contains_key(name)
    }

    /// Where to point about an attribute: its key when written, else the block header.
    pub fn loc_of(&self, name: &str) -> Loc {
        self.written
            .get(name)
            .cloned()
            .unwrap_or_else(|| self.header.clone())
    }

    /// Where an attribute's value is, or the block header.
    pub fn value_loc(&self, name: &str) -> Loc {
        self.fields
            .get(name)
            .map(|f| f.loc.clone())
            .unwrap_or_else(|| self.loc_of(name))
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        match self.fields.get(name)?.value {
            Value::Str(ref s) => Some(s),
            _ => None,
        }
    }

    pub fn int(&self, name: &str) -> Option<i64> {
        match self.fields.get(name)?.value {
            Value::Int(i) => Some(i),
            _ => None,
        }
    }

    pub fn num(&self, name: &str) -> Option<f64> {
        match self.fields.get(name)?.value {
            Value::Num(n) => Some(n),
            Value::Int(i) => Some(i as f64),
            _ => None,
        }
    }

    pub fn bool(&self, name: &str) -> Option<bool> {
        match self.fields.get(name)?.value {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn dur(&self, name: &str) -> Option<Duration> {
        match self.fields.get(name)?.value {
            Value::Dur(d) => Some(d),
            _ => None,
        }
    }

    pub fn map(&self, name: &str) -> Option<&[(String, String, Loc)]> {
        match self.fields.get(name)?.value {
            Value::Map(ref m) => Some(m),
            _ => None,
        }
    }

    pub fn list(&self, name: &str) -> Option<&[(String, Loc)]> {
        match self.fields.get(name)?.value {
            Value::List(ref l) => Some(l),
            _ => None,
        }
    }

    pub fn blocks(&self, name: &str) -> &[Block] {
        self.children.get(name).map_or(&[], Vec::as_slice)
    }

    pub fn block(&self, name: &str) -> Option<&Block> {
        self.blocks(name).first()
    }
}

/// Decodes the top-level bodies of all files of a topology as one root block. It takes the
/// syntax trees and drops each top-level block's tree once it is decoded: the trees are many
/// times the size of the text, and never all alive beside what is decoded from them.
pub fn decode_root(files: Vec<(FileId, Body)>, vars: &Bindings, diags: &mut Diagnostics) -> Block {
    let header = Loc::new(files.first().map_or(FileId(0), |f| f.0), 0..0);
    let mut root = Block::new(&super::schema::ROOT, header, Vec::new());
    for (file, body) in files {
        for structure in body {
            decode_structure(file, vars, &structure, &mut root, diags);
        }
    }
    check_required(&root, diags);
    root
}

fn loc(file: FileId, s: &impl Span) -> Loc {
    Loc::new(file, s.span().unwrap_or(0..0))
}

fn decode_body(
    file: FileId,
    vars: &Bindings,
    body: &Body,
    into: &mut Block,
    diags: &mut Diagnostics,
) {
    for structure in body.iter() {
        decode_structure(file, vars, structure, into, diags);
    }
}

fn decode_structure(
    file: FileId,
    vars: &Bindings,
    s: &Structure,
    into: &mut Block,
    diags: &mut Diagnostics,
) {
    match s {
        Structure::Attribute(a) => decode_attr(file, vars, a, into, diags),
        Structure::Block(b) => decode_block(file, vars, b, into, diags),
    }
}

/// Decodes one nested block into `into`, or reports why it cannot be there.
fn decode_block(
    file: FileId,
    vars: &Bindings,
    b: &hcl_edit::structure::Block,
    into: &mut Block,
    diags: &mut Diagnostics,
) {
    let spec = into.spec;
    let name = b.ident.as_str();
    let ident_loc = loc(file, &b.ident);
    let Some(child) = spec.child(name) else {
        diags.push(unknown(
            Code::UnknownBlock,
            "block",
            name,
            spec,
            ident_loc,
            spec.attr(name).is_some(),
        ));
        return;
    };
    let labels: Vec<(String, Loc)> = b
        .labels
        .iter()
        .map(|l| (l.as_str().to_string(), loc(file, l)))
        .collect();
    let end = labels
        .last()
        .map_or(ident_loc.span.end, |(_, l)| l.span.end);
    let header = Loc::new(file, ident_loc.span.start..end);
    if !labels_fit(name, child.block, &header, labels.len(), diags)
        || repeats_single_block(name, child, into, &header, diags)
        || repeats_labels(name, child, into, &labels, diags)
    {
        rejected(file, vars, b, child.block, diags);
        return;
    }
    let key = (
        child.block.name,
        labels.iter().map(|l| l.0.clone()).collect(),
    );
    let mut decoded = Block::new(child.block, header, labels);
    decode_body(file, vars, &b.body, &mut decoded, diags);
    check_required(&decoded, diags);
    let siblings = into.children.or_default(child.block.name);
    into.by_label.insert(key, siblings.len());
    siblings.push(decoded);
}

/// Reports a block written with the wrong number of labels; false when it has.
fn labels_fit(
    name: &str,
    spec: &BlockSpec,
    header: &Loc,
    found: usize,
    diags: &mut Diagnostics,
) -> bool {
    let want = spec.labels.len();
    if found == want {
        return true;
    }
    let d = Diagnostic::error(
        Code::Labels,
        header.clone(),
        match want {
            0 => format!("`{name}` blocks take no label"),
            _ => format!(
                "`{name}` blocks take {want} label ({}), found {found}",
                spec.labels.join(", "),
            ),
        },
    )
    .label("here")
    .help(match want {
        0 => format!("write `{name} {{ ... }}`"),
        _ => format!("write `{name} \"{}\" {{ ... }}`", spec.labels[0]),
    });
    diags.push(d);
    false
}

/// Reports a second block of a type that may appear only once; true when it is one.
fn repeats_single_block(
    name: &str,
    child: &ChildSpec,
    into: &Block,
    header: &Loc,
    diags: &mut Diagnostics,
) -> bool {
    if child.multiple {
        return false;
    }
    let Some(first) = into.blocks(child.block.name).first() else {
        return false;
    };
    diags.push(
        Diagnostic::error(
            Code::DuplicateBlock,
            header.clone(),
            format!("`{name}` may appear only once here"),
        )
        .label("second definition")
        .with_secondary(first.header.clone(), "first defined here"),
    );
    true
}

/// Reports a block whose labels a sibling of the same type already has; true when it does.
fn repeats_labels(
    name: &str,
    child: &ChildSpec,
    into: &Block,
    labels: &[(String, Loc)],
    diags: &mut Diagnostics,
) -> bool {
    if !child.multiple {
        return false;
    }
    let key: (&str, Vec<String>) = (
        child.block.name,
        labels.iter().map(|l| l.0.clone()).collect(),
    );
    let Some(first) = into
        .by_label
        .get(&key)
        .and_then(|i| into.blocks(child.block.name).get(*i))
    else {
        return false;
    };
    let what = labels[0].0.clone();
    diags.push(
        Diagnostic::error(
            Code::DuplicateLabel,
            labels[0].1.clone(),
            format!("{name} \"{what}\" is defined twice"),
        )
        .label("second definition")
        .with_secondary(first.label_loc(), "first defined here")
        .help(format!("each {name} needs a unique label")),
    );
    true
}

/// Decodes the body of a block that was rejected (wrong labels, a duplicate), so the problems
/// inside it are still reported; the result is dropped.
fn rejected(
    file: FileId,
    vars: &Bindings,
    b: &hcl_edit::structure::Block,
    spec: &'static BlockSpec,
    diags: &mut Diagnostics,
) {
    let mut scratch = Block::new(spec, Loc::new(file, 0..0), Vec::new());
    decode_body(file, vars, &b.body, &mut scratch, diags);
}

fn unknown(
    code: Code,
    what: &str,
    name: &str,
    spec: &BlockSpec,
    at: Loc,
    other_kind_exists: bool,
) -> Diagnostic {
    let within = if spec.name.is_empty() {
        "at the top level".to_string()
    } else {
        format!("in `{}`", spec.name)
    };
    let mut d = Diagnostic::error(code, at, format!("unknown {what} `{name}` {within}"));
    if other_kind_exists {
        return match what {
            "block" => d
                .label("an attribute, not a block")
                .help(format!("write `{name} = ...`")),
            _ => d
                .label("a block, not an attribute")
                .help(format!("write `{name} {{ ... }}`")),
        };
    }
    let names = spec
        .attrs
        .iter()
        .map(|a| a.name)
        .chain(spec.blocks.iter().map(|c| c.block.name));
    d = d.label(format!("unknown {what}"));
    match suggest(name, names.clone()) {
        Some(s) => d.help(format!("did you mean `{s}`?")),
        None => d.help(format!(
            "expected one of: {}",
            names.collect::<Vec<_>>().join(", ")
        )),
    }
}

fn decode_attr(
    file: FileId,
    vars: &Bindings,
    a: &Attribute,
    into: &mut Block,
    diags: &mut Diagnostics,
) {
    let spec = into.spec;
    let name = a.key.as_str();
    let key = loc(file, &a.key);
    let Some(attr) = spec.attr(name) else {
        diags.push(unknown(
            Code::UnknownAttribute,
            "attribute",
            name,
            spec,
            key,
            spec.child(name).is_some(),
        ));
        return;
    };
    if let Some(first) = into.written.get(attr.name) {
        diags.push(
            Diagnostic::error(
                Code::DuplicateAttribute,
                key,
                format!("`{name}` is set twice"),
            )
            .label("second definition")
            .with_secondary(first.clone(), "first set here"),
        );
        return;
    }
    into.written.insert(attr.name, key.clone());
    let value_loc = loc(file, &a.value);
    let Some(expr) = substituted(spec, attr, &a.value, vars, &value_loc, diags) else {
        return;
    };
    if let Some(value) = decode_value(file, attr, &expr, value_loc.clone(), diags) {
        if check(attr, &value, &value_loc, diags) {
            into.fields.insert(
                attr.name,
                Field {
                    value,
                    loc: value_loc,
                    key,
                },
            );
        }
    }
}

/// The attribute's expression with its variables replaced; None when a variable is not
/// allowed there or cannot be replaced (reported). `name`, `backend` and `provider` decide the
/// topology's identity, state and credentials, so they take no variables (as Terraform's
/// backends take none).
fn substituted<'e>(
    spec: &BlockSpec,
    attr: &AttrSpec,
    e: &'e Expression,
    vars: &Bindings,
    at: &Loc,
    diags: &mut Diagnostics,
) -> Option<std::borrow::Cow<'e, Expression>> {
    let fixed = matches!(spec.name, "backend" | "provider")
        || (spec.name.is_empty() && attr.name == "name");
    if fixed && mentions_var(e) {
        let place = format!(
            "`{}`",
            if spec.name.is_empty() {
                "name"
            } else {
                spec.name
            }
        );
        diags.push(
            Diagnostic::error(
                Code::VariableNotAllowed,
                at.clone(),
                format!("{place} takes no variables: it decides the topology's identity, state and credentials"),
            )
            .label("a variable")
            .help("write the value itself; keep one file per environment for what differs here"),
        );
        // Decoded all the same, so nothing else is reported missing.
    }
    match vars.substitute(e, at, diags) {
        Substituted::Same => Some(std::borrow::Cow::Borrowed(e)),
        Substituted::New(new) => Some(std::borrow::Cow::Owned(new)),
        Substituted::Failed => None,
    }
}

fn type_name(kind: Kind) -> &'static str {
    match kind {
        Kind::String | Kind::Enum(_) => "a string",
        Kind::Integer => "a whole number",
        Kind::Number => "a number",
        Kind::Bool => "true or false",
        Kind::Duration => "a duration string such as \"45s\"",
        Kind::StringList => "a list of strings",
        Kind::StringMap => "an object of strings",
        Kind::Literal => "a string, number or bool",
    }
}

fn found_name(e: &Expression) -> &'static str {
    match e {
        Expression::Null(_) => "null",
        Expression::Bool(_) => "a boolean",
        Expression::Number(_) => "a number",
        Expression::String(_) => "a string",
        Expression::Array(_) => "a list",
        Expression::Object(_) => "an object",
        Expression::UnaryOp(_) => "a number",
        _ => "an expression",
    }
}

/// A literal number, negative ones included (`-1` parses as a unary operation).
fn literal_number(e: &Expression) -> Option<f64> {
    match e {
        Expression::Number(n) => n.value().as_f64(),
        Expression::UnaryOp(op) if *op.operator.value() == UnaryOperator::Neg => {
            literal_number(&op.expr).map(|n| -n)
        }
        Expression::Parenthesis(p) => literal_number(p.inner()),
        _ => None,
    }
}

fn is_literal(e: &Expression) -> bool {
    matches!(
        e,
        Expression::Null(_)
            | Expression::Bool(_)
            | Expression::Number(_)
            | Expression::String(_)
            | Expression::Array(_)
            | Expression::Object(_)
    ) || literal_number(e).is_some()
}

fn decode_value(
    file: FileId,
    attr: &AttrSpec,
    e: &Expression,
    at: Loc,
    diags: &mut Diagnostics,
) -> Option<Value> {
    if !is_literal(e) {
        not_literal(attr, e, at, diags);
        return None;
    }
    match attr.kind {
        Kind::String | Kind::Enum(_) | Kind::Duration => decode_string(attr, e, at, diags),
        Kind::Integer | Kind::Number => decode_number(attr, e, at, diags),
        Kind::Bool => match e {
            Expression::Bool(b) => Some(Value::Bool(*b.value())),
            _ => wrong_type(attr, e, at, None, diags),
        },
        Kind::StringList => decode_string_list(file, attr, e, at, diags),
        Kind::StringMap => decode_string_map(file, attr, e, at, diags),
        Kind::Literal => match e {
            Expression::String(s) => Some(Value::Str(s.value().to_string())),
            Expression::Bool(b) => Some(Value::Bool(*b.value())),
            _ => literal_number(e)
                .map(Value::Num)
                .or_else(|| wrong_type(attr, e, at, None, diags)),
        },
    }
}

/// Reports an expression (a template, variable or function call) where a literal belongs.
fn not_literal(attr: &AttrSpec, e: &Expression, at: Loc, diags: &mut Diagnostics) {
    let what = match e {
        Expression::StringTemplate(_) | Expression::HeredocTemplate(_) => {
            "a template (`${...}` or heredoc)"
        }
        Expression::Variable(_) | Expression::Traversal(_) => "a variable reference",
        Expression::FuncCall(_) => "a function call",
        _ => "an expression",
    };
    diags.push(
        Diagnostic::error(
            Code::Expression,
            at,
            format!("`{}` must be a literal value, not {what}", attr.name),
        )
        .label(format!("expected {}", type_name(attr.kind)))
        .help("Meridian reads literal values and variables (`var.NAME`, `\"${var.NAME}\"`): no functions, other references or expressions"),
    );
}

/// Reports a literal of the wrong type, with an optional hint; always `None`.
fn wrong_type(
    attr: &AttrSpec,
    e: &Expression,
    at: Loc,
    hint: Option<String>,
    diags: &mut Diagnostics,
) -> Option<Value> {
    let mut d = Diagnostic::error(
        Code::WrongType,
        at,
        format!(
            "`{}` must be {}, found {}",
            attr.name,
            type_name(attr.kind),
            found_name(e)
        ),
    )
    .label(format!("expected {}", type_name(attr.kind)));
    if let Some(h) = hint {
        d = d.help(h);
    }
    diags.push(d);
    None
}

/// Decodes a string, enum or duration attribute.
fn decode_string(
    attr: &AttrSpec,
    e: &Expression,
    at: Loc,
    diags: &mut Diagnostics,
) -> Option<Value> {
    let Expression::String(s) = e else {
        let hint = literal_number(e).map(|n| format!("quote it: \"{n}\""));
        return wrong_type(attr, e, at, hint, diags);
    };
    let s = s.value().to_string();
    match attr.kind {
        Kind::Enum(values) if !values.contains(&s.as_str()) => {
            let mut d = Diagnostic::error(
                Code::EnumValue,
                at,
                format!("`{}` cannot be \"{s}\"", attr.name),
            )
            .label(format!("expected one of: {}", values.join(", ")));
            let exact_case = values.iter().find(|v| v.eq_ignore_ascii_case(&s)).copied();
            if let Some(m) = exact_case.or_else(|| suggest(&s, values.iter().copied())) {
                d = d.help(format!("did you mean \"{m}\"?"));
            }
            diags.push(d);
            None
        }
        Kind::Duration => {
            match Duration::parse(&s) {
                Ok(d) => Some(Value::Dur(d)),
                Err(why) => {
                    diags.push(
                    Diagnostic::error(
                        Code::Duration,
                        at,
                        format!("`{}` is not a duration: {why}", attr.name),
                    )
                    .label("not a duration")
                    .help("write a duration such as \"500ms\", \"45s\", \"8m\", \"1h\" or \"1m30s\""),
                );
                    None
                }
            }
        }
        _ => Some(Value::Str(s)),
    }
}

/// Decodes an integer or number attribute.
fn decode_number(
    attr: &AttrSpec,
    e: &Expression,
    at: Loc,
    diags: &mut Diagnostics,
) -> Option<Value> {
    let Some(n) = literal_number(e) else {
        let hint = match e {
            Expression::String(s) if s.value().trim().parse::<f64>().is_ok() => {
                Some(format!("remove the quotes: {}", s.value().trim()))
            }
            _ => None,
        };
        return wrong_type(attr, e, at, hint, diags);
    };
    if attr.kind != Kind::Integer {
        return Some(Value::Num(n));
    }
    if n.fract() != 0.0 {
        return wrong_type(attr, e, at, None, diags);
    }
    if n.abs() > 9.0e15 {
        // Out of every range the format has; report it under the range's code.
        let value = Value::Num(n);
        if !check(attr, &value, &at, diags) {
            return None;
        }
        return wrong_type(attr, e, at, None, diags);
    }
    Some(Value::Int(n as i64))
}

/// Decodes a list of strings, reporting every element that is not a literal string.
fn decode_string_list(
    file: FileId,
    attr: &AttrSpec,
    e: &Expression,
    at: Loc,
    diags: &mut Diagnostics,
) -> Option<Value> {
    let Expression::Array(items) = e else {
        let hint =
            matches!(e, Expression::String(_)).then(|| "wrap it in a list: [\"...\"]".to_string());
        return wrong_type(attr, e, at, hint, diags);
    };
    let mut out = Vec::new();
    let mut ok = true;
    for item in items.iter() {
        // An element a variable gave has no place of its own: the attribute's.
        let item_loc = item
            .span()
            .map_or_else(|| at.clone(), |s| Loc::new(file, s));
        match item {
            Expression::String(s) => out.push((s.value().to_string(), item_loc)),
            other if !is_literal(other) => {
                ok = false;
                diags.push(
                    Diagnostic::error(
                        Code::Expression,
                        item_loc,
                        format!("`{}` must hold literal strings, not expressions", attr.name),
                    )
                    .label("expected a string")
                    .help("Meridian reads plain values only: no variables, functions or interpolation"),
                );
            }
            other => {
                ok = false;
                diags.push(
                    Diagnostic::error(
                        Code::WrongType,
                        item_loc,
                        format!(
                            "`{}` must be a list of strings; this element is {}",
                            attr.name,
                            found_name(other)
                        ),
                    )
                    .label("expected a string"),
                );
            }
        }
    }
    ok.then_some(Value::List(out))
}

fn decode_string_map(
    file: FileId,
    attr: &AttrSpec,
    e: &Expression,
    at: Loc,
    diags: &mut Diagnostics,
) -> Option<Value> {
    let Expression::Object(object) = e else {
        return wrong_type(attr, e, at, None, diags);
    };
    let mut out = Vec::new();
    let mut ok = true;
    for (key, value) in object.iter() {
        let name = match key {
            hcl_edit::expr::ObjectKey::Ident(i) => Some(i.value().as_str().to_string()),
            hcl_edit::expr::ObjectKey::Expression(Expression::String(s)) => {
                Some(s.value().to_string())
            }
            hcl_edit::expr::ObjectKey::Expression(_) => None,
        };
        let value_loc = value
            .expr()
            .span()
            .map_or_else(|| at.clone(), |s| Loc::new(file, s));
        match (name, value.expr()) {
            (Some(k), Expression::String(v)) => out.push((k, v.value().to_string(), value_loc)),
            _ => {
                ok = false;
                diags.push(
                    Diagnostic::error(
                        Code::WrongType,
                        value_loc,
                        format!("`{}` must map names to strings", attr.name),
                    )
                    .label("expected name = \"string\""),
                );
            }
        }
    }
    ok.then_some(Value::Map(out))
}

/// Range, allowed-number and length checks; false when the value is rejected.
fn check(attr: &AttrSpec, v: &Value, at: &Loc, diags: &mut Diagnostics) -> bool {
    match (attr.check, v) {
        (Check::Range { min, max, code }, Value::Int(_) | Value::Num(_)) => {
            let n = match v {
                Value::Int(i) => *i as f64,
                Value::Num(n) => *n,
                _ => unreachable!(),
            };
            if n < min || n > max {
                let range = if max == f64::MAX {
                    format!("at least {min}")
                } else {
                    format!("between {min} and {max}")
                };
                diags.push(
                    Diagnostic::error(
                        code,
                        at.clone(),
                        format!("`{}` must be {range}, found {n}", attr.name),
                    )
                    .label("out of range"),
                );
                return false;
            }
        }
        (Check::OneOf { values, code }, Value::Int(i)) if !values.contains(i) => {
            let allowed: Vec<String> = values.iter().map(i64::to_string).collect();
            diags.push(
                Diagnostic::error(
                    code,
                    at.clone(),
                    format!(
                        "`{}` must be {}, found {i}",
                        attr.name,
                        allowed.join(" or ")
                    ),
                )
                .label("not allowed")
                .help(format!("Route 53 accepts only {}", allowed.join(" or "))),
            );
            return false;
        }
        (Check::MaxLen { max, code }, Value::Str(s)) if s.chars().count() > max => {
            diags.push(
                Diagnostic::error(
                    code,
                    at.clone(),
                    format!(
                        "`{}` is {} characters long; Route 53 accepts at most {max}",
                        attr.name,
                        s.chars().count()
                    ),
                )
                .label("too long"),
            );
            return false;
        }
        _ => {}
    }
    true
}

fn check_required(block: &Block, diags: &mut Diagnostics) {
    let spec = block.spec;
    let what = if spec.name.is_empty() {
        "the topology".to_string()
    } else if block.labels.is_empty() {
        format!("`{}`", spec.name)
    } else {
        format!("{} \"{}\"", spec.name, block.label())
    };
    for a in spec.attrs.iter().filter(|a| a.required) {
        if !block.is_written(a.name) {
            diags.push(
                Diagnostic::error(
                    Code::MissingAttribute,
                    block.header.clone(),
                    format!("{what} is missing `{}`", a.name),
                )
                .label(format!("`{}` required here", a.name))
                .help(format!("add `{} = ...`: {}", a.name, a.doc)),
            );
        }
    }
    for c in spec.blocks.iter().filter(|c| c.required) {
        if block.blocks(c.block.name).is_empty() {
            diags.push(
                Diagnostic::error(
                    Code::MissingBlock,
                    block.header.clone(),
                    format!("{what} has no `{}` block", c.block.name),
                )
                .label(format!("needs at least one `{}`", c.block.name))
                .help(c.block.doc),
            );
        }
    }
}
