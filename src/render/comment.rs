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
}
