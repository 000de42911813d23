//! A service's `data` block: placement, primary, shards, witnesses and engine rules.

use super::*;

/// `primary`: required by primary-replica data, among the service's regions; not allowed
/// otherwise. False when it is wrong.
pub(super) fn data_primary(
    d: &Block,
    pattern: DataPattern,
    regions: &[&str],
    diags: &mut Diagnostics,
) -> bool {
    let mut ok = true;
    if pattern == DataPattern::PrimaryReplica {
        match d.str("primary") {
            None if !d.is_written("primary") => {
                ok = false;
                diags.push(
                    Diagnostic::error(
                        Code::DataPrimary,
                        d.value_loc("pattern"),
                        "primary-replica data needs a `primary` region",
                    )
                    .label("which region takes writes?")
                    .help("add `primary = \"<region label>\"`"),
                );
            }
            Some(p) if !regions.contains(&p) && !regions.is_empty() => {
                ok = false;
                let mut names = regions.to_vec();
                names.sort();
                let mut diag = Diagnostic::error(
                    Code::DataPrimary,
                    d.value_loc("primary"),
                    format!("data.primary \"{p}\" is not one of the service's regions"),
                )
                .label("not a region of this service");
                diag = match suggest(p, names.iter().copied()) {
                    Some(s) => diag.help(format!("did you mean \"{s}\"?")),
                    None => diag.help(format!("regions: {}", names.join(", "))),
                };
                diags.push(diag);
            }
            _ => {}
        }
    } else if d.is_written("primary") {
        ok = false;
        diags.push(
            Diagnostic::error(
                Code::DataPrimary,
                d.loc_of("primary"),
                format!(
                    "`primary` applies only to primary-replica data; this pattern is {}",
                    d.str("pattern").unwrap_or_default()
                ),
            )
            .label("not used by this pattern"),
        );
    }
    ok
}

pub(super) fn data(d: &Block, regions: &[&str], diags: &mut Diagnostics) -> Option<Data> {
    let pattern = match d.str("pattern")? {
        "primary-replica" => DataPattern::PrimaryReplica,
        "partitioned" => DataPattern::Partitioned,
        _ => DataPattern::MultiMaster,
    };
    let mut ok = data_primary(d, pattern, regions, diags);
    if pattern != DataPattern::MultiMaster && d.is_written("consistency") {
        ok = false;
        diags.push(
            Diagnostic::error(
                Code::DataField,
                d.loc_of("consistency"),
                "`consistency` applies only to multi-master data",
            )
            .label("not used by this pattern")
            .help("remove it: primary-replica and partitioned data replicate asynchronously"),
        );
    }
    let consistency = match d.str("consistency") {
        Some("strong") => Consistency::Strong,
        _ => Consistency::Eventual,
    };
    ok &= recovery_fields(d, pattern, consistency, diags);
    ok &= shards(d, pattern, regions, diags);
    if !ok {
        return None;
    }
    Some(Data {
        pattern,
        primary: d.str("primary").map(str::to_string),
        replication_lag: d.dur("replication_lag"),
        replication_lag_max: d.dur("replication_lag_max"),
        promotion: d.dur("promotion"),
        promotion_range: super::range_of(d, "promotion"),
        promotion_mode: match d.str("promotion_mode") {
            Some("manual") => PromotionMode::Manual,
            _ => PromotionMode::Automatic,
        },
        decision_time: d.dur("decision_time"),
        decision_time_range: super::range_of(d, "decision_time"),
        promoted_by: d.str("promoted_by").map(str::to_string),
        consistency,
        witness: d.str("witness").map(str::to_string),
        user_scoped: d.bool("user_scoped").unwrap_or(false),
        engine: d.str("engine").map(|e| match e {
            "aurora" => super::Engine::Aurora,
            "dynamodb" => super::Engine::Dynamodb,
            "elasticache" => super::Engine::Elasticache,
            _ => super::Engine::Other,
        }),
        shards: d
            .map("shards")
            .unwrap_or_default()
            .iter()
            .map(|(k, v, _)| (k.clone(), v.clone()))
            .collect(),
    })
}

