//! Variables, so one topology serves staging and prod: `variable "NAME" { type, default }`
//! blocks, values given from outside the files, and `var.NAME` references replaced by those
//! values before decoding (a whole value, `"${var.NAME}"` in a string, or an element of a list
//! or object).
//!
//! Values come, each overriding the one before: the declared `default`; the environment
//! (`MERIDIAN_VAR_NAME`); `--var-file` files (`name = value`, in order); `--var NAME=VALUE` (in
//! order); or, for a saved plan's apply, the values it was planned with. The environment and
//! `--var` arrive as the lines of a synthetic source ([`GIVEN_NAME`]), so every diagnostic
//! about them points at the value as it was given.
//!
//! A value is typed by its declaration (`string` by default; a `number` or `bool` given as text
//! is read as one, as Terraform reads `-var`), and validated where it is used like any literal.

use crate::diagnostics::{suggest, Code, Diagnostic, Diagnostics};
#[cfg(doc)]
use crate::source::GIVEN_NAME;
use crate::source::{FileId, Loc, Role, Sources};
use hcl_edit::expr::{Expression, UnaryOperator};
use hcl_edit::structure::{Body, Structure};
use hcl_edit::template::Element;
use hcl_edit::Span;
use std::collections::BTreeMap;

/// A variable's declared type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarType {
    String,
    Number,
    Bool,
}

impl VarType {
    fn parse(s: &str) -> VarType {
        match s {
            "number" => VarType::Number,
            "bool" => VarType::Bool,
            _ => VarType::String,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            VarType::String => "string",
            VarType::Number => "number",
            VarType::Bool => "bool",
        }
    }
}

/// A variable's value.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(untagged)]
pub enum Literal {
    Str(String),
    Num(f64),
    Bool(bool),
}

impl serde::Serialize for Literal {
    /// As JSON's string, number (whole numbers without `.0`) or bool.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Literal::Str(v) => s.serialize_str(v),
            Literal::Num(n) if n.fract() == 0.0 && n.abs() < 1e15 => s.serialize_i64(*n as i64),
            Literal::Num(n) => s.serialize_f64(*n),
            Literal::Bool(b) => s.serialize_bool(*b),
        }
    }
}

impl Literal {
    /// As text inside a string (`"${var.port}"`): numbers without a needless `.0`.
    fn text(&self) -> String {
        match self {
            Literal::Str(s) => s.clone(),
            Literal::Num(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
            Literal::Num(n) => n.to_string(),
            Literal::Bool(b) => b.to_string(),
        }
    }

    fn expression(&self) -> Expression {
        match self {
            Literal::Str(s) => Expression::from(s.clone()),
            Literal::Num(n) if n.fract() == 0.0 && n.abs() < 1e15 => {
                Expression::from(hcl_edit::Number::from(*n as i64))
            }
            Literal::Num(n) => Expression::from(*n),
            Literal::Bool(b) => Expression::from(*b),
        }
    }

    /// `self` as `ty`, converting as Terraform does (a number or bool to its text, a numeric
    /// string to a number, "true"/"false" to a bool); None when it cannot be.
    fn convert(self, ty: VarType) -> Option<Literal> {
        match (ty, self) {
            (VarType::String, l) => Some(Literal::Str(l.text())),
            // A value is a finite number: `inf`, `NaN` or 1e400 are none (JSON has no such).
            (VarType::Number, Literal::Num(n)) => n.is_finite().then_some(Literal::Num(n)),
            (VarType::Number, Literal::Str(s)) => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .map(Literal::Num),
            (VarType::Bool, Literal::Bool(b)) => Some(Literal::Bool(b)),
            (VarType::Bool, Literal::Str(s)) => match s.as_str() {
                "true" => Some(Literal::Bool(true)),
                "false" => Some(Literal::Bool(false)),
                _ => None,
            },
            _ => None,
        }
    }
}

/// One declared variable.
#[derive(Debug, Clone)]
struct Declared {
    ty: VarType,
    value: Option<Literal>,
    header: Loc,
    /// A value was given that could not be used (reported where it was given).
    refused: bool,
    /// Why the environment's value could not be used: reported only if nothing given after
    /// it (a file, `--var`) overrides it.
    pending: Option<Diagnostics>,
}

/// The declared variables and their values.
#[derive(Debug, Clone, Default)]
pub struct Bindings {
    declared: BTreeMap<String, Declared>,
}

/// What substitution made of an expression.
pub enum Substituted {
    /// Nothing to replace.
    Same,
    /// The expression with every reference replaced.
    New(Expression),
    /// A reference that cannot be replaced (reported, or already reported).
    Failed,
}

impl Bindings {
    /// Reads the declarations of the topology's files and the values given (`var_files`, the
    /// synthetic source of [`GIVEN_NAME`]), reporting what does not fit.
    pub fn bind(
        topology: &[(FileId, Body)],
        var_files: &[(FileId, Body)],
        sources: &Sources,
        diags: &mut Diagnostics,
    ) -> Bindings {
        let mut b = Bindings::default();
        for (file, body) in topology {
            b.declare(*file, body, diags);
        }
        let given = given_lines(sources);
        for g in given.iter().filter(|g| g.origin == Origin::Env) {
            b.assign_text(g, diags);
        }
        for (file, body) in var_files {
            b.assign_file(*file, body, diags);
        }
        for g in given.iter().filter(|g| g.origin != Origin::Env) {
            b.assign_text(g, diags);
        }
        for d in b.declared.values_mut() {
            if let Some(p) = d.pending.take() {
                diags.extend(p);
            }
        }
        for (name, d) in &b.declared {
            if d.value.is_none() && !d.refused {
                diags.push(missing(name, d));
            }
        }
        b
    }

