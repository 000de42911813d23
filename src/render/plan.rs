//! Plans in the Terraform style people know (`+ create`, `~ update in-place`, `-/+ replace`,
//! `- destroy`, attribute-level before -> after, a summary line), readable without colour;
//! Markdown for a pull-request comment; and the outcome of an apply.

use crate::plan::apply::{Outcome, Status};
use crate::plan::{Action, Plan, ResourceChange, Untouched, UntouchedWhy};
use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt::Write;

fn value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(value).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(o) => format!(
            "{{ {} }}",
            o.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| format!("{k} = {}", value(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

fn symbol(c: &ResourceChange) -> &'static str {
    if c.is_replace() {
        "-/+"
    } else {
        match c.change.actions.first() {
            Some(Action::Create) => "  +",
            Some(Action::Update) => "  ~",
            Some(Action::Delete) => "  -",
            _ => "   ",
        }
    }
}

fn headline(c: &ResourceChange) -> String {
    let what = if c.is_replace() && c.action_reason.as_deref() == Some("replace_by_request") {
        "will be replaced, as requested"
    } else if c.is_replace() {
        "must be replaced"
    } else {
        match c.change.actions.first() {
            Some(Action::Create) => "will be created",
            Some(Action::Update) => "will be updated in-place",
            Some(Action::Delete) => "will be destroyed",
            _ => "is unchanged",
        }
    };
    let why = match c.action_reason.as_deref() {
        Some("delete_because_no_resource_config") => "\n  # (because it is no longer declared)",
        Some("delete_because_duplicate") => "\n  # (a duplicate of the declared health check)",
        Some("delete_because_adopted_name") => "\n  # (at an adopted name, and not declared)",
        Some("adopt") => "\n  # (adopting a name that holds records Meridian did not create)",
        _ => "",
    };
    format!("  # {} {what}{why}", c.address)
}

fn attributes(c: &ResourceChange, out: &mut String) {
    let object = |v: Option<Value>| match v {
        Some(Value::Object(o)) => o,
        _ => serde_json::Map::new(),
    };
    let parsed = |v: &Option<crate::plan::Attrs>| object(v.as_ref().map(crate::plan::Attrs::value));
    let (before, after) = (parsed(&c.change.before), parsed(&c.change.after));
    let unknown = object(Some(c.change.after_unknown.value()));
    let mut keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let unknown_keys: Vec<String> = unknown.keys().cloned().collect();
    keys.extend(unknown_keys.iter());
    let width = keys.iter().map(|k| k.len()).max().unwrap_or(0);
    let deleting = c.change.actions == [Action::Delete];
    let creating = c.change.actions == [Action::Create];
    let mut hidden = 0;
    for k in keys {
        let b = before.get(k.as_str()).filter(|v| !v.is_null());
        let a = after.get(k.as_str()).filter(|v| !v.is_null());
        let is_unknown = unknown.contains_key(k.as_str());
        let forces = if c.replace_paths.iter().any(|p| p == k) {
            " # forces replacement"
        } else {
            ""
        };
        let line = match (b, a, is_unknown) {
            (_, _, true) if deleting => continue,
            (None, _, true) => format!("      + {k:<width$} = (known after apply)"),
            (Some(b), _, true) => {
                format!("      ~ {k:<width$} = {} -> (known after apply)", value(b))
            }
            (None, Some(a), _) => format!("      + {k:<width$} = {}", value(a)),
            (Some(b), None, _) => format!("      - {k:<width$} = {}", value(b)),
            (Some(b), Some(a), _) if b == a => {
                if creating || deleting {
                    format!("        {k:<width$} = {}", value(a))
                } else {
                    hidden += 1;
                    continue;
                }
            }
            (Some(b), Some(a), _) => {
                format!("      ~ {k:<width$} = {} -> {}{forces}", value(b), value(a))
            }
            (None, None, false) => continue,
        };
        out.push_str(&line);
        out.push('\n');
    }
    if hidden > 0 {
        let _ = writeln!(
            out,
            "        # ({hidden} unchanged attribute{} hidden)",
            if hidden == 1 { "" } else { "s" }
        );
    }
}

fn summary_line(p: &Plan) -> String {
    let s = &p.summary;
    if !p.has_changes() {
        return "No changes. The live state matches the topology.".to_string();
    }
    let replace = if s.replace > 0 {
        format!(" ({} replaced)", s.replace)
    } else {
        String::new()
    };
    format!(
        "Plan: {} to add, {} to change, {} to destroy{replace}.",
        s.add, s.change, s.destroy
    )
}

/// The services that wait for the next apply, past the creation cap: how many, their checks,
/// and the first ten by name.
fn deferred_line(p: &Plan) -> Option<String> {
    let d = p.deferred.as_ref()?;
    const SHOWN: usize = 10;
    let mut names = d
        .waiting
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if d.waiting.len() > SHOWN {
        names.push_str(&format!(" and {} more", d.waiting.len() - SHOWN));
    }
    let held = if d.held.is_empty() {
        String::new()
    } else {
        format!(
            " {} health check change(s) no declared service owns wait with them (a waiting service may still use the check): {}.",
            d.held.len(),
            d.held.join(", ")
        )
    };
    Some(format!(
        "Waiting: {} service(s) needing {} more health check(s) ({names}): this apply creates {} of its cap of {} (health_check_creations_per_day); apply again to take the next ones (a day later where the account's daily cap holds).{held}",
        d.waiting.len(),
        d.waiting_checks,
        d.creating,
        d.cap,
    ))
}

fn seconds(v: Option<f64>) -> String {
    v.map_or("unknown".into(), |s| format!("{s} s"))
}

/// `Recovery: RTO floor 90 s -> 120 s; objectives met`, or the objectives that are not:
/// `rto BREACHED (service api)`, `rpo UNKNOWN (no computable RPO for service web: ...)`.
/// The lint's findings, one line each, under a count; nothing when there are none.
fn lint_lines(p: &Plan, s: &mut String) {
    if p.lint.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "Static stability: {} finding{} (details: meridian lint)",
        p.lint.len(),
        if p.lint.len() == 1 { "" } else { "s" }
    );
    for n in &p.lint {
        let _ = writeln!(s, "  {} {}: {}", n.rule, n.level, n.message);
    }
}

fn recovery_line(p: &Plan) -> String {
    use crate::analysis::Verdict;
    let r = &p.recovery;
    if p.destroy {
        return "Recovery: every service this topology manages stops serving: no RTO floor after a destroy".into();
    }
    if r.no_service {
        return "Recovery: no service declared (registries only): no RTO floor to compute".into();
    }
    let mut problems = Vec::new();
    for o in &r.objectives {
        let name = o.objective.as_str();
        let services = &o.services;
        match o.verdict {
            Verdict::Breached if services.is_empty() => problems.push(format!("{name} BREACHED")),
            Verdict::Breached => problems.push(format!(
                "{name} BREACHED (service{} {})",
                if services.len() == 1 { "" } else { "s" },
                services.join(", ")
            )),
            Verdict::Unknown => problems.push(format!(
                "{name} UNKNOWN ({})",
                o.reason.as_deref().unwrap_or("cannot be computed")
            )),
            Verdict::Met => {}
        }
    }
    if !r.no_recovery.is_empty() {
        problems.push(format!(
            "NO RECOVERY (service {})",
            r.no_recovery.join(", ")
        ));
    }
    let verdict = match (r.objectives.is_empty(), problems.is_empty()) {
        (true, true) => String::new(),
        (false, true) => "; objectives met".to_string(),
        (_, false) => format!("; {}", problems.join("; ")),
    };
    // Under a percentile objective the floor is not what gates: say what does.
    let gated = r
        .objectives
        .iter()
        .find_map(|o| Some((o.percentile?, o.actual)))
        .map_or_else(String::new, |(p, v)| {
            format!(
                " ({} of clients served again {}, what rto gates on)",
                p.as_str().to_uppercase(),
                seconds(v)
            )
        });
    let before = match r.before() {
        crate::plan::Before::NothingLive => "(nothing live)".to_string(),
        crate::plan::Before::Live => seconds(r.rto_floor_before_seconds),
    };
    let floor = match r.rto_case {
        crate::model::RtoCase::Fast => "RTO floor",
        crate::model::RtoCase::Dark => "dark-region RTO floor",
    };
    format!(
        "Recovery: {floor} {before} -> {}{gated}{verdict}",
        seconds(r.rto_floor_after_seconds),
    )
}

/// One thing the plan leaves alone, in words.
pub fn untouched_line(u: &Untouched) -> String {
    match u {
        Untouched::Record {
            zone,
            name,
            record_type,
            set_identifier,
        } => format!(
            "record {name} {record_type}{} in zone {zone}: not declared by this topology",
            set_identifier
                .as_ref()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default()
        ),
        Untouched::Held {
            service,
            region,
            weight,
            declared,
            done,
            steps,
        } => format!(
            "weight of {service}[\"{region}\"] held at {weight} by a shift ({done} of {steps} steps applied; the file says {}): `meridian shift {service} --write` puts it in the file, `--release` hands control back to the file",
            declared.map_or_else(|| "none".to_string(), |d| d.to_string())
        ),
        Untouched::HealthCheck { id, address, why } => format!(
            "health check {id}{}: {}",
            address
                .as_ref()
                .map(|a| format!(" (was {a})"))
                .unwrap_or_default(),
            match why {
                UntouchedWhy::InUse => "no longer declared, but records this plan does not change still use it",
                UntouchedWhy::ZoneNotRead => "no longer declared, but its records are in a zone this plan does not read (list it in `zones` to delete both)",
            }
        ),
        Untouched::ReplicationRule {
            region,
            destinations,
            filters,
            conflict,
        } => format!(
            "ECR replication rule in {region} (filters {}, to {}): not managed by this topology{}",
            filters.join(", "),
            destinations.join(", "),
            conflict
                .as_ref()
                .map(|c| format!("; CONFLICT: {c}"))
                .unwrap_or_default()
        ),
        Untouched::Repository { region, name } => format!(
            "ECR repository {name} in {region}: not declared here (Meridian never deletes repositories: they hold images)"
        ),
    }
}

/// At most this many untouched objects are listed in human output; the JSON has them all.
const UNTOUCHED_SHOWN: usize = 20;

fn untouched(p: &Plan, bullet: &str, s: &mut String) {
    for u in p.untouched.iter().take(UNTOUCHED_SHOWN) {
        let _ = writeln!(s, "{bullet}{}", untouched_line(u));
    }
    if p.untouched.len() > UNTOUCHED_SHOWN {
        let _ = writeln!(
            s,
            "{bullet}... and {} more (all of them are in the JSON plan, under `untouched`)",
            p.untouched.len() - UNTOUCHED_SHOWN
        );
    }
}

/// A rule other topologies declare too, or that this plan deletes.
fn shared_line(r: &crate::plan::shared::SharedRule) -> String {
    let rule = format!(
        "ECR replication rule in {} to {} (filters {})",
        r.region,
        r.destinations.join(", "),
        if r.filters.is_empty() {
            "none: every repository".to_string()
        } else {
            r.filters.join(", ")
        }
    );
    let others = r.also_declared_by.join(", ");
    match (r.also_declared_by.is_empty(), r.deleted) {
        (true, _) => format!(
            "Shared: this plan deletes the {rule}; replication is registry-wide, so another topology or tool may rely on it"
        ),
        (false, true) => format!(
            "Shared: this plan deletes the {rule}, which {others} also declares: their replication stops too until their next apply writes it again"
        ),
        (false, false) => format!(
            "Shared: the {rule} is also declared by {others}: one live rule serves both, and deleting it in the topology that wrote it stops the other's replication until its next apply"
        ),
    }
}

/// What the provider cannot hold, one line per reason: `ADDRESS, ADDRESS: why`.
fn left_out_lines(p: &Plan) -> Vec<String> {
    let mut by_why: std::collections::BTreeMap<&str, Vec<&str>> = std::collections::BTreeMap::new();
    for l in &p.left_out {
        by_why.entry(&l.why).or_default().push(&l.address);
    }
    by_why
        .into_iter()
        .map(|(why, addresses)| format!("{}: {why}", addresses.join(", ")))
        .collect()
}

/// The topology id, or that the first apply records a new one.
fn identity_words(p: &Plan) -> String {
    if p.identity.new {
        format!("new id {}, recorded by the first apply", p.identity.id)
    } else {
        format!("id {}", p.identity.id)
    }
}

/// How each zone read by name was read, in words: `zone example.com by name: 20 names (paging
/// its 30,002 record sets takes 101 calls)`.
pub fn read_lines(p: &Plan) -> Vec<String> {
    p.prior_state
        .read_by_name
        .iter()
        .map(|(zone, b)| {
            format!(
                "zone {zone} by name: {} names (paging its {} record sets takes {} calls)",
                b.names,
                b.zone_records,
                b.zone_records.div_ceil(300)
            )
        })
        .collect()
}

pub fn human(p: &Plan) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Live state: {}", p.live_source);
    for line in read_lines(p) {
        let _ = writeln!(s, "Read: {line}");
    }
    let _ = writeln!(
        s,
        "Topology: {} ({}; plan {})",
        p.topology,
        identity_words(p),
        p.plan_id
    );
    if let Some(b) = &p.backend {
        let _ = writeln!(s, "Backend: {b}");
    }
    if p.destroy {
        s.push_str("Destroy: every resource this topology manages is deleted.\n");
    }
    if let Some(u) = &p.identity.unfinished {
        let _ = writeln!(
            s,
            "Unfinished: the manifest records {} (plan {}, by {}, unix time {}) that never recorded its end; this plan reads everything it could have made, and the next apply (with or without changes) settles the manifest.",
            if u.destroy { "a destroy" } else { "an apply" },
            u.plan_id,
            u.who,
            u.since_unix
        );
    }
    if !p.targets.is_empty() {
        let _ = writeln!(
            s,
            "Targets: {} (and what they depend on)",
            p.targets.join(", ")
        );
    }
    s.push('\n');
    let changed: Vec<&ResourceChange> = p
        .resource_changes
        .iter()
        .filter(|c| !c.is_no_op())
        .collect();
    if !changed.is_empty() {
        s.push_str("Meridian will perform the following actions:\n\n");
    }
    for c in &changed {
        let _ = writeln!(s, "{}", headline(c));
        let _ = writeln!(s, "{} {} {{", symbol(c), c.address);
        attributes(c, &mut s);
        s.push_str("    }\n\n");
    }
    untouched(p, "Left alone: ", &mut s);
    if !p.untouched.is_empty() {
        s.push('\n');
    }
    for r in &p.shared_rules {
        let _ = writeln!(s, "{}", shared_line(r));
    }
    if !p.shared_rules.is_empty() {
        s.push('\n');
    }
    for line in left_out_lines(p) {
        let _ = writeln!(s, "Left out: {line}");
    }
    if !p.left_out.is_empty() {
        s.push('\n');
    }
    let _ = writeln!(s, "{}", recovery_line(p));
    lint_lines(p, &mut s);
    if let Some(line) = budget_line(p) {
        let _ = writeln!(s, "{line}");
    }
    if !p.api_calls.is_empty() {
        let _ = writeln!(s, "{}", calls_line(&p.api_calls));
    }
    let _ = writeln!(s, "{}", summary_line(p));
    if let Some(line) = deferred_line(p) {
        let _ = writeln!(s, "{line}");
    }
    s
}