/// A witness votes without serving, so it is not one of the service's regions.
pub(super) fn witness_rules(
    db: &Block,
    d: &Data,
    regions: &BTreeMap<String, Region>,
    diags: &mut Diagnostics,
) {
    if let Some(w) = &d.witness {
        if regions.values().any(|r| &r.aws_region == w) {
            diags.push(
                Diagnostic::error(
                    Code::DataField,
                    db.value_loc("witness"),
                    format!("witness {w} already votes: the service serves from it"),
                )
                .label("not a separate voter")
                .help("a witness is an AWS region that votes without serving; name one the service does not run in"),
            );
        }
    }
    engine_rules(db, d, regions, diags);
}

/// What the declared engine allows: Aurora global databases and ElastiCache global datastores
/// have one writer region (no multi-master); DynamoDB's multi-Region strong consistency takes
/// exactly three voting AWS regions (three replicas, or two and a witness) of one Region set
/// (aws-facts.md, 2026-12-07).
pub(super) fn engine_rules(
    db: &Block,
    d: &Data,
    regions: &BTreeMap<String, Region>,
    diags: &mut Diagnostics,
) {
    let refuse = |at: Loc, message: String, help: String, diags: &mut Diagnostics| {
        diags.push(
            Diagnostic::error(Code::DataField, at, message)
                .label("not what this engine does")
                .help(help),
        );
    };
    match d.engine {
        Some(e @ (super::Engine::Aurora | super::Engine::Elasticache))
            if d.pattern == DataPattern::MultiMaster =>
        {
            let what = if e == super::Engine::Aurora {
                "an Aurora global database"
            } else {
                "an ElastiCache global datastore"
            };
            refuse(
                db.value_loc("pattern"),
                format!("{what} has one writer region: it is not multi-master"),
                "use pattern = \"primary-replica\" with its primary, or the engine that is multi-master".into(),
                diags,
            );
        }
        Some(super::Engine::Dynamodb) if d.consistency == Consistency::Strong => {
            let mut voters: Vec<&str> = regions.values().map(|r| r.aws_region.as_str()).collect();
            voters.extend(d.witness.as_deref());
            voters.sort_unstable();
            voters.dedup();
            if let Some((message, help)) = dynamodb_quorum(&voters, d.witness.as_deref()) {
                let at = if d.witness.is_some() {
                    db.value_loc("witness")
                } else {
                    db.value_loc("consistency")
                };
                refuse(at, message, help, diags);
            }
        }
        _ => {}
    }
}

/// Why DynamoDB would refuse these voting regions for a strongly consistent global table.
pub(super) fn dynamodb_quorum(voters: &[&str], witness: Option<&str>) -> Option<(String, String)> {
    let sets: Vec<String> = catalog::DYNAMODB_REGION_SETS
        .iter()
        .map(|(n, rs)| format!("{n}: {}", rs.join(", ")))
        .collect();
    let help = format!(
        "multi-Region strong consistency takes three AWS regions of one Region set: three replicas, or two and a witness ({})",
        sets.join("; ")
    );
    if voters.len() != 3 {
        return Some((
            format!(
                "DynamoDB's strong consistency takes exactly three voting AWS regions; this data has {} ({})",
                voters.len(),
                voters.join(", ")
            ),
            help,
        ));
    }
    let set = catalog::dynamodb_region_set(voters[0]);
    let outside: Vec<&str> = voters
        .iter()
        .copied()
        .filter(|v| set.is_none() || catalog::dynamodb_region_set(v) != set)
        .collect();
    if set.is_some() && outside.is_empty() {
        return None;
    }
    let message = match (witness, set) {
        (Some(w), _) if catalog::dynamodb_region_set(w).is_none() => format!("DynamoDB cannot place a witness in {w}: it is in no Region set of multi-Region strong consistency"),
        (Some(w), _) => {
            let ws = catalog::dynamodb_region_set(w).unwrap_or_default();
            let apart: Vec<&str> = voters.iter().copied().filter(|v| catalog::dynamodb_region_set(v) != Some(ws)).collect();
            format!("the witness {w} is in DynamoDB's {ws} Region set, but the replicas in {} are not", apart.join(", "))
        }
        (None, _) => format!("the replicas in {} are not all in one of DynamoDB's Region sets", voters.join(", ")),
    };
    Some((message, help))
}

