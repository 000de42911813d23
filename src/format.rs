//! Canonical formatting (`meridian fmt`): two-space indentation, aligned `=` in runs of
//! attributes, one blank line at most, no trailing spaces, one final newline.
//!
//! Consumes a file's text; produces its canonical text. It works line by line, so every
//! comment stays where it was written, and then proves it changed no meaning: the original and
//! the result must parse to equal HCL bodies (comments and layout aside), or it returns an
//! error instead of a text. Formatting a formatted text changes nothing.

/// Why a text could not be formatted.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum FormatError {
    #[error("{name} is not valid HCL: {message}")]
    #[diagnostic(
        code(meridian::syntax),
        help("fix the syntax error first: `meridian validate` points at it")
    )]
    Syntax { name: String, message: String },
    #[error("formatting {name} would change its meaning; it was left as it is")]
    #[diagnostic(
        code(meridian::format_changed_meaning),
        help("this is a bug in Meridian's formatter; please report it with the file")
    )]
    ChangedMeaning { name: String },
}

/// Formats `text`; `name` appears in errors only.
pub fn format(name: &str, text: &str) -> Result<String, FormatError> {
    let before = hcl::parse(text).map_err(|e| FormatError::Syntax {
        name: name.to_string(),
        message: first_line(&e.to_string()),
    })?;
    let out = reformat(text);
    match hcl::parse(&out) {
        Ok(after) if after == before => Ok(out),
        _ => Err(FormatError::ChangedMeaning {
            name: name.to_string(),
        }),
    }
}

fn first_line(s: &str) -> String {
    s.lines()
        .find(|l| l.contains("= "))
        .or_else(|| s.lines().next())
        .unwrap_or("")
        .trim_start_matches([' ', '='])
        .to_string()
}

#[derive(Debug, PartialEq)]
enum Line {
    /// Kept byte for byte (inside a heredoc or a block comment).
    Verbatim(String),
    Blank,
    Code {
        depth: usize,
        text: String,
    },
}

/// Scanner state carried from line to line.
#[derive(Default)]
struct Scan {
    depth: usize,
    heredoc: Option<(String, bool)>,
    in_block_comment: bool,
}

impl Scan {
    /// Updates nesting for one line of code; returns the depth of the line itself and whether
    /// the line ends inside a block comment it opened. Strings and comments are skipped.
    fn line(&mut self, text: &str) -> usize {
        let trimmed = text.trim_start();
        let closes_first = trimmed.starts_with(['}', ']', ')']);
        let line_depth = if closes_first {
            self.depth.saturating_sub(1)
        } else {
            self.depth
        };
        let b = text.as_bytes();
        let mut i = 0;
        let mut in_str = false;
        let mut interp = 0usize;
        while i < b.len() {
            let c = b[i];
            if self.in_block_comment {
                if c == b'*' && b.get(i + 1) == Some(&b'/') {
                    self.in_block_comment = false;
                    i += 1;
                }
            } else if in_str {
                match c {
                    b'\\' => i += 1,
                    b'"' if interp == 0 => in_str = false,
                    b'$' | b'%' if b.get(i + 1) == Some(&b'{') => {
                        interp += 1;
                        i += 1;
                    }
                    b'}' if interp > 0 => interp -= 1,
                    _ => {}
                }
            } else {
                match c {
                    b'"' => in_str = true,
                    b'#' => break,
                    b'/' if b.get(i + 1) == Some(&b'/') => break,
                    b'/' if b.get(i + 1) == Some(&b'*') => {
                        self.in_block_comment = true;
                        i += 1;
                    }
                    b'{' | b'[' | b'(' => self.depth += 1,
                    b'}' | b']' | b')' => self.depth = self.depth.saturating_sub(1),
                    b'<' if b.get(i + 1) == Some(&b'<') => {
                        let rest = &text[i + 2..];
                        let (indented, rest) = match rest.strip_prefix('-') {
                            Some(r) => (true, r),
                            None => (false, rest),
                        };
                        let ident: String = rest
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
                            .collect();
                        if !ident.is_empty() {
                            self.heredoc = Some((ident, indented));
                        }
                        break;
                    }
                    _ => {}
                }
            }
            i += 1;
        }
        line_depth
    }
}

/// `key = value` split at the first `=` that is not part of `==`, `<=`, `>=`, `!=` or `=>`.
fn split_attribute(text: &str) -> Option<(&str, &str)> {
    let key_len = text
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
        .map_or(text.len(), |(i, _)| i);
    if key_len == 0 || text.as_bytes()[0].is_ascii_digit() {
        return None;
    }
    let rest = text[key_len..].trim_start();
    let value = rest.strip_prefix('=')?;
    if value.starts_with(['=', '>']) {
        return None;
    }
    Some((&text[..key_len], value.trim_start()))
}