/// The health checks the plan creates against the account's limit.
fn budget_line(p: &Plan) -> Option<String> {
    use crate::provider::CheckLimit;
    let b = p.health_checks.as_ref()?;
    Some(match &b.limit {
        CheckLimit::None => return None,
        CheckLimit::Known { limit, count } => format!(
            "Health checks: +{} created; the account holds {count} of its limit of {limit}",
            b.adding
        ),
        CheckLimit::Unknown { why } => format!(
            "Health checks: +{} created; the account's limit is unknown ({why})",
            b.adding
        ),
    })
}

pub fn markdown(p: &Plan) -> String {
    let mut s = String::from("## Meridian plan\n\n");
    let _ = writeln!(
        s,
        "Live state: **{}** · topology `{}` ({})\n",
        p.live_source,
        p.topology,
        identity_words(p)
    );
    for line in read_lines(p) {
        let _ = writeln!(s, "Read: {line}\n");
    }
    let _ = writeln!(s, "**{}**\n", summary_line(p));
    if let Some(line) = deferred_line(p) {
        let _ = writeln!(s, "{line}\n");
    }
    let _ = writeln!(s, "{}\n", recovery_line(p));
    if !p.left_out.is_empty() {
        s.push_str("**Left out** (the live state's provider cannot hold them):\n\n");
        let items: Vec<String> = left_out_lines(p);
        s.push_str(&crate::render::comment::bullets(&items, "resources"));
        s.push('\n');
    }
    if !p.lint.is_empty() {
        let _ = writeln!(s, "**Static stability** (`meridian lint`):\n");
        let items: Vec<String> = p
            .lint
            .iter()
            .map(|n| format!("`{}` {}: {}", n.rule, n.level, n.message))
            .collect();
        s.push_str(&crate::render::comment::bullets(&items, "findings"));
        s.push('\n');
    }
    let changed: Vec<&ResourceChange> = p
        .resource_changes
        .iter()
        .filter(|c| !c.is_no_op())
        .collect();
    if !changed.is_empty() {
        let _ = writeln!(
            s,
            "<details><summary>Changes ({})</summary>\n",
            changed.len()
        );
        s.push_str("| action | address | reason |\n| --- | --- | --- |\n");
        for c in &changed {
            let action = if c.is_replace() {
                "replace".to_string()
            } else {
                serde_json::to_value(c.change.actions[0])
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default()
            };
            let reason = if c.replace_paths.is_empty() {
                c.action_reason.clone().unwrap_or_default()
            } else {
                format!("{} forces replacement", c.replace_paths.join(", "))
            };
            let _ = writeln!(s, "| {action} | `{}` | {reason} |", c.address);
        }
        s.push_str("\n</details>\n\n<details><summary>Details</summary>\n\n```diff\n");
        for c in &changed {
            let _ = writeln!(s, "{}", headline(c));
            let _ = writeln!(s, "{} {} {{", symbol(c).trim_start(), c.address);
            attributes(c, &mut s);
            s.push_str("    }\n");
        }
        s.push_str("```\n\n</details>\n");
    }
    if !p.untouched.is_empty() {
        let _ = writeln!(
            s,
            "\n<details><summary>Left alone ({})</summary>\n",
            p.untouched.len()
        );
        untouched(p, "- ", &mut s);
        s.push_str("\n</details>\n");
    }
    s
}

