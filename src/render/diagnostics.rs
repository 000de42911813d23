//! Diagnostics as miette snippets (people) or JSON (CI and editors).

use crate::diagnostics::{Diagnostic, Diagnostics, Label, Severity};
use crate::source::Sources;
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use serde_json::{json, Value};
use std::fmt;

/// Version of the JSON document [`json`] returns; bumped on any incompatible change.
pub const JSON_FORMAT_VERSION: u32 = 1;

/// Adapts one [`Diagnostic`] to miette, with the text of its file.
struct Snippet {
    message: String,
    code: &'static str,
    severity: miette::Severity,
    help: Option<String>,
    source: NamedSource<String>,
    labels: Vec<LabeledSpan>,
    related: Vec<Snippet>,
}

impl fmt::Debug for Snippet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for Snippet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Snippet {}

impl miette::Diagnostic for Snippet {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        (!self.code.is_empty()).then(|| Box::new(self.code) as Box<dyn fmt::Display>)
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        (!self.related.is_empty()).then(|| {
            Box::new(self.related.iter().map(|r| r as &dyn miette::Diagnostic))
                as Box<dyn Iterator<Item = &dyn miette::Diagnostic>>
        })
    }
}

fn span(label: &Label, primary: bool) -> LabeledSpan {
    let s = &label.loc.span;
    let text = (!label.text.is_empty()).then(|| label.text.clone());
    let span = SourceSpan::new(s.start.into(), s.end.saturating_sub(s.start));
    if primary {
        LabeledSpan::new_primary_with_span(text, span)
    } else {
        LabeledSpan::new_with_span(text, span)
    }
}

fn snippet(d: &Diagnostic, sources: &Sources) -> Snippet {
    let file = sources.get(d.file());
    let mut labels = vec![span(&d.primary, true)];
    let mut related = Vec::new();
    for l in &d.secondary {
        if l.loc.file == d.file() {
            labels.push(span(l, false));
        } else {
            let other = sources.get(l.loc.file);
            related.push(Snippet {
                message: l.text.clone(),
                code: "",
                severity: miette::Severity::Advice,
                help: None,
                source: NamedSource::new(other.name.clone(), other.text.to_string()),
                labels: vec![span(l, true)],
                related: Vec::new(),
            });
        }
    }
    Snippet {
        message: d.message.clone(),
        code: d.code.as_str(),
        severity: match d.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        },
        help: d.help.clone(),
        source: NamedSource::new(file.name.clone(), file.text.to_string()),
        labels,
        related,
    }
}

/// Every diagnostic as a miette snippet with file:line:col, one after another.
pub fn human(diags: &Diagnostics, sources: &Sources, color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    let mut out = String::new();
    for d in diags.iter() {
        let mut s = String::new();
        // Writing into a String cannot fail.
        let _ = handler.render_report(&mut s, &snippet(d, sources));
        out.push_str(&s);
        out.push('\n');
    }
    out
}

/// "2 errors, 1 warning" style count.
pub fn summary(diags: &Diagnostics) -> String {
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    format!(
        "{}, {}",
        plural(diags.errors(), "error"),
        plural(diags.warnings(), "warning")
    )
}

/// The machine-readable form: one object per diagnostic with 1-based line and column.
pub fn json(diags: &Diagnostics, sources: &Sources) -> Value {
    let label = |l: &Label| {
        let f = sources.get(l.loc.file);
        let (line, column) = f.line_col(l.loc.span.start);
        let (end_line, end_column) = f.line_col(l.loc.span.end);
        json!({
            "file": f.name,
            "line": line,
            "column": column,
            "end_line": end_line,
            "end_column": end_column,
            "text": l.text,
        })
    };
    let items: Vec<Value> = diags
        .iter()
        .map(|d| {
            let p = label(&d.primary);
            json!({
                "code": d.code.as_str(),
                "severity": d.severity,
                "message": d.message,
                "file": p["file"],
                "line": p["line"],
                "column": p["column"],
                "end_line": p["end_line"],
                "end_column": p["end_column"],
                "label": d.primary.text,
                "help": d.help,
                "related": d.secondary.iter().map(label).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "format_version": JSON_FORMAT_VERSION,
        "valid": !diags.has_errors(),
        "errors": diags.errors(),
        "warnings": diags.warnings(),
        "diagnostics": items,
    })
}
