//! A service's `health_check` block.

use super::*;

pub(super) fn health_check(h: &Block, diags: &mut Diagnostics) -> Option<HealthCheck> {
    let kind = h.str("type").and_then(HealthCheckType::parse);
    // The path's form does not depend on the type: checked even when the type is broken.
    let mut ok = kind.is_some() & path_form(h, diags);
    if let Some(kind) = kind {
        ok &= health_check_fields(h, kind, diags);
    }
    let (regions, regions_ok) = match h.list("regions") {
        Some(list) => checker_regions(h, list, diags),
        None => (Vec::new(), true),
    };
    ok &= regions_ok;
    let kind = kind?;
    let port = h.int("port").map(|p| p as u16).or(kind.default_port());
    if !ok || (h.is_written("port") && h.int("port").is_none()) {
        return None;
    }
    Some(HealthCheck {
        kind,
        port: port?,
        path: h.str("path").map(str::to_string),
        interval: h.int("interval").unwrap_or(30) as u32,
        failure_threshold: h.int("failure_threshold").unwrap_or(3) as u32,
        regions,
        search_string: h.str("search_string").map(str::to_string),
    })
}

/// A health-check path starts with `/`; false when it does not.
pub(super) fn path_form(h: &Block, diags: &mut Diagnostics) -> bool {
    let Some(path) = h.str("path").filter(|p| !p.starts_with('/')) else {
        return true;
    };
    diags.push(
        Diagnostic::error(
            Code::HealthCheckPath,
            h.value_loc("path"),
            format!("health-check path \"{path}\" must start with /"),
        )
        .label("missing leading /")
        .help(format!("write \"/{path}\"")),
    );
    false
}

/// Checks `port` and `search_string` against the check type; false on any error.
pub(super) fn health_check_fields(
    h: &Block,
    kind: HealthCheckType,
    diags: &mut Diagnostics,
) -> bool {
    let mut ok = true;
    if kind == HealthCheckType::Tcp {
        ok &= tcp_health_check_fields(h, diags);
    }
    match (kind.is_string_match(), h.is_written("search_string")) {
        (true, false) => {
            ok = false;
            diags.push(
                Diagnostic::error(
                    Code::SearchString,
                    h.value_loc("type"),
                    format!("a {} check needs a `search_string`", kind.as_str()),
                )
                .label("string-match check")
                .help("add `search_string = \"...\"`: the text the response body must contain"),
            );
        }
        (false, true) => {
            ok = false;
            diags.push(
                Diagnostic::error(
                    Code::SearchString,
                    h.loc_of("search_string"),
                    format!(
                        "`search_string` needs a *_STR_MATCH check type, not {}",
                        kind.as_str()
                    ),
                )
                .label("ignored by this type")
                .help(format!(
                    "use type = \"{}_STR_MATCH\", or remove `search_string`",
                    if kind.is_https() { "HTTPS" } else { "HTTP" }
                )),
            );
        }
        _ => {}
    }
    ok
}

/// A TCP check takes no `path` and needs a `port`; false when either rule is broken.
pub(super) fn tcp_health_check_fields(h: &Block, diags: &mut Diagnostics) -> bool {
    let mut ok = true;
    if h.is_written("path") {
        ok = false;
        diags.push(
            Diagnostic::error(
                Code::HealthCheckPath,
                h.loc_of("path"),
                "a TCP health check has no path",
            )
            .label("not used by TCP checks")
            .help("remove `path`, or use an HTTP or HTTPS check"),
        );
    }
    if !h.is_written("port") {
        ok = false;
        diags.push(
            Diagnostic::error(
                Code::MissingAttribute,
                h.header.clone(),
                "a TCP health check needs a `port`",
            )
            .label("`port` required here"),
        );
    }
    ok
}

/// The health check's `regions`, sorted, without unknown or repeated ones; the flag is false
/// when any problem was reported.
pub(super) fn checker_regions(
    h: &Block,
    list: &[(String, Loc)],
    diags: &mut Diagnostics,
) -> (Vec<String>, bool) {
    let mut ok = true;
    let mut regions = Vec::new();
    let mut seen: BTreeMap<&str, &Loc> = BTreeMap::new();
    for (r, at) in list {
        if !catalog::is_checker_region(r) {
            ok = false;
            let mut d = Diagnostic::error(
                Code::CheckerRegions,
                at.clone(),
                format!("\"{r}\" is not a Route 53 health-checker region"),
            )
            .label("not a checker region");
            d = match suggest(r, catalog::CHECKER_REGIONS.iter().copied()) {
                Some(s) => d.help(format!("did you mean \"{s}\"?")),
                None => d.help(format!(
                    "checker regions: {}",
                    catalog::CHECKER_REGIONS.join(", ")
                )),
            };
            diags.push(d);
        } else if let Some(first) = seen.get(r.as_str()) {
            ok = false;
            diags.push(
                Diagnostic::error(
                    Code::CheckerRegions,
                    at.clone(),
                    format!("checker region \"{r}\" is listed twice"),
                )
                .label("repeated")
                .with_secondary((*first).clone(), "first listed here"),
            );
        } else {
            seen.insert(r, at);
            regions.push(r.clone());
        }
    }
    if list.len() < 3 {
        ok = false;
        diags.push(
            Diagnostic::error(
                Code::CheckerRegions,
                h.value_loc("regions"),
                format!(
                    "health checks need at least 3 checker regions, found {}",
                    list.len()
                ),
            )
            .label("fewer than 3")
            .help("list 3 or more of Route 53's 8 checker regions, or remove `regions` to use all"),
        );
    }
    regions.sort();
    (regions, ok)
}
