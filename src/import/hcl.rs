//! Writing the imported topology: quoting, labels, the file's header of what was left alone and
//! what DNS cannot say.

use super::{LeftAlone, Request};

/// A string as an HCL literal: quotes and backslashes escaped, `${` and `%{` kept literal.
pub(super) fn quote(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
        .replace("${", "$${")
        .replace("%{", "%%{");
    format!("\"{escaped}\"")
}

/// A list of strings as an HCL literal.
pub(super) fn list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| quote(s)).collect();
    format!("[{}]", quoted.join(", "))
}

/// A block label from `raw`: lower case, characters a label cannot hold turned into `-`;
/// `fallback` when nothing usable is left.
pub(super) fn label(raw: &str, fallback: &str) -> String {
    let mut out: String = raw
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    while out.starts_with(['-', '_']) {
        out.remove(0);
    }
    out.truncate(crate::model::lower::MAX_LABEL);
    if crate::model::lower::is_plain_label(&out) {
        out
    } else {
        fallback.to_string()
    }
}

/// `base`, or `base-2`, `base-3`, ... : the first not in `taken`, within a label's length.
pub(super) fn unique(base: &str, taken: &[String]) -> String {
    if !taken.iter().any(|t| t == base) {
        return base.to_string();
    }
    (2..)
        .map(|n| {
            let suffix = format!("-{n}");
            let keep = crate::model::lower::MAX_LABEL.saturating_sub(suffix.len());
            let head: String = base.chars().take(keep).collect();
            format!("{}{suffix}", head.trim_end_matches(['-', '_']))
        })
        .find(|c| !taken.contains(c))
        .unwrap_or_else(|| base.to_string())
}

/// The whole file: the header (what was read, what is left alone, what to fill in), the
/// services, the registries; then formatted as `meridian fmt` writes it.
pub(super) fn file(
    req: &Request,
    left: &[LeftAlone],
    services: &[String],
    registries: &[String],
) -> String {
    let mut s = format!(
        "# Imported by `meridian import` from {}: zone{} {}{}.\n",
        req.source,
        if req.zones.len() == 1 { "" } else { "s" },
        req.zones.join(", "),
        if req.regions.is_empty() {
            String::new()
        } else {
            format!("; registries in {}", req.regions.join(", "))
        }
    );
    if !left.is_empty() {
        s.push_str("#\n# Not imported, each with why (a plan of this file leaves them as they are, unless an\n# earlier Meridian's ownership marker stands beside them: then they are that topology's):\n");
        for l in left {
            s.push_str(&format!("#   - {}: {}\n", l.what, l.why));
        }
    }
    s.push_str(
        "#\n# DNS does not say what recovery depends on: fill in each service's `data` and `cost`,\n\
         # and the objectives, for `meridian analyze` to compute the RTO floor, RPO and cost.\n\
         #\n# objectives {\n#   rto          = \"15m\"\n#   rpo          = \"5s\"\n#   monthly_cost = 20000\n# }\n\n",
    );
    for b in services.iter().chain(registries) {
        s.push_str(b);
        s.push('\n');
    }
    // One canonical layout: `meridian fmt` leaves the file as it is.
    let mut out = crate::format::format("imported.hcl", &s).unwrap_or(s);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}
