//! Markdown for pull-request comments, within the host's limit: GitHub refuses a comment over
//! 65,536 characters. A document that fits is returned as it is, under a hidden marker a CI
//! step can find to update its earlier comment; one that does not keeps its opening (the
//! summary every Markdown output leads with) and as many whole lines of its detail as fit,
//! closes what it left open (a code fence, `<details>`), and says how much it left out and
//! where the whole is.

/// GitHub's limit on a comment's body, in characters.
pub const GITHUB_COMMENT_LIMIT: usize = 65_536;

/// Room kept for the closing tags and the note on what was left out.
const RESERVE: usize = 600;

/// `doc` under the marker `<!-- meridian:KIND -->`, cut to at most `max` characters.
/// `whole` says where the complete document is (an artifact, a command).
pub fn fit(doc: &str, kind: &str, max: usize, whole: &str) -> String {
    let marker = format!("<!-- meridian:{kind} -->\n");
    let total = marker.chars().count() + doc.chars().count();
    if total <= max {
        return format!("{marker}{doc}");
    }
    let budget = max.saturating_sub(marker.chars().count() + RESERVE);
    let mut kept = String::new();
    let mut used = 0;
    let mut lines = 0;
    for line in doc.split_inclusive('\n') {
        let n = line.chars().count();
        if used + n > budget {
            break;
        }
        kept.push_str(line);
        used += n;
        lines += 1;
    }
    let left_out = doc.chars().count() - used;
    let left_lines = doc.split_inclusive('\n').count() - lines;
    let mut out = marker;
    out.push_str(&kept);
    if !kept.is_empty() && !kept.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&closing(&kept));
    out.push_str(&format!(
        "\n> **Cut to fit a comment:** {left_lines} more lines ({left_out} characters) are not shown. The whole is {whole}.\n"
    ));
    out
}

/// What closes the structures `kept` opened and did not close: a code fence, then each
/// `<details>`.
fn closing(kept: &str) -> String {
    let mut fence = false;
    let mut details = 0usize;
    for line in kept.lines() {
        let t = line.trim_start();
        if t.starts_with("```") {
            fence = !fence;
        } else if !fence {
            details += t.matches("<details").count();
            details = details.saturating_sub(t.matches("</details>").count());
        }
    }
    let mut out = String::new();
    if fence {
        out.push_str("```\n");
    }
    for _ in 0..details {
        out.push_str("\n</details>\n");
    }
    out
}

/// How many items of a list a comment's summary shows before folding the rest.
pub const SHOWN: usize = 10;

/// A Markdown bullet list that keeps a summary one screen long: the first [`SHOWN`] items, the
/// rest folded in `<details>` ("N more `what`").
pub fn bullets(items: &[String], what: &str) -> String {
    let mut s = String::new();
    for item in items.iter().take(SHOWN) {
        s.push_str(&format!("- {item}\n"));
    }
    if items.len() > SHOWN {
        s.push_str(&format!(
            "\n<details><summary>{} more {what}</summary>\n\n",
            items.len() - SHOWN
        ));
        for item in &items[SHOWN..] {
            s.push_str(&format!("- {item}\n"));
        }
        s.push_str("\n</details>\n");
    }
    s
}

/// `doc` as numbered parts of at most `max` characters each, for a host that takes one comment
/// per part: cut at lines (a line longer than a part at characters), each part closing the code
/// fence and `<details>` it leaves open and the next reopening them. The first part carries the
/// marker [`fit`] gives (`<!-- meridian:KIND -->`), so a comment updated by that marker keeps
/// working; part N > 1 `<!-- meridian:KIND part N -->`; each says "Part N of M".
pub fn split(doc: &str, kind: &str, max: usize) -> Vec<String> {
    // The marker, the part line, and the closing and reopening of structures.
    let budget = max.saturating_sub(RESERVE).max(100);
    let mut parts = Vec::new();
    let mut open = Open::default();
    let mut current = String::new();
    let mut used = 0;
    let mut last = "";
    for piece in pieces(doc, budget) {
        let n = piece.chars().count();
        if used + n > budget && used > 0 {
            // A table's header goes with its separator, or the rows after it are no table.
            let header = is_separator(piece) && last.trim_start().starts_with('|');
            if header {
                current.truncate(current.len() - last.len());
            }
            current.push_str(&open.closing());
            parts.push(std::mem::take(&mut current));
            current = open.reopening();
            if header {
                current.push_str(last);
            }
            used = current.chars().count();
        }
        open.track(piece);
        current.push_str(piece);
        used += n;
        last = piece;
    }
    if !current.is_empty() || parts.is_empty() {
        parts.push(current);
    }
    let total = parts.len();
    parts
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            let marker = if i == 0 {
                format!("<!-- meridian:{kind} -->\n")
            } else {
                format!("<!-- meridian:{kind} part {} -->\n", i + 1)
            };
            if total == 1 {
                format!("{marker}{body}")
            } else {
                format!("{marker}*Part {} of {total}.*\n\n{body}", i + 1)
            }
        })
        .collect()
}

/// The lines of `doc`, a line longer than `budget` characters cut into pieces that fit.
fn pieces(doc: &str, budget: usize) -> Vec<&str> {
    let mut out = Vec::new();
    for line in doc.split_inclusive('\n') {
        let mut rest = line;
        while rest.chars().count() > budget {
            let cut = rest
                .char_indices()
                .nth(budget)
                .map_or(rest.len(), |(i, _)| i);
            out.push(&rest[..cut]);
            rest = &rest[cut..];
        }
        out.push(rest);
    }
    out
}

