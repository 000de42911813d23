//! Diagnostics as miette snippets (people) or JSON (CI and editors).

use crate::diagnostics::{Diagnostic, Diagnostics, Label, Severity};
use crate::source::SourceFile;
use crate::source::Sources;
use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};
use serde_json::{json, Value};
use std::fmt;

/// Version of the JSON document [`json`] returns; bumped on any incompatible change.
/// 2: `not_shown` counts the diagnostics beyond the first 1,000.
pub const JSON_FORMAT_VERSION: u32 = 2;

/// Adapts one [`Diagnostic`] to miette, with the text of its file.
struct Snippet {
    message: String,
    code: &'static str,
    severity: miette::Severity,
    help: Option<String>,
    /// The lines around the labels; None when they are too long to show.
    source: Option<Window>,
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
        self.source.as_ref().map(|w| w as &dyn miette::SourceCode)
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

fn span(w: &Window, label: &Label, primary: bool) -> LabeledSpan {
    let s = &label.loc.span;
    let text = (!label.text.is_empty()).then(|| label.text.clone());
    let (start, end) = (w.place(s.start), w.place(s.end));
    let span = SourceSpan::new(start.into(), end.saturating_sub(start));
    if primary {
        LabeledSpan::new_primary_with_span(text, span)
    } else {
        LabeledSpan::new_with_span(text, span)
    }
}

/// The part of a file a snippet shows: the lines around its labels, with their place in the
/// file, so rendering a diagnostic costs the size of those lines, not of the file. A line
/// longer than [`MAX_SHOWN_LINE`] is cut (rustc-style) to the part around its label, with `…`
/// where text was left out.
struct Window {
    name: String,
    text: String,
    /// Byte offset and 0-based line of `text` in the file.
    offset: usize,
    first_line: usize,
    /// Where each shown line's kept text comes from: (file start, file end, start in `text`).
    kept: Vec<(usize, usize, usize)>,
    /// Some line was cut before its label: miette's column would count the kept text only.
    cut_before: bool,
}

impl Window {
    /// The offset miette is given for a file offset: `self.offset` plus its place in `text`
    /// (an offset in text that was cut away goes to the nearest kept byte).
    fn place(&self, file_offset: usize) -> usize {
        let local = self
            .kept
            .iter()
            .take_while(|(start, _, _)| *start <= file_offset)
            .last()
            .map_or(0, |(start, end, at)| {
                at + file_offset.clamp(*start, *end) - start
            });
        self.offset + local
    }
}

impl SourceCode for Window {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let local = SourceSpan::new(span.offset().saturating_sub(self.offset).into(), span.len());
        let inner = self.text.read_span(&local, before, after)?;
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            SourceSpan::new(
                (inner.span().offset() + self.offset).into(),
                inner.span().len(),
            ),
            inner.line() + self.first_line,
            inner.column(),
            inner.line_count(),
        )))
    }
}

/// Lines longer than this are cut around their label.
const MAX_SHOWN_LINE: usize = 400;
/// Of a cut line, the bytes kept before its label.
const SHOWN_BEFORE: usize = 100;

/// The lines of `file` around `labels` (two of context each side), long lines cut.
fn window(file: &SourceFile, labels: &[&Label]) -> Option<Window> {
    let start = labels.iter().map(|l| l.loc.span.start).min()?;
    let end = labels.iter().map(|l| l.loc.span.end).max()?;
    let (first, _) = file.line_col(start);
    let (last, _) = file.line_col(end);
    let from = first.saturating_sub(2).max(1);
    let to = (last + 2).min(file.lines());
    let mut w = Window {
        name: file.name.clone(),
        text: String::new(),
        offset: file.line_range(from).start,
        first_line: from - 1,
        kept: Vec::new(),
        cut_before: false,
    };
    for line in from..=to {
        let range = file.line_range(line);
        let focus = labels
            .iter()
            .map(|l| l.loc.span.start)
            .find(|o| range.contains(o) || *o == range.end);
        let (keep, before, after) = cut(&file.text, range, focus);
        w.cut_before |= before && focus.is_some();
        if before {
            w.text.push('…');
        }
        w.kept.push((keep.start, keep.end, w.text.len()));
        w.text.push_str(&file.text[keep]);
        if after {
            w.text.push('…');
        }
        if line < to {
            w.text.push('\n');
        }
    }
    Some(w)
}