/// `API calls: 16 (ListHealthChecks 1, ListHostedZonesByName 1, ListResourceRecordSets 14)`.
pub fn calls_line(calls: &std::collections::BTreeMap<String, usize>) -> String {
    let total: usize = calls.values().sum();
    let parts: Vec<String> = calls.iter().map(|(k, v)| format!("{k} {v}")).collect();
    format!("API calls: {total} ({})", parts.join(", "))
}

/// The outcome of an apply, one line per change, then a summary, then the record batches
/// where the provider sends them in batches.
pub fn outcome(o: &Outcome) -> String {
    let mut s = changes_outcome(o);
    if let Some(b) = o.batches.filter(|b| b.batches > 0) {
        let _ = writeln!(
            s,
            "Record batches: {} sent (the changes need at least {}), {} INSYNC wait(s).",
            b.batches, b.lower_bound, b.waits
        );
    }
    if let Some(d) = &o.deferred {
        let _ = writeln!(
            s,
            "Still waiting: {} service(s) needing {} health check(s), past this apply's cap of {} creations (health_check_creations_per_day): apply again to take the next ones.",
            d.waiting.len(),
            d.waiting_checks,
            d.cap
        );
    }
    s
}

fn changes_outcome(o: &Outcome) -> String {
    let mut s = String::new();
    let (mut done, mut failed, mut partial, mut skipped) = (0, 0, 0, 0);
    for c in &o.changes {
        let verb = if c.actions == [Action::Delete, Action::Create] {
            "replace"
        } else {
            match c.actions.first() {
                Some(Action::Create) => "create",
                Some(Action::Update) => "update",
                Some(Action::Delete) => "destroy",
                _ => "no-op",
            }
        };
        let ids = if c.ids.is_empty() {
            String::new()
        } else {
            format!(" [id={}]", c.ids.join(", "))
        };
        match &c.status {
            Status::Done => {
                done += 1;
                let _ = writeln!(s, "{}: {verb} complete{ids}", c.address);
            }
            Status::Failed { error } => {
                failed += 1;
                let _ = writeln!(s, "{}: {verb} FAILED: {error}", c.address);
            }
            Status::Partial { error } => {
                partial += 1;
                let _ = writeln!(s, "{}: {verb} PARTIAL{ids}: {error}", c.address);
            }
            Status::Skipped { because } => {
                skipped += 1;
                let _ = writeln!(s, "{}: {verb} not attempted: {because}", c.address);
            }
        }
    }
    if failed + partial + skipped == 0 && o.interrupted {
        let _ = writeln!(
            s,
            "\nApply interrupted after its last call: {done} change(s) applied in {} operation(s); a Route 53 change may still be propagating (it completes on its own).",
            o.operations
        );
        return s;
    }
    if failed + partial + skipped == 0 {
        let _ = writeln!(
            s,
            "\nApply complete: {done} change(s) applied in {} operation(s).",
            o.operations
        );
        return s;
    }
    let partial = if partial > 0 {
        format!(", {partial} partly applied")
    } else {
        String::new()
    };
    let _ = writeln!(
        s,
        "\nApply {}: {done} applied, {failed} failed{partial}, {skipped} not attempted. Run `meridian plan` to see what remains, or run apply again.",
        if o.interrupted { "interrupted" } else { "incomplete" }
    );
    s
}