    /// The values of the declared variables that have one, by name.
    pub fn values(&self) -> BTreeMap<String, Literal> {
        self.declared
            .iter()
            .filter_map(|(n, d)| Some((n.clone(), d.value.clone()?)))
            .collect()
    }

    fn declare(&mut self, file: FileId, body: &Body, diags: &mut Diagnostics) {
        for block in body.iter().filter_map(Structure::as_block) {
            if block.ident.as_str() != "variable" {
                continue;
            }
            let Some(name) = block.labels.first().map(|l| l.as_str().to_string()) else {
                continue;
            };
            if self.declared.contains_key(&name) {
                continue; // the decoder reports the duplicate
            }
            let attr = |key: &str| {
                block
                    .body
                    .iter()
                    .filter_map(Structure::as_attribute)
                    .find(|a| a.key.as_str() == key)
            };
            let ty = attr("type")
                .and_then(|a| match &a.value {
                    Expression::String(s) => Some(VarType::parse(s.value())),
                    _ => None,
                })
                .unwrap_or(VarType::String);
            let header = Loc::new(file, block.ident.span().unwrap_or(0..0));
            let mut d = Declared {
                ty,
                value: None,
                header,
                refused: false,
                pending: None,
            };
            if let Some(a) = attr("default") {
                let at = Loc::new(file, a.value.span().unwrap_or(0..0));
                d.value = typed(&name, ty, literal(&a.value), at, diags);
                d.refused = d.value.is_none();
            }
            self.declared.insert(name, d);
        }
    }

    fn assign_file(&mut self, file: FileId, body: &Body, diags: &mut Diagnostics) {
        for s in body.iter() {
            let (name, at, value) = match s {
                Structure::Attribute(a) => (
                    a.key.as_str().to_string(),
                    Loc::new(file, a.value.span().unwrap_or(0..0)),
                    literal(&a.value),
                ),
                Structure::Block(b) => {
                    let at = Loc::new(file, b.ident.span().unwrap_or(0..0));
                    diags.push(
                        Diagnostic::error(
                            Code::VariableSyntax,
                            at,
                            "a variables file holds `name = value` lines, not blocks",
                        )
                        .label("a block")
                        .help("write each value as NAME = \"value\""),
                    );
                    continue;
                }
            };
            self.assign(&name, value, at, Severity::Warning, diags);
        }
    }

    fn assign_text(&mut self, g: &Given, diags: &mut Diagnostics) {
        let Some(name) = &g.name else {
            diags.push(
                Diagnostic::error(
                    Code::VariableSyntax,
                    g.at.clone(),
                    "a variable's value is given as NAME=VALUE",
                )
                .label("no `=`")
                .help("write --var NAME=VALUE, e.g. --var env=prod"),
            );
            return;
        };
        let severity = match g.origin {
            Origin::Env => Severity::Ignore,
            _ => Severity::Error,
        };
        if g.origin == Origin::Env {
            // The lowest of the given values: a bad one matters only if nothing overrides it.
            let mut later = Diagnostics::default();
            self.assign(
                name,
                Some(g.value.clone()),
                g.at.clone(),
                severity,
                &mut later,
            );
            if let Some(d) = self.declared.get_mut(name).filter(|_| later.has_errors()) {
                d.pending = Some(later);
            }
            return;
        }
        self.assign(name, Some(g.value.clone()), g.at.clone(), severity, diags);
    }

