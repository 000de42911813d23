//! Parsing: source texts -> hcl-edit syntax trees that keep every span and comment.
//!
//! Consumes [`Sources`]; produces one [`hcl_edit::structure::Body`] per file that parsed, and a
//! `meridian::syntax` diagnostic for each file that did not (the other files still go on to
//! validation, so one run shows every problem it can).

use crate::diagnostics::{Code, Diagnostic, Diagnostics};
use crate::source::{FileId, Loc, Sources};
use hcl_edit::structure::Body;

/// How many repeated attributes one file may have before the rest of it goes unchecked.
const MAX_DUPLICATES: usize = 32;

/// Parses every file; a file with a syntax error yields a diagnostic instead of a body.
///
/// hcl-edit refuses a repeated attribute key as a syntax error. So that one slip does not hide
/// every other problem of the file, the repeated attribute is blanked out (same byte offsets,
/// so every span still points into the original text) and the file parsed again.
pub fn parse(sources: &Sources, diags: &mut Diagnostics) -> Vec<(FileId, Body)> {
    let mut out = Vec::with_capacity(sources.len());
    for (id, file) in sources.iter() {
        let mut text = file.text.to_string();
        for _ in 0..=MAX_DUPLICATES {
            match hcl_edit::parser::parse_body(&text) {
                Ok(body) => {
                    out.push((id, body));
                    break;
                }
                Err(e) => {
                    let d = syntax_error(id, &text, &e);
                    let retry = d.code == Code::DuplicateAttribute;
                    let start = d.primary.loc.span.start;
                    diags.push(d);
                    if !retry {
                        break;
                    }
                    blank_attribute(&mut text, start);
                }
            }
        }
    }
    out
}

/// Replaces the attribute starting at `start` (up to the end of the line on which its
/// brackets close) with spaces, keeping newlines and byte offsets.
fn blank_attribute(text: &mut String, start: usize) {
    let bytes = text.as_bytes();
    let mut depth = 0i32;
    let mut in_str = false;
    let mut end = bytes.len();
    let mut i = start;
    while i < bytes.len() {
        let c = bytes[i];
        if in_str {
            match c {
                b'\\' => i += 1,
                b'"' => in_str = false,
                _ => {}
            }
        } else {
            match c {
                b'"' => in_str = true,
                b'{' | b'[' | b'(' => depth += 1,
                b'}' | b']' | b')' => depth -= 1,
                b'\n' if depth <= 0 => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        i += 1;
    }
    let blanked: String = text[start..end.min(text.len())]
        .chars()
        .map(|c| {
            if c == '\n' {
                "\n".to_string()
            } else {
                " ".repeat(c.len_utf8())
            }
        })
        .collect();
    text.replace_range(start..end.min(text.len()), &blanked);
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
        .help("remove one of them");
    }
    Diagnostic::error(
        Code::Syntax,
        Loc::new(file, start..end),
        format!("syntax error: {message}"),
    )
    .label("here")
}