/// A Markdown table's separator line (`| --- | ---: |`).
fn is_separator(line: &str) -> bool {
    let t = line.trim();
    t.starts_with('|') && t.contains('-') && t.chars().all(|c| matches!(c, '|' | '-' | ':' | ' '))
}

/// The structures open at a point of a document: a code fence (its opening line),
/// `<details>` blocks (their opening lines) and a table (its header and separator lines, so
/// rows continued in the next part still render as a table).
#[derive(Default)]
struct Open {
    fence: Option<String>,
    details: Vec<String>,
    table: Option<String>,
    last: String,
}

impl Open {
    fn track(&mut self, line: &str) {
        let t = line.trim_start();
        if is_separator(line) && self.fence.is_none() {
            self.table = Some(format!("{}\n{}\n", self.last.trim_end(), t.trim_end()));
        } else if !t.starts_with('|') {
            self.table = None;
        }
        self.last = line.to_string();
        if t.starts_with("```") {
            self.fence = match self.fence {
                Some(_) => None,
                None => Some(line.trim_end().to_string()),
            };
            return;
        }
        if self.fence.is_some() {
            return;
        }
        for _ in 0..t.matches("<details").count() {
            self.details.push(line.trim_end().to_string());
        }
        for _ in 0..t.matches("</details>").count() {
            self.details.pop();
        }
    }

    fn closing(&self) -> String {
        let mut out = String::new();
        if self.fence.is_some() {
            out.push_str("\n```\n");
        }
        for _ in &self.details {
            out.push_str("\n</details>\n");
        }
        out
    }

    fn reopening(&self) -> String {
        let mut out = String::new();
        for d in &self.details {
            out.push_str(d);
            out.push_str("\n\n");
        }
        if let Some(f) = &self.fence {
            out.push_str(f);
            out.push('\n');
        }
        if let Some(t) = &self.table {
            out.push_str(t);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_document_is_kept_whole_under_its_marker() {
        assert_eq!(
            fit("## plan\n", "plan", 100, "x"),
            "<!-- meridian:plan -->\n## plan\n"
        );
    }

    #[test]
    fn a_long_document_is_cut_at_a_line_and_its_structures_closed() {
        let mut doc = String::from(
            "## plan\n\n**3 to add**\n\n<details><summary>Details</summary>\n\n```diff\n",
        );
        for i in 0..10_000 {
            doc.push_str(&format!("+ record.s{i} {{ ... }}\n"));
        }
        doc.push_str("```\n\n</details>\n");
        let out = fit(&doc, "plan", 5_000, "the artifact meridian-plan");
        assert!(out.chars().count() <= 5_000, "{}", out.chars().count());
        assert!(out.starts_with("<!-- meridian:plan -->\n## plan\n\n**3 to add**"));
        assert_eq!(out.matches("```").count() % 2, 0, "{out}");
        assert_eq!(
            out.matches("<details>").count(),
            out.matches("</details>").count()
        );
        assert!(
            out.contains("The whole is the artifact meridian-plan."),
            "{out}"
        );
        assert!(out.contains("more lines"));
    }

    #[test]
    fn a_long_document_splits_into_parts_that_each_close_what_they_open() {
        let mut doc = String::from("## plan\n\n<details><summary>Details</summary>\n\n```diff\n");
        for i in 0..2_000 {
            doc.push_str(&format!("+ record.s{i} {{ ... }}\n"));
        }
        doc.push_str("```\n\n</details>\n");
        doc.push_str(&"x".repeat(12_000));
        let parts = split(&doc, "plan", 5_000);
        assert!(parts.len() > 8, "{}", parts.len());
        let n = parts.len();
        let mut lines = 0;
        for (i, p) in parts.iter().enumerate() {
            assert!(
                p.chars().count() <= 5_000,
                "part {i}: {}",
                p.chars().count()
            );
            assert_eq!(p.matches("```").count() % 2, 0, "part {i}");
            assert_eq!(
                p.matches("<details>").count(),
                p.matches("</details>").count()
            );
            assert!(p.contains(&format!("*Part {} of {n}.*", i + 1)));
            lines += p.matches("+ record.s").count();
        }
        assert!(parts[0].starts_with("<!-- meridian:plan -->\n"));
        assert!(parts[1].starts_with("<!-- meridian:plan part 2 -->\n"));
        assert_eq!(lines, 2_000, "every line in exactly one part");
        assert_eq!(
            split("short\n", "check", 5_000),
            vec!["<!-- meridian:check -->\nshort\n"]
        );
        let mut table = String::from("| a | b |\n| --- | ---: |\n");
        for i in 0..500 {
            table.push_str(&format!("| {i} | x |\n"));
        }
        // A cut between a header and its separator moves the header along.
        let mut doc = "x\n".repeat(1_380);
        doc.push_str("| h1 | h2 |\n| --- | --- |\n| 1 | 2 |\n");
        let cut = split(&doc, "plan", 3_385);
        assert_eq!(
            cut.len(),
            2,
            "the cut falls between the header and its separator"
        );
        let with_rows = cut.iter().find(|p| p.contains("| 1 | 2 |")).unwrap();
        assert!(
            with_rows.contains("| h1 | h2 |\n| --- | --- |\n| 1 | 2 |"),
            "{cut:#?}"
        );
        let parts = split(&table, "analysis", 2_000);
        assert!(parts.len() > 1);
        assert!(
            parts
                .iter()
                .all(|p| p.contains("| a | b |\n| --- | ---: |\n")),
            "{parts:#?}"
        );
    }
}
