//! Tidies the roff clap_mangen writes so `mandoc -Tlint` finds nothing to say: no trailing
//! spaces, no blank lines (`.sp` instead), no `.br` beside a `.sp`, and text lines wrapped at
//! 80 bytes (a text line may break at any unescaped space; a piece that would start with `.`
//! or `'` is guarded with `\&`, so it is never read as a macro).

/// The widest text line `mandoc -Tlint` accepts without a style message.
const WIDTH: usize = 80;

/// `roff` tidied (see the module's documentation).
pub fn tidy(roff: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    for raw in roff.lines() {
        let line = raw.trim_end();
        let line = if line.is_empty() { ".sp" } else { line };
        let last = lines.last().map(String::as_str);
        match (last, line) {
            (Some(".sp"), ".sp" | ".br") => continue,
            (Some(".br"), ".sp") => {
                lines.pop();
            }
            _ => {}
        }
        lines.push(line.to_string());
    }
    drop_paragraphs_after_headers(&mut lines);
    let mut out = String::with_capacity(roff.len() + roff.len() / 40);
    for line in &lines {
        if line.starts_with('.') || line.starts_with('\'') || line.len() <= WIDTH {
            out.push_str(line);
            out.push('\n');
        } else {
            wrap(line, &mut out);
        }
    }
    out
}

/// A `.sp` or `.br` right after a macro that starts a block (`.SH`, `.TP`, `.IP`, `.RS`), or
/// right before a `.SH`, `.TP` or `.IP`, is skipped by every formatter (and warned about by
/// mandoc): removed.
fn drop_paragraphs_after_headers(lines: &mut Vec<String>) {
    let blank = |l: &str| l == ".sp" || l == ".br";
    let starts = |l: &str| {
        [".SH", ".TP", ".IP", ".RS", ".RE", ".TH"]
            .iter()
            .any(|m| l.starts_with(m))
    };
    let mut i = 0;
    while i < lines.len() {
        let after_start = i > 0 && starts(&lines[i - 1]);
        let before_start = lines
            .get(i + 1)
            .is_some_and(|n| starts(n) && !n.starts_with(".RE"));
        let last = i + 1 == lines.len();
        if blank(&lines[i]) && (after_start || before_start || last) {
            lines.remove(i);
        } else {
            i += 1;
        }
    }
}

/// Appends `line` to `out` as text lines of at most [`WIDTH`] bytes where spaces allow.
fn wrap(line: &str, out: &mut String) {
    // Leading spaces break the line before it (examples are indented): the first piece keeps
    // them.
    let indent = &line[..line.len() - line.trim_start_matches(' ').len()];
    let mut current = indent.to_string();
    for word in words(line) {
        if current.len() > indent.len() && current.len() + 1 + word.len() > WIDTH {
            out.push_str(&current);
            out.push('\n');
            current.clear();
        }
        if current.is_empty() || current == indent {
            if word.starts_with(['.', '\'']) && current.is_empty() {
                current.push_str("\\&");
            }
        } else {
            current.push(' ');
        }
        current.push_str(word);
    }
    out.push_str(&current);
    out.push('\n');
}

/// The words of a text line: split at spaces that are not escaped (`\ ` is a space that must
/// not break).
fn words(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b' ' && !(i > 0 && bytes[i - 1] == b'\\') {
            if i > start {
                out.push(&line[start..i]);
            }
            start = i + 1;
        }
    }
    if start < line.len() {
        out.push(&line[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_text_and_guards_macros() {
        let long = format!(
            "{} .not-a-macro 'quoted\\ word end",
            "word ".repeat(15).trim_end()
        );
        let t = tidy(&format!(".SH NAME\n\n{long}  \n.br\n\n.br\nnext\n"));
        assert!(t.lines().all(|l| l.len() <= WIDTH), "{t}");
        assert!(!t.contains("\n.not") && !t.contains("\n'quoted"), "{t}");
        assert!(
            t.contains("'quoted\\ word") || t.contains("\\&'quoted\\ word"),
            "{t}"
        );
        assert_eq!(t.matches(".sp").count(), 1, "{t}");
        assert!(!t.contains(".br"), "{t}");
        assert!(t.starts_with(".SH NAME\nword"), "{t}");
        let t = tidy(&format!("  {long}\n"));
        assert!(t.starts_with("  word word"), "{t}");
    }
}