fn reformat(text: &str) -> String {
    let mut scan = Scan::default();
    let mut lines = Vec::new();
    for raw in text.lines() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some((ident, _)) = &scan.heredoc {
            let done = raw.trim() == ident;
            lines.push(Line::Verbatim(raw.to_string()));
            if done {
                scan.heredoc = None;
            }
            continue;
        }
        if scan.in_block_comment {
            lines.push(Line::Verbatim(raw.to_string()));
            scan.line(raw);
            continue;
        }
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            lines.push(Line::Blank);
            continue;
        }
        let depth = scan.line(trimmed);
        lines.push(Line::Code {
            depth,
            text: trimmed.to_string(),
        });
    }
    render(&lines)
}

fn render(lines: &[Line]) -> String {
    // Blank lines: none at the start or end, none right after an opening or before a closing
    // bracket, at most one in a row.
    let mut kept: Vec<&Line> = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if *l == Line::Blank {
            let prev = kept.last();
            let next = lines[i + 1..].iter().find(|l| **l != Line::Blank);
            let after_open =
                matches!(prev, Some(Line::Code { text, .. }) if text.ends_with(['{', '[', '(']));
            let before_close =
                matches!(next, Some(Line::Code { text, .. }) if text.starts_with(['}', ']', ')']));
            if prev.is_none()
                || next.is_none()
                || after_open
                || before_close
                || prev == Some(&&Line::Blank)
            {
                continue;
            }
        }
        kept.push(l);
    }
    // Align `=` within runs of single-line attributes at one depth.
    let mut widths = vec![0usize; kept.len()];
    let mut i = 0;
    while i < kept.len() {
        let Line::Code { depth, text } = kept[i] else {
            i += 1;
            continue;
        };
        if split_attribute(text).is_none() {
            i += 1;
            continue;
        }
        let mut j = i;
        let mut width = 0;
        while j < kept.len() {
            match kept[j] {
                Line::Code { depth: d, text } if d == depth => match split_attribute(text) {
                    Some((k, _)) => width = width.max(k.len()),
                    None => break,
                },
                _ => break,
            }
            j += 1;
            // A value that opens a bracket spanning lines ends the run.
            if let Line::Code { text, .. } = kept[j - 1] {
                if opens_more_than_closes(text) {
                    break;
                }
            }
        }
        for w in &mut widths[i..j] {
            *w = width;
        }
        i = j.max(i + 1);
    }
    let mut out = String::new();
    for (l, width) in kept.iter().zip(widths) {
        match l {
            Line::Blank => {}
            Line::Verbatim(t) => out.push_str(t),
            Line::Code { depth, text } => {
                out.push_str(&"  ".repeat(*depth));
                match split_attribute(text).filter(|_| width > 0) {
                    Some((k, v)) => {
                        out.push_str(k);
                        out.push_str(&" ".repeat(width - k.len()));
                        out.push_str(" =");
                        if !v.is_empty() {
                            out.push(' ');
                            out.push_str(v);
                        }
                    }
                    None => out.push_str(text),
                }
            }
        }
        out.push('\n');
    }
    out
}

fn opens_more_than_closes(text: &str) -> bool {
    let mut s = Scan::default();
    s.line(text);
    s.depth > 0 || s.heredoc.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indents_aligns_and_keeps_comments() {
        let input = "# head\n\n\n\nservice \"api\" {\n      zone = \"example.com\" # the zone\nrouting=\"latency\"\n\n  // why\n    region \"us-east-1\" {\n target = \"a.example.com\"\n }\n\n}\n\n";
        let want = "# head\n\nservice \"api\" {\n  zone    = \"example.com\" # the zone\n  routing = \"latency\"\n\n  // why\n  region \"us-east-1\" {\n    target = \"a.example.com\"\n  }\n}\n";
        assert_eq!(format("t.hcl", input).unwrap(), want);
        assert_eq!(format("t.hcl", want).unwrap(), want);
    }

    #[test]
    fn multi_line_lists_and_heredocs() {
        let input = "a = [\n\"x\",\n    \"y\",\n]\nlonger_name = 1\nh = <<EOT\n  keep   me\nEOT\n";
        let out = format("t.hcl", input).unwrap();
        assert_eq!(out, "a = [\n  \"x\",\n  \"y\",\n]\nlonger_name = 1\nh           = <<EOT\n  keep   me\nEOT\n");
        assert_eq!(format("t.hcl", &out).unwrap(), out);
    }

    #[test]
    fn block_comments_and_dashed_heredocs_are_kept_byte_for_byte() {
        let input = "/* a   \n b   */\nx = <<END-X\nEND\n  keep\nEND-X\ny   = 1\n";
        let out = format("t.hcl", input).unwrap();
        assert_eq!(
            out,
            "/* a\n b   */\nx = <<END-X\nEND\n  keep\nEND-X\ny = 1\n"
        );
    }

    #[test]
    fn refuses_invalid_input() {
        assert!(matches!(
            format("t.hcl", "a = {"),
            Err(FormatError::Syntax { .. })
        ));
    }
}