    /// Gives `name` the value `value` (None: not a literal, reported here) read at `at`; a
    /// value for an undeclared variable is reported at `undeclared`'s severity.
    fn assign(
        &mut self,
        name: &str,
        value: Option<Literal>,
        at: Loc,
        undeclared: Severity,
        diags: &mut Diagnostics,
    ) {
        let Some(d) = self.declared.get_mut(name) else {
            let names: Vec<&str> = self.declared.keys().map(String::as_str).collect();
            let mut diag = match undeclared {
                Severity::Ignore => return,
                Severity::Warning => Diagnostic::warning(
                    Code::UnknownVariable,
                    at,
                    format!("a value for `{name}`, which the topology does not declare"),
                ),
                Severity::Error => Diagnostic::error(
                    Code::UnknownVariable,
                    at,
                    format!("a value for `{name}`, which the topology does not declare"),
                ),
            }
            .label("no `variable` block has this name");
            diag = match suggest(name, names.iter().copied()) {
                Some(s) => diag.help(format!("did you mean `{s}`?")),
                None => diag.help(format!(
                    "declare it: variable \"{name}\" {{ type = \"string\" }}"
                )),
            };
            diags.push(diag);
            return;
        };
        match typed(name, d.ty, value, at, diags) {
            Some(v) => {
                d.value = Some(v);
                d.refused = false;
                d.pending = None;
            }
            None => d.refused = true,
        }
    }

    /// `e` with its `var.NAME` references replaced; `at` is where `e` is, for diagnostics.
    pub fn substitute(&self, e: &Expression, at: &Loc, diags: &mut Diagnostics) -> Substituted {
        if !mentions_var(e) {
            return Substituted::Same;
        }
        match self.replaced(e, at, diags) {
            Some(new) => Substituted::New(new),
            None => Substituted::Failed,
        }
    }

    fn replaced(&self, e: &Expression, at: &Loc, diags: &mut Diagnostics) -> Option<Expression> {
        if let Some(name) = var_name(e) {
            return self.lookup(name, at, diags).map(|l| l.expression());
        }
        match e {
            Expression::StringTemplate(t) => {
                let mut text = String::new();
                for element in t.iter() {
                    match element {
                        Element::Literal(s) => text.push_str(s.value()),
                        Element::Interpolation(i) => match var_name(&i.expr) {
                            Some(name) => text.push_str(&self.lookup(name, at, diags)?.text()),
                            None => return Some(e.clone()), // the decoder reports it
                        },
                        Element::Directive(_) => return Some(e.clone()),
                    }
                }
                Some(Expression::from(text))
            }
            Expression::Array(items) => {
                let mut out = hcl_edit::expr::Array::default();
                for item in items.iter() {
                    out.push(self.replaced(item, at, diags)?);
                }
                Some(Expression::Array(out))
            }
            Expression::Object(object) => {
                let mut out = hcl_edit::expr::Object::default();
                for (key, value) in object.iter() {
                    let v = self.replaced(value.expr(), at, diags)?;
                    out.insert(key.clone(), hcl_edit::expr::ObjectValue::new(v));
                }
                Some(Expression::Object(out))
            }
            _ => Some(e.clone()),
        }
    }

