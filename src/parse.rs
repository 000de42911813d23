//! Parsing: source texts -> hcl-edit syntax trees that keep every span and comment.
//!
//! Consumes [`Sources`]; produces one [`hcl_edit::structure::Body`] per file that parsed, and a
//! `meridian::syntax` diagnostic for each file that did not (the other files still go on to
//! validation, so one run shows every problem it can).

use crate::diagnostics::{Code, Diagnostic, Diagnostics};
use crate::source::{FileId, Loc, Sources};
use hcl_edit::structure::Body;

/// Parses every file; a file with a syntax error yields a diagnostic instead of a body.
pub fn parse(sources: &Sources, diags: &mut Diagnostics) -> Vec<(FileId, Body)> {
    let mut out = Vec::with_capacity(sources.len());
    for (id, file) in sources.iter() {
        match hcl_edit::parser::parse_body(&file.text) {
            Ok(body) => out.push((id, body)),
            Err(e) => diags.push(syntax_error(id, &file.text, &e)),
        }
    }
    out
}

fn syntax_error(file: FileId, text: &str, e: &hcl_edit::parser::Error) -> Diagnostic {
    let start = crate::source::floor_char_boundary(text, e.location().offset().min(text.len()));
    let end = text[start..]
        .chars()
        .next()
        .map_or(start, |c| start + c.len_utf8());
    // hcl-edit's messages read "invalid expression; expected ..." or "unexpected ...".
    let message = e.message().trim();
    if message.contains("redefined attribute") {
        // hcl-edit refuses a repeated attribute key while parsing; report it under its own code.
        let key_len = text[start..]
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(text.len() - start);
        let key = &text[start..start + key_len];
        return Diagnostic::error(
            Code::DuplicateAttribute,
            Loc::new(file, start..start + key_len.max(1)),
            format!("`{key}` is set twice in one block"),
        )
        .label("second definition")
        .help("remove one of them (the rest of this file is checked once it parses)");
    }
    Diagnostic::error(
        Code::Syntax,
        Loc::new(file, start..end),
        format!("syntax error: {message}"),
    )
    .label("here")
}