/// The part of the line `range` of `text` to show: all of it, or at most [`MAX_SHOWN_LINE`]
/// bytes from a little before `focus`, at character boundaries; and whether text was cut
/// before and after it.
fn cut(
    text: &str,
    range: std::ops::Range<usize>,
    focus: Option<usize>,
) -> (std::ops::Range<usize>, bool, bool) {
    if range.len() <= MAX_SHOWN_LINE {
        return (range, false, false);
    }
    let want = focus.map_or(range.start, |f| {
        f.saturating_sub(SHOWN_BEFORE).max(range.start)
    });
    let start = crate::source::floor_char_boundary(text, want);
    let end = crate::source::floor_char_boundary(text, (start + MAX_SHOWN_LINE).min(range.end));
    (start..end, start > range.start, end < range.end)
}

/// Where a label is in its file.
fn place(file: &SourceFile, l: &Label) -> String {
    let (line, col) = file.line_col(l.loc.span.start);
    format!("{}:{line}:{col}", file.name)
}

/// What a snippet shows: a diagnostic of the topology or a lint finding.
pub struct Shown<'a> {
    pub code: &'static str,
    pub severity: miette::Severity,
    pub message: &'a str,
    pub primary: &'a Label,
    pub secondary: &'a [Label],
    pub help: Option<&'a str>,
}

impl<'a> Shown<'a> {
    fn of(d: &'a Diagnostic) -> Shown<'a> {
        Shown {
            code: d.code.as_str(),
            severity: match d.severity {
                Severity::Error => miette::Severity::Error,
                Severity::Warning => miette::Severity::Warning,
            },
            message: &d.message,
            primary: &d.primary,
            secondary: &d.secondary,
            help: d.help.as_deref(),
        }
    }
}

fn snippet(d: &Shown, sources: &Sources) -> Snippet {
    let file = sources.get(d.primary.loc.file);
    let mut same: Vec<&Label> = vec![d.primary];
    let mut related = Vec::new();
    for l in d.secondary {
        if l.loc.file == d.primary.loc.file {
            same.push(l);
            continue;
        }
        let other = sources.get(l.loc.file);
        let source = window(other, &[l]);
        related.push(Snippet {
            message: where_if_cut(l.text.clone(), source.as_ref(), other, l),
            code: "",
            severity: miette::Severity::Advice,
            help: None,
            labels: source.iter().map(|w| span(w, l, true)).collect(),
            source,
            related: Vec::new(),
        });
    }
    let source = window(file, &same);
    let labels = source
        .as_ref()
        .map(|w| {
            same.iter()
                .enumerate()
                .map(|(i, l)| span(w, l, i == 0))
                .collect()
        })
        .unwrap_or_default();
    Snippet {
        message: where_if_cut(d.message.to_string(), source.as_ref(), file, d.primary),
        code: d.code,
        severity: d.severity,
        help: d.help.map(str::to_string),
        source,
        labels,
        related,
    }
}

/// A message, with the label's real place when a cut line makes the snippet's column count
/// only the text shown.
fn where_if_cut(message: String, w: Option<&Window>, file: &SourceFile, l: &Label) -> String {
    match w {
        Some(w) if w.cut_before => format!("{message} (at {}; its line is cut)", place(file, l)),
        _ => message,
    }
}

/// Every diagnostic as a miette snippet with file:line:col, one after another.
pub fn human(diags: &Diagnostics, sources: &Sources, color: bool) -> String {
    let mut out = snippets(diags.iter().map(Shown::of), sources, color);
    if diags.not_shown() > 0 {
        out.push_str(&format!(
            "... and {} more diagnostics not shown (Meridian collects at most {} per run)\n",
            diags.not_shown(),
            crate::diagnostics::MAX_DIAGNOSTICS
        ));
    }
    out
}

/// Snippets one after another, each with file:line:col.
pub fn snippets<'a>(
    items: impl Iterator<Item = Shown<'a>>,
    sources: &Sources,
    color: bool,
) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    let mut out = String::new();
    for d in items {
        let mut s = String::new();
        // Writing into a String cannot fail.
        let _ = handler.render_report(&mut s, &snippet(&d, sources));
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

/// A labelled span as JSON: file, 1-based line and column of both ends, and the label's text.
pub fn label_json(l: &Label, sources: &Sources) -> Value {
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
}

/// The machine-readable form: one object per diagnostic with 1-based line and column.
pub fn json(diags: &Diagnostics, sources: &Sources) -> Value {
    let label = |l: &Label| label_json(l, sources);
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
        "not_shown": diags.not_shown(),
        "diagnostics": items,
    })
}
