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
        // Values given on the command line are lines of their own form, not HCL.
        if file.role == crate::source::Role::Given {
            continue;
        }
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
    if let Some(d) = unbalanced(file, text, message) {
        return d;
    }
    Diagnostic::error(
        Code::Syntax,
        Loc::new(file, start..end),
        format!("syntax error: {message}"),
    )
    .label("here")
    .help("check the line above too: an unclosed string, bracket or missing value often shows up one token later")
}

/// The braces of a file, outside strings and comments: a `}` that closes nothing, or a `{`
/// never closed. Parsers trip over these far from where they are; this points at them.
fn unbalanced(file: FileId, text: &str, parser: &str) -> Option<Diagnostic> {
    let bytes = text.as_bytes();
    let mut open: Vec<usize> = Vec::new();
    // The last block closed, and the first whose `}` is not indented like its opening line
    // (the likely culprit when braces do not balance): (its `{`, its `}`).
    let mut last_closed: Option<(usize, usize)> = None;
    let mut misaligned: Option<(usize, usize)> = None;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => i = skip_string(bytes, i),
            b'#' => i = skip_line(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'/') => i = skip_line(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = text[i + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |j| i + 2 + j + 1);
            }
            b'{' => open.push(i),
            b'}' => match open.pop() {
                Some(o) => {
                    last_closed = Some((o, i));
                    if misaligned.is_none() && indent_of(text, i) != indent_of(text, o) {
                        misaligned = Some((o, i));
                    }
                }
                None => return Some(stray(file, text, i, misaligned.or(last_closed), parser)),
            },
            _ => {}
        }
        i += 1;
    }
    let o = *open.last()?;
    Some(
        Diagnostic::error(
            Code::Syntax,
            Loc::new(file, o..o + 1),
            "syntax error: this block is never closed",
        )
        .label("opened here")
        .help(format!("add the missing `}}` (the parser said: {parser})")),
    )
}

fn stray(
    file: FileId,
    text: &str,
    at: usize,
    last_closed: Option<(usize, usize)>,
    parser: &str,
) -> Diagnostic {
    let mut d = Diagnostic::error(
        Code::Syntax,
        Loc::new(file, at..at + 1),
        "syntax error: unmatched `}`: no block is open here",
    )
    .label("closes nothing");
    if let Some((o, c)) = last_closed {
        let line = text[..c].matches('\n').count() + 1;
        d = Diagnostic::error(
            Code::Syntax,
            Loc::new(file, c..c + 1),
            format!("syntax error: unbalanced braces: one `}}` too many (at line {}); this one probably closes its block too early", text[..at].matches('\n').count() + 1),
        )
        .label("closes the block opened above")
        .with_secondary(Loc::new(file, o..o + 1), "the block it closes")
        .with_secondary(Loc::new(file, at..at + 1), "nothing left to close here")
        .help(format!("remove the `}}` on line {line} if the block should go on, or the extra one (the parser said: {parser})"));
    } else {
        d = d.help(format!("remove this `}}` (the parser said: {parser})"));
    }
    d
}

/// The indentation of the line holding byte `i`, when only spaces and tabs precede `i` on it
/// (a brace ending a line of code has no indentation of its own).
fn indent_of(text: &str, i: usize) -> Option<usize> {
    let start = text[..i].rfind('\n').map_or(0, |n| n + 1);
    let line = &text[start..];
    let width = line.len() - line.trim_start_matches([' ', '\t']).len();
    // A `{` is measured by its line's indentation; a `}` only when it starts its line.
    if text.as_bytes()[i] == b'}' && start + width != i {
        return None;
    }
    Some(width)
}

/// The index of the closing quote of the string starting at `i` (or the end).
fn skip_string(bytes: &[u8], mut i: usize) -> usize {
    i += 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'"' | b'\n' => return i,
            _ => {}
        }
        i += 1;
    }
    bytes.len()
}

/// The index of the end of the line at `i`.
fn skip_line(bytes: &[u8], i: usize) -> usize {
    bytes[i..]
        .iter()
        .position(|b| *b == b'\n')
        .map_or(bytes.len(), |j| i + j)
}