    fn lookup(&self, name: &str, at: &Loc, diags: &mut Diagnostics) -> Option<Literal> {
        match self.declared.get(name) {
            Some(d) => d.value.clone(), // None: reported as missing at the declaration
            None => {
                let names: Vec<&str> = self.declared.keys().map(String::as_str).collect();
                let d = Diagnostic::error(
                    Code::UndeclaredVariable,
                    at.clone(),
                    format!("`var.{name}` names no declared variable"),
                )
                .label("undeclared");
                diags.push(match suggest(name, names.iter().copied()) {
                    Some(s) => d.help(format!("did you mean `var.{s}`?")),
                    None => d.help(format!(
                        "declare it: variable \"{name}\" {{ type = \"string\" }}"
                    )),
                });
                None
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Severity {
    Ignore,
    Warning,
    Error,
}

/// Where a value given as text came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Env,
    Var,
    Saved,
}

/// One line of the synthetic source: `MERIDIAN_VAR_NAME="value"`, `--var NAME="value"`,
/// `saved NAME=JSON`, or `--var "text"` (no `=`: a syntax error).
struct Given {
    origin: Origin,
    name: Option<String>,
    value: Literal,
    at: Loc,
}

fn given_lines(sources: &Sources) -> Vec<Given> {
    let mut out = Vec::new();
    for (file, f) in sources.iter().filter(|(_, f)| f.role == Role::Given) {
        let mut offset = 0;
        for line in f.text.split_inclusive('\n') {
            if let Some(g) = given_line(file, line.trim_end_matches('\n'), offset) {
                out.push(g);
            }
            offset += line.len();
        }
    }
    out
}

fn given_line(file: FileId, line: &str, offset: usize) -> Option<Given> {
    let (origin, rest, skip) = if let Some(r) = line.strip_prefix("MERIDIAN_VAR_") {
        (Origin::Env, r, "MERIDIAN_VAR_".len())
    } else if let Some(r) = line.strip_prefix("--var ") {
        (Origin::Var, r, "--var ".len())
    } else {
        (Origin::Saved, line.strip_prefix("saved ")?, "saved ".len())
    };
    let whole = Loc::new(file, offset..offset + line.len());
    let Some(eq) = rest.find('=').filter(|i| !rest[..*i].contains('"')) else {
        let value = serde_json::from_str::<String>(rest).unwrap_or_default();
        return Some(Given {
            origin,
            name: None,
            value: Literal::Str(value),
            at: whole,
        });
    };
    let start = offset + skip + eq + 1;
    let json = &rest[eq + 1..];
    let value = match serde_json::from_str::<serde_json::Value>(json).ok()? {
        serde_json::Value::String(s) => Literal::Str(s),
        serde_json::Value::Bool(b) => Literal::Bool(b),
        serde_json::Value::Number(n) => Literal::Num(n.as_f64()?),
        _ => return None,
    };
    Some(Given {
        origin,
        name: Some(rest[..eq].to_string()),
        value,
        at: Loc::new(file, start..start + json.len()),
    })
}

/// The variable `e` names, if it is exactly `var.NAME`.
fn var_name(e: &Expression) -> Option<&str> {
    let Expression::Traversal(t) = e else {
        return None;
    };
    let Expression::Variable(root) = &t.expr else {
        return None;
    };
    match t.operators.as_slice() {
        [op] if root.as_str() == "var" => match op.value() {
            hcl_edit::expr::TraversalOperator::GetAttr(name) => Some(name.as_str()),
            _ => None,
        },
        _ => None,
    }
}

/// Whether `e` refers to a variable anywhere (`var.NAME` whole, in a template, a list or an
/// object).
pub fn mentions_var(e: &Expression) -> bool {
    if var_name(e).is_some() {
        return true;
    }
    match e {
        Expression::StringTemplate(t) => t.iter().any(|el| match el {
            Element::Interpolation(i) => mentions_var(&i.expr),
            _ => false,
        }),
        Expression::Array(items) => items.iter().any(mentions_var),
        Expression::Object(o) => o.iter().any(|(_, v)| mentions_var(v.expr())),
        _ => false,
    }
}

/// A literal expression's value (a negative number included); None for anything else.
fn literal(e: &Expression) -> Option<Literal> {
    match e {
        Expression::String(s) => Some(Literal::Str(s.value().to_string())),
        Expression::Bool(b) => Some(Literal::Bool(*b.value())),
        Expression::Number(n) => n.value().as_f64().map(Literal::Num),
        Expression::UnaryOp(op) if *op.operator.value() == UnaryOperator::Neg => {
            match literal(&op.expr)? {
                Literal::Num(n) => Some(Literal::Num(-n)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// `value` as the variable's type, or a diagnostic at `at`.
fn typed(
    name: &str,
    ty: VarType,
    value: Option<Literal>,
    at: Loc,
    diags: &mut Diagnostics,
) -> Option<Literal> {
    let Some(value) = value else {
        diags.push(not_literal(name, at));
        return None;
    };
    let shown = value.text();
    let converted = value.convert(ty);
    if converted.is_none() {
        diags.push(
            Diagnostic::error(
                Code::VariableType,
                at,
                format!("`{name}` is a {}, and \"{shown}\" is not one", ty.as_str()),
            )
            .label(format!("expected a {}", ty.as_str()))
            .help(match ty {
                VarType::Number => "give a number, e.g. 60",
                VarType::Bool => "give true or false",
                VarType::String => "give a string",
            }),
        );
    }
    converted
}

fn not_literal(name: &str, at: Loc) -> Diagnostic {
    Diagnostic::error(
        Code::VariableSyntax,
        at,
        format!("the value of `{name}` must be a literal string, number or bool"),
    )
    .label("not a literal")
    .help("variables hold plain values: no references, functions or templates")
}

fn missing(name: &str, d: &Declared) -> Diagnostic {
    let env = format!("MERIDIAN_VAR_{name}");
    Diagnostic::error(
        Code::MissingVariable,
        d.header.clone(),
        format!("variable `{name}` has no value"),
    )
    .label("no default, and no value given")
    .help(format!(
        "give one: --var {name}=VALUE, a --var-file with {name} = VALUE, or {env}; or declare a default"
    ))
}