/// `shards`: partitioned data only, each home a region label of the service, each shard once.
pub(super) fn shards(
    d: &Block,
    pattern: DataPattern,
    regions: &[&str],
    diags: &mut Diagnostics,
) -> bool {
    let Some(map) = d.map("shards") else {
        return true;
    };
    if map.is_empty() {
        diags.push(
            Diagnostic::error(Code::DataField, d.value_loc("shards"), "`shards` is empty")
                .label("no shard")
                .help("name each shard's home region, or remove `shards` for the default (every region serving users homes a shard)"),
        );
        return false;
    }
    if pattern != DataPattern::Partitioned {
        diags.push(
            Diagnostic::error(
                Code::DataField,
                d.loc_of("shards"),
                "`shards` applies only to partitioned data",
            )
            .label("not used by this pattern")
            .help("a primary-replica or multi-master design has no shard homes"),
        );
        return false;
    }
    let mut ok = true;
    let mut seen = std::collections::BTreeSet::new();
    for (name, home, at) in map {
        if !seen.insert(name.as_str()) {
            ok = false;
            diags.push(
                Diagnostic::error(
                    Code::DataField,
                    at.clone(),
                    format!("shard \"{name}\" is named twice"),
                )
                .label("repeated shard"),
            );
        }
        if !regions.contains(&home.as_str()) {
            ok = false;
            diags.push(
                Diagnostic::error(
                    Code::DataField,
                    at.clone(),
                    format!("shard \"{name}\" is homed in \"{home}\", which is no region of the service"),
                )
                .label("unknown region")
                .help(format!("name a region label of the service: {}", regions.join(", "))),
            );
        }
    }
    ok
}

/// The data attributes of the recovery model: `decision_time` goes with manual promotion,
/// `witness` with strong multi-master (and is an AWS region), the worst-case lag is not below
/// the typical one. False when one is wrong.
pub(super) fn recovery_fields(
    d: &Block,
    pattern: DataPattern,
    consistency: Consistency,
    diags: &mut Diagnostics,
) -> bool {
    let mut ok = true;
    let mut misplaced = |attr: &str, why: &str| {
        ok = false;
        diags.push(
            Diagnostic::error(Code::DataField, d.loc_of(attr), format!("`{attr}` {why}"))
                .label("not used here"),
        );
    };
    if d.is_written("decision_time") && d.str("promotion_mode") != Some("manual") {
        misplaced(
            "decision_time",
            "applies only to promotion_mode = \"manual\"",
        );
    }
    let strong = pattern == DataPattern::MultiMaster && consistency == Consistency::Strong;
    if d.is_written("witness") && !strong {
        misplaced(
            "witness",
            "applies only to multi-master data with strong consistency",
        );
    }
    if let (Some(typical), Some(worst)) = (d.dur("replication_lag"), d.dur("replication_lag_max")) {
        if worst < typical {
            misplaced(
                "replication_lag_max",
                "is below replication_lag: the worst case cannot be better than the typical one",
            );
        }
    }
    ok &= super::range_fields(d, "promotion", diags);
    ok &= super::range_fields(d, "decision_time", diags);
    if let Some(w) = d.str("witness").filter(|_| strong) {
        if let Err(e) = region_name(w, d.value_loc("witness"), "witness") {
            ok = false;
            diags.push(*e);
        }
    }
    ok
}
