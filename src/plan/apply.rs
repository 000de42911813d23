//! Apply: a plan's changes as provider operations, in dependency order.
//!
//! Route 53 work runs in three waves: create and update health checks; then one atomic
//! record batch per zone (ownership markers, creates, updates, deletes, and a type change as
//! DELETE + CREATE in the same batch, so a name never goes unanswered); then delete the health
//! checks no record uses any more. ECR work runs beside it: create repositories, then write
//! each source region's replication configuration. A failed operation stops the work that
//! depends on it and nothing else; everything done is in the cloud under Meridian's ownership
//! markers, so the next plan shows exactly what remains.

use super::diff::{caller_reference, Detail};
use super::{Action, Planned};
use crate::dns::ChangeAction;
use crate::provider::{Done, Op, Provider, RecordChange, RecordSet};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    Done,
    Failed {
        error: String,
    },
    /// Not attempted because work it depends on failed.
    Skipped {
        because: String,
    },
    /// Some of its operations ran (a replacement whose old object was not deleted).
    Partial {
        error: String,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct ChangeOutcome {
    pub address: String,
    pub actions: Vec<Action>,
    #[serde(flatten)]
    pub status: Status,
    /// Ids the provider assigned (new health checks).
    pub ids: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub changes: Vec<ChangeOutcome>,
    /// Provider operations attempted.
    pub operations: usize,
}

impl Outcome {
    pub fn succeeded(&self) -> bool {
        self.changes.iter().all(|c| c.status == Status::Done)
    }
}

/// Per-change bookkeeping while operations run.
struct Ledger {
    status: Vec<Option<Status>>,
    ids: Vec<Vec<String>>,
    operations: usize,
}

impl Ledger {
    fn fail(&mut self, i: usize, error: String) {
        self.status[i] = Some(match self.status[i] {
            Some(Status::Done) => Status::Partial { error },
            _ => Status::Failed { error },
        });
    }

    fn done(&mut self, i: usize) {
        if self.status[i].is_none() {
            self.status[i] = Some(Status::Done);
        }
    }

    fn skip(&mut self, i: usize, because: &str) {
        match self.status[i] {
            None => {
                self.status[i] = Some(Status::Skipped {
                    because: because.into(),
                })
            }
            Some(Status::Done) => {
                self.status[i] = Some(Status::Partial {
                    error: because.into(),
                })
            }
            _ => {}
        }
    }
}

/// Runs one wave: `ops[k]` implements the changes `owners[k]`. Returns whether all succeeded.
fn run(
    provider: &dyn Provider,
    ops: Vec<Op>,
    owners: Vec<Vec<usize>>,
    parallelism: usize,
    ledger: &mut Ledger,
    mut on_done: impl FnMut(usize, &Done),
) -> bool {
    if ops.is_empty() {
        return true;
    }
    ledger.operations += ops.len();
    let mut results = provider.apply(&ops, parallelism.max(1)).into_iter();
    let mut ok = true;
    for who in &owners {
        // A provider that returns fewer results than operations failed the rest.
        let result = results.next().unwrap_or_else(|| {
            Err(crate::provider::ProviderError::Io(
                "the provider returned no result for this operation".into(),
            ))
        });
        for &i in who {
            match &result {
                Ok(done) => on_done(i, done),
                Err(e) => {
                    ok = false;
                    ledger.fail(i, e.to_string());
                }
            }
        }
    }
    ok
}

/// Applies `planned` through `provider`.
pub fn apply(planned: &Planned, provider: &dyn Provider, parallelism: usize) -> Outcome {
    let plan = &planned.plan;
    let n = plan.resource_changes.len();
    let mut ledger = Ledger {
        status: vec![None; n],
        ids: vec![Vec::new(); n],
        operations: 0,
    };
    let changes: Vec<(usize, &super::ResourceChange, &Detail)> = plan
        .resource_changes
        .iter()
        .zip(&planned.details)
        .enumerate()
        .map(|(i, (c, d))| (i, c, d))
        .filter(|(_, c, _)| !c.is_no_op())
        .collect();

    // Wave 1: create and update health checks.
    let mut ops = Vec::new();
    let mut owners = Vec::new();
    for (i, c, d) in &changes {
        let Detail::HealthCheck {
            desired: Some(spec),
            keep,
            zone,
            ..
        } = d
        else {
            continue;
        };
        match keep {
            None => {
                let mut tags = BTreeMap::new();
                tags.insert("meridian:topology".to_string(), plan.topology.clone());
                tags.insert("meridian:address".to_string(), c.address.clone());
                ops.push(Op::CreateHealthCheck {
                    caller_reference: caller_reference(
                        &plan.topology,
                        &c.address,
                        zone,
                        &plan.plan_id,
                    ),
                    config: spec.clone(),
                    tags,
                });
                owners.push(vec![*i]);
            }
            Some(k) if &k.config != spec || !k.drift.is_empty() => {
                let mut reset = Vec::new();
                if k.config.resource_path.is_some() && spec.resource_path.is_none() {
                    reset.push("ResourcePath".to_string());
                }
                if k.config.fqdn.is_some() && spec.fqdn.is_none() {
                    reset.push("FullyQualifiedDomainName".to_string());
                }
                if !k.config.regions.is_empty() && spec.regions.is_empty() {
                    reset.push("Regions".to_string());
                }
                ops.push(Op::UpdateHealthCheck {
                    id: k.id.clone(),
                    version: k.version,
                    config: spec.clone(),
                    reset,
                });
                owners.push(vec![*i]);
            }
            Some(_) => {}
        }
    }
    let mut new_ids: BTreeMap<String, String> = BTreeMap::new();
    run(
        provider,
        ops,
        owners,
        parallelism,
        &mut ledger,
        |i, done| {
            if let Done::HealthCheck(id) = done {
                new_ids.insert(plan.resource_changes[i].address.clone(), id.clone());
            }
        },
    );
    // Health checks that could not be created or updated.
    let mut failed_checks: BTreeSet<String> = BTreeSet::new();
    for (i, c) in plan.resource_changes.iter().enumerate() {
        if let Some(id) = new_ids.get(&c.address) {
            ledger.ids[i].push(id.clone());
        }
        if matches!(ledger.status[i], Some(Status::Failed { .. })) {
            failed_checks.insert(c.address.clone());
        }
    }
    for (i, _, d) in &changes {
        if let Detail::HealthCheck {
            desired: Some(_), ..
        } = d
        {
            if ledger.status[*i].is_none()
                && !failed_checks.contains(&plan.resource_changes[*i].address)
            {
                ledger.done(*i);
            }
        }
    }

    // Wave 2: one atomic record batch per zone. A record whose new health check failed is
    // left as it is (and reported); the rest of its zone goes ahead.
    let mut batches: BTreeMap<String, (Vec<RecordChange>, Vec<usize>)> = BTreeMap::new();
    let mut held_zones: BTreeSet<String> = BTreeSet::new();
    for (i, _, d) in &changes {
        let Detail::Record {
            desired,
            check,
            delete,
            in_place,
        } = d
        else {
            continue;
        };
        let zone = desired
            .as_ref()
            .map(|r| r.zone.clone())
            .or_else(|| delete.first().map(|r| r.zone.clone()))
            .unwrap_or_default();
        if check
            .as_ref()
            .is_some_and(|a| failed_checks.contains(&a.to_string()))
        {
            ledger.skip(*i, "the health check it needs was not created or updated");
            held_zones.insert(zone);
            continue;
        }
        let entry = batches.entry(zone).or_default();
        entry.1.push(*i);
        let desired: Option<RecordSet> = desired.clone().map(|mut r| {
            if let Some(a) = check {
                if let Some(id) = new_ids.get(&a.to_string()) {
                    r.health_check_id = Some(id.clone());
                }
            }
            r
        });
        match (desired, *in_place) {
            (Some(r), true) => entry.0.push(RecordChange {
                action: if delete.is_empty() {
                    ChangeAction::Create
                } else {
                    ChangeAction::Upsert
                },
                record: r,
            }),
            (desired, _) => {
                for old in delete {
                    entry.0.push(RecordChange {
                        action: ChangeAction::Delete,
                        record: old.clone(),
                    });
                }
                if let Some(r) = desired {
                    entry.0.push(RecordChange {
                        action: ChangeAction::Create,
                        record: r,
                    });
                }
            }
        }
    }
    let mut ops = Vec::new();
    let mut owners = Vec::new();
    let mut op_zones = Vec::new();
    for (zone, (mut batch, who)) in batches {
        // Deletes first, so a type change frees its name before the new type arrives.
        batch.sort_by_key(|c| c.action != ChangeAction::Delete);
        op_zones.push(zone.clone());
        ops.push(Op::ChangeRecords {
            zone,
            changes: batch,
        });
        owners.push(who);
    }
    let mut finished = Vec::new();
    run(
        provider,
        ops,
        owners.clone(),
        parallelism,
        &mut ledger,
        |i, _| finished.push(i),
    );
    for i in finished {
        ledger.done(i);
    }
    for (zone, who) in op_zones.iter().zip(&owners) {
        if who
            .iter()
            .any(|i| matches!(ledger.status[*i], Some(Status::Failed { .. })))
        {
            held_zones.insert(zone.clone());
        }
    }

    // Wave 3: delete health checks no record uses any more, zone by zone: only where that
    // zone's records were changed.
    let mut ops = Vec::new();
    let mut owners = Vec::new();
    for (i, _, d) in &changes {
        let Detail::HealthCheck { delete, zone, .. } = d else {
            continue;
        };
        if delete.is_empty() {
            continue;
        }
        if held_zones.contains(zone) || failed_checks.contains(&plan.resource_changes[*i].address) {
            ledger.skip(*i, "the records using it were not changed");
            continue;
        }
        for h in delete {
            ops.push(Op::DeleteHealthCheck { id: h.id.clone() });
            owners.push(vec![*i]);
        }
    }
    let mut finished = Vec::new();
    run(provider, ops, owners, parallelism, &mut ledger, |i, _| {
        finished.push(i)
    });
    for i in finished {
        ledger.done(i);
    }

    // ECR: repositories, then each region's replication configuration.
    let mut ops = Vec::new();
    let mut owners = Vec::new();
    let mut failed_regions: BTreeSet<String> = BTreeSet::new();
    let mut repo_region: Vec<String> = Vec::new();
    for (i, c, d) in &changes {
        if let Detail::Repository { region, name } = d {
            if c.change.actions == [Action::Create] {
                ops.push(Op::CreateRepository {
                    region: region.clone(),
                    name: name.clone(),
                });
                owners.push(vec![*i]);
                repo_region.push(region.clone());
            }
        }
    }
    let mut finished = Vec::new();
    let results_ok = run(provider, ops, owners, parallelism, &mut ledger, |i, _| {
        finished.push(i)
    });
    for i in finished {
        ledger.done(i);
    }
    if !results_ok {
        for (i, c, d) in &changes {
            if let Detail::Repository { region, .. } = d {
                if matches!(ledger.status[*i], Some(Status::Failed { .. })) && !c.is_no_op() {
                    failed_regions.insert(region.clone());
                }
            }
        }
    }
    let mut per_region: BTreeMap<String, (Vec<crate::provider::ReplicationRule>, Vec<usize>)> =
        BTreeMap::new();
    for (i, _, d) in &changes {
        if let Detail::Replication { region, rules } = d {
            let e = per_region.entry(region.clone()).or_default();
            e.0 = rules.clone();
            e.1.push(*i);
        }
    }
    let mut ops = Vec::new();
    let mut owners = Vec::new();
    for (region, (rules, who)) in per_region {
        if failed_regions.contains(&region) {
            for i in who {
                ledger.skip(i, "a repository it filters was not created");
            }
            continue;
        }
        ops.push(Op::PutReplication { region, rules });
        owners.push(who);
    }
    let mut finished = Vec::new();
    run(provider, ops, owners, parallelism, &mut ledger, |i, _| {
        finished.push(i)
    });
    for i in finished {
        ledger.done(i);
    }

    let outcomes = changes
        .iter()
        .map(|(i, c, _)| ChangeOutcome {
            address: c.address.clone(),
            actions: c.change.actions.clone(),
            status: ledger.status[*i].clone().unwrap_or(Status::Skipped {
                because: "nothing to run".into(),
            }),
            ids: ledger.ids[*i].clone(),
        })
        .collect();
    Outcome {
        changes: outcomes,
        operations: ledger.operations,
    }
}
