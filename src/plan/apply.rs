//! Apply: a plan's changes as provider operations, in dependency order.
//!
//! Route 53 work runs in waves: create and update health checks; then one record operation
//! per zone (ownership markers, creates, updates, deletes, and a type change as DELETE +
//! CREATE; the provider keeps every change at one name in one atomic batch, so a name never
//! goes unanswered); then delete the health
//! checks no record uses any more; last, tag the checks that need it (`tag_health_checks`). ECR work runs beside it: create repositories, then write
//! each source region's replication configuration. A failed operation stops the work that
//! depends on it and nothing else; everything done is in the cloud under Meridian's ownership
//! markers, so the next plan shows exactly what remains.

use super::diff::Detail;
use super::{Action, Plan, ResourceChange};
use crate::dns::ChangeAction;
use crate::graph::HealthCheckSpec;
use crate::provider::{
    Done, LiveHealthCheck, Op, Provider, RecordChange, RecordSet, ReplicationRule,
};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};

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

/// Version of the apply outcome document.
pub const OUTCOME_FORMAT_VERSION: u32 = 1;

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
    /// Version of this document (`apply --format json`, `schemas/apply.schema.json`).
    pub format_version: u32,
    pub changes: Vec<ChangeOutcome>,
    /// Provider operations attempted.
    pub operations: usize,
    /// The apply was asked to stop (a signal) and did not run every wave.
    pub interrupted: bool,
    /// Record batches and INSYNC waits, where the provider batches (AWS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batches: Option<crate::provider::BatchStats>,
    /// The services the plan left for a later apply (past the health-check creation cap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deferred: Option<super::Deferred>,
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

/// The changes to make, by index into the plan, with their details.
type Work<'a> = [(usize, &'a ResourceChange)];

/// Applies `plan` through `provider`: health checks, then one record batch per zone, then
/// the health checks no record uses any more, then ECR.
pub fn apply(plan: &Plan, provider: &dyn Provider, parallelism: usize) -> Outcome {
    apply_until(plan, provider, parallelism, &AtomicBool::new(false))
}

/// How far an apply has come, after each wave (for a progress display).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Changes settled (done, failed or skipped) of those to make.
    pub settled: usize,
    pub total: usize,
    /// Provider operations started so far.
    pub operations: usize,
}

/// Called after each wave.
pub type OnProgress<'a> = &'a (dyn Fn(Progress) + Sync);

/// [`apply`], stopping before the next wave once `stop` is set: what ran is reported, the
/// rest is "not attempted", and the next plan shows exactly it.
pub fn apply_until(
    plan: &Plan,
    provider: &dyn Provider,
    parallelism: usize,
    stop: &AtomicBool,
) -> Outcome {
    apply_with(plan, provider, parallelism, stop, &|_| {})
}

/// Asked before each wave is sent: Err(why) stops the apply there (a lock found lost).
pub type Gate<'a> = &'a (dyn Fn() -> Result<(), String> + Sync);

/// [`apply_until`], reporting [`Progress`] after each wave.
pub fn apply_with(
    plan: &Plan,
    provider: &dyn Provider,
    parallelism: usize,
    stop: &AtomicBool,
    on_progress: OnProgress,
) -> Outcome {
    apply_gated(plan, provider, parallelism, stop, on_progress, &|| Ok(()))
}

/// [`apply_with`], asking `gate` before each wave: a wave is sent only when it says yes, and
/// the first no stops the apply (what did not run is "not attempted", with the gate's reason).
pub fn apply_gated(
    plan: &Plan,
    provider: &dyn Provider,
    parallelism: usize,
    stop: &AtomicBool,
    on_progress: OnProgress,
    gate: Gate,
) -> Outcome {
    let n = plan.resource_changes.len();
    let batches_before = provider.batch_stats();
    let mut ledger = Ledger {
        status: vec![None; n],
        ids: vec![Vec::new(); n],
        operations: 0,
    };
    let work: Vec<(usize, &ResourceChange)> = plan
        .resource_changes
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.is_no_op())
        .collect();
    let mut run = Runner {
        provider,
        parallelism,
        ledger: &mut ledger,
        stop,
        on_progress,
        total: work.len(),
        gate,
        halted: None,
    };
    let checks = health_checks(plan, &work, &mut run);
    let held_zones = records(&work, &checks, &mut run);
    delete_checks((&work, &plan.prior_state), &checks, &held_zones, &mut run);
    tag_checks(&work, &checks, &mut run);
    let failed_regions = repositories(&work, &mut run);
    replication(&work, &failed_regions, &mut run);
    let halted = run.halted.take();
    let interrupted = stop.load(Ordering::SeqCst) || halted.is_some();
    let outcomes = work
        .iter()
        .map(|(i, c)| ChangeOutcome {
            address: c.address.clone(),
            actions: c.change.actions.clone(),
            status: ledger.status[*i].clone().unwrap_or(Status::Skipped {
                because: match (&halted, interrupted) {
                    (Some(why), _) => format!("not sent: {why}"),
                    (None, true) => "the apply was interrupted before it ran".into(),
                    (None, false) => "nothing to run".into(),
                },
            }),
            ids: ledger.ids[*i].clone(),
        })
        .collect();
    Outcome {
        format_version: OUTCOME_FORMAT_VERSION,
        changes: outcomes,
        operations: ledger.operations,
        interrupted,
        batches: provider.batch_stats().map(|now| now.since(batches_before)),
        deferred: plan.deferred.clone(),
    }
}

/// Runs waves of operations against the ledger.
struct Runner<'a> {
    provider: &'a dyn Provider,
    parallelism: usize,
    ledger: &'a mut Ledger,
    /// Set by a signal: no further wave starts.
    stop: &'a AtomicBool,
    on_progress: OnProgress<'a>,
    /// Changes to make.
    total: usize,
    /// Asked before each wave.
    gate: Gate<'a>,
    /// Why the gate stopped the apply.
    halted: Option<String>,
}

impl Runner<'_> {
    /// Whether no further wave may start: a signal, or the gate said no.
    fn stopped(&self) -> bool {
        self.halted.is_some() || self.stop.load(Ordering::SeqCst)
    }

    /// Runs one wave: `ops[k]` implements the changes `owners[k]`; each change whose
    /// operations all succeeded is done. Returns the indexes that succeeded, with results.
    fn wave(&mut self, ops: Vec<Op>, owners: &[Vec<usize>]) -> Vec<(usize, Done)> {
        let mut succeeded = Vec::new();
        if ops.is_empty() || self.stopped() {
            return succeeded;
        }
        if let Err(why) = (self.gate)() {
            self.halted = Some(why);
            return succeeded;
        }
        self.ledger.operations += ops.len();
        let mut results = self
            .provider
            .apply(&ops, self.parallelism.max(1))
            .into_iter();
        for who in owners {
            // A provider that returns fewer results than operations failed the rest.
            let result = results.next().unwrap_or_else(|| {
                Err(crate::provider::ProviderError::Io(
                    "the provider returned no result for this operation".into(),
                ))
            });
            for &i in who {
                match &result {
                    Ok(done) => succeeded.push((i, done.clone())),
                    Err(e) => self.ledger.fail(i, e.to_string()),
                }
            }
        }
        for (i, _) in &succeeded {
            self.ledger.done(*i);
        }
        (self.on_progress)(Progress {
            settled: self.ledger.status.iter().filter(|s| s.is_some()).count(),
            total: self.total,
            operations: self.ledger.operations,
        });
        succeeded
    }
}

/// What the health-check wave left behind.
struct Checks {
    /// New ids by address.
    new_ids: BTreeMap<String, String>,
    /// Addresses whose check could not be created or updated.
    failed: BTreeSet<String>,
    /// Of those, the ones that did not run at all (the apply was interrupted first).
    not_run: BTreeSet<String>,
}

/// Wave 1: create and update health checks.
fn health_checks(plan: &Plan, work: &Work, run: &mut Runner) -> Checks {
    let mut ops = Vec::new();
    let mut owners = Vec::new();
    for (i, c) in work {
        let Detail::HealthCheck {
            desired: Some(spec),
            keep,
            zone,
            ..
        } = &c.detail
        else {
            continue;
        };
        let op = match keep {
            None => Some(create_check(plan, c, spec, zone)),
            Some(k) if !k.config.probes_as(spec) || !k.drift.is_empty() => {
                Some(update_check(k, spec))
            }
            Some(_) => None,
        };
        if let Some(op) = op {
            ops.push(op);
            owners.push(vec![*i]);
        }
    }
    let mut new_ids = BTreeMap::new();
    for (i, done) in run.wave(ops, &owners) {
        if let Done::HealthCheck(id) = done {
            run.ledger.ids[i].push(id.clone());
            new_ids.insert(plan.resource_changes[i].address.clone(), id);
        }
    }
    let ran: BTreeSet<usize> = owners.iter().flatten().copied().collect();
    let mut failed = BTreeSet::new();
    let mut not_run = BTreeSet::new();
    for (i, c) in work {
        if let Detail::HealthCheck {
            desired: Some(_), ..
        } = &c.detail
        {
            match &run.ledger.status[*i] {
                Some(Status::Failed { .. }) => {
                    failed.insert(c.address.clone());
                }
                // Created or updated: the wave said so. Not run (interrupted): not done, and
                // its records must wait like those of a failed check.
                None if ran.contains(i) => {
                    failed.insert(c.address.clone());
                    not_run.insert(c.address.clone());
                }
                // Kept as it is (only duplicates to delete).
                _ => run.ledger.done(*i),
            }
        }
    }
    Checks {
        new_ids,
        failed,
        not_run,
    }
}

fn create_check(plan: &Plan, c: &ResourceChange, spec: &HealthCheckSpec, zone: &str) -> Op {
    Op::CreateHealthCheck {
        caller_reference: plan
            .identity
            .caller_reference(&c.address, zone, &plan.plan_id),
        config: spec.clone(),
    }
}

/// Last: the tags of the checks that need them (`tag_health_checks`), once each check
/// exists. Tags route nothing, so they wait for nothing else and nothing waits for them; a
/// check whose tagging fails is reported, and the next plan shows the tags to repair.
fn tag_checks(work: &Work, checks: &Checks, run: &mut Runner) {
    let mut ops = Vec::new();
    let mut owners = Vec::new();
    for (i, c) in work {
        let Detail::HealthCheck {
            desired: Some(spec),
            keep,
            tags,
            ..
        } = &c.detail
        else {
            continue;
        };
        if tags.is_empty() || checks.failed.contains(&c.address) {
            continue;
        }
        let id = match keep {
            Some(k) => k.id.clone(),
            None => match checks.new_ids.get(&c.address) {
                Some(id) => id.clone(),
                None => continue,
            },
        };
        if keep
            .as_ref()
            .is_some_and(|k| k.config.probes_as(spec) && k.drift.is_empty())
        {
            // Only its tags change: their outcome is the change's.
            run.ledger.status[*i] = None;
        }
        ops.push(Op::TagHealthCheck {
            id,
            tags: tags.clone(),
        });
        owners.push(vec![*i]);
    }
    run.wave(ops, &owners);
    for i in owners.iter().flatten() {
        if let Some(Status::Failed { error } | Status::Partial { error }) =
            &mut run.ledger.status[*i]
        {
            *error = format!("its tags were not written: {error}");
        }
    }
}

fn update_check(k: &LiveHealthCheck, spec: &HealthCheckSpec) -> Op {
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
    Op::UpdateHealthCheck {
        id: k.id.clone(),
        version: k.version,
        config: spec.clone(),
        reset,
    }
}

/// Wave 2: one atomic record batch per zone. A record whose new health check failed is left
/// as it is (and reported); the rest of its zone goes ahead. Returns the zones not fully
/// changed, whose old health checks must stay.
fn records(work: &Work, checks: &Checks, run: &mut Runner) -> BTreeSet<String> {
    let mut batches: BTreeMap<String, (Vec<RecordChange>, Vec<usize>)> = BTreeMap::new();
    let mut held_zones: BTreeSet<String> = BTreeSet::new();
    for (i, c) in work {
        let Detail::Record {
            desired,
            check,
            delete,
            in_place,
        } = &c.detail
        else {
            continue;
        };
        let Some(zone) = desired
            .as_ref()
            .or_else(|| delete.first())
            .map(|r| r.zone.clone())
        else {
            continue;
        };
        if let Some(a) = check
            .as_ref()
            .map(ToString::to_string)
            .filter(|a| checks.failed.contains(a))
        {
            let why = if checks.not_run.contains(&a) {
                "the apply was interrupted before the health check it needs ran"
            } else {
                "the health check it needs was not created or updated"
            };
            run.ledger.skip(*i, why);
            held_zones.insert(zone);
            continue;
        }
        let entry = batches.entry(zone).or_default();
        entry.1.push(*i);
        let desired = desired.clone().map(|mut r| {
            if let Some(id) = check
                .as_ref()
                .and_then(|a| checks.new_ids.get(&a.to_string()))
            {
                r.health_check_id = Some(id.clone());
            }
            r
        });
        entry.0.extend(record_changes(desired, delete, *in_place));
    }
    let mut ops = Vec::new();
    let mut owners = Vec::new();
    let mut op_zones = Vec::new();
    for (zone, (mut batch, who)) in batches {
        // Deletes first, so a type change frees its name before the new type arrives (a
        // provider orders further what its API needs: Route 53, aliases after their targets).
        batch.sort_by_key(|c| c.action != ChangeAction::Delete);
        op_zones.push(zone.clone());
        ops.push(Op::ChangeRecords {
            zone,
            changes: batch,
        });
        owners.push(who);
    }
    let done = run.wave(ops, &owners);
    for (zone, who) in op_zones.iter().zip(&owners) {
        let failed = who
            .iter()
            .any(|i| matches!(run.ledger.status[*i], Some(Status::Failed { .. })));
        // Applied but not seen INSYNC: edge servers may still use the old checks.
        let propagating = done
            .iter()
            .any(|(i, d)| who.contains(i) && *d == Done::Records { insync: false });
        if failed || propagating || !who.iter().any(|i| done.iter().any(|(j, _)| j == i)) {
            held_zones.insert(zone.clone());
        }
    }
    held_zones
}

/// The record changes of one planned record change.
fn record_changes(
    desired: Option<RecordSet>,
    delete: &[RecordSet],
    in_place: bool,
) -> Vec<RecordChange> {
    match (desired, in_place) {
        (Some(r), true) => vec![RecordChange {
            action: if delete.is_empty() {
                ChangeAction::Create
            } else {
                ChangeAction::Upsert
            },
            record: r,
        }],
        (desired, _) => delete
            .iter()
            .map(|old| RecordChange {
                action: ChangeAction::Delete,
                record: old.clone(),
            })
            .chain(desired.map(|r| RecordChange {
                action: ChangeAction::Create,
                record: r,
            }))
            .collect(),
    }
}

/// Wave 3: delete health checks no record uses any more, zone by zone: only where that zone's
/// records were changed.
/// Route 53 deletes a check that records still use (they then count as healthy): so a check
/// is deleted only once the batch that detaches it is done (INSYNC), and a fresh read of its
/// zone shows no record using it.
fn delete_checks(
    (work, prior): (&Work, &crate::provider::LiveState),
    checks: &Checks,
    held_zones: &BTreeSet<String>,
    run: &mut Runner,
) {
    let mut candidates = Vec::new();
    for (i, c) in work {
        let Detail::HealthCheck { delete, zone, .. } = &c.detail else {
            continue;
        };
        if delete.is_empty() {
            continue;
        }
        if held_zones.contains(zone) || checks.failed.contains(&c.address) {
            run.ledger.skip(
                *i,
                "the records using it were not changed, or not yet seen INSYNC (the next apply deletes it)",
            );
            continue;
        }
        candidates.push((*i, zone, delete));
    }
    if candidates.is_empty() || run.stopped() {
        return;
    }
    let zones: BTreeSet<String> = candidates
        .iter()
        .map(|(_, z, _)| (*z).clone())
        .filter(|z| !z.is_empty())
        .collect();
    let ids: BTreeSet<&str> = candidates
        .iter()
        .flat_map(|(_, _, delete)| delete.iter().map(|h| h.id.as_str()))
        .collect();
    let scope = crate::provider::Scope {
        names: affected_names(work, prior, &ids),
        zones: zones.into_iter().collect(),
        records_only: true,
        ..Default::default()
    };
    let used: BTreeSet<String> = match run.provider.read(&scope) {
        Ok(live) => live
            .records
            .into_iter()
            .filter_map(|r| r.health_check_id)
            .collect(),
        Err(e) => {
            for (i, _, _) in &candidates {
                run.ledger.skip(
                    *i,
                    &format!("the zone could not be read again before deleting: {e}"),
                );
            }
            return;
        }
    };
    let mut ops = Vec::new();
    let mut owners = Vec::new();
    for (i, _, delete) in candidates {
        if delete.iter().any(|h| used.contains(&h.id)) {
            run.ledger
                .skip(i, "a record still uses it (read again before deleting)");
            continue;
        }
        for h in delete {
            ops.push(Op::DeleteHealthCheck { id: h.id.clone() });
            owners.push(vec![i]);
        }
    }
    run.wave(ops, &owners);
}

/// The names whose records may use a check about to be deleted: those the plan read using it,
/// and those this apply changed (the plan saw every other record that used it, and left the
/// check alone then). Read again by name where that is cheaper than the zone.
fn affected_names(
    work: &Work,
    prior: &crate::provider::LiveState,
    ids: &BTreeSet<&str>,
) -> Vec<String> {
    let mut names: BTreeSet<String> = prior
        .records
        .iter()
        .filter(|r| {
            r.health_check_id
                .as_deref()
                .is_some_and(|id| ids.contains(id))
        })
        .map(|r| r.name.clone())
        .collect();
    for (_, c) in work {
        if let Detail::Record {
            delete, desired, ..
        } = &c.detail
        {
            names.extend(delete.iter().chain(desired.iter()).map(|r| r.name.clone()));
        }
    }
    names.into_iter().collect()
}

/// ECR: create repositories. Returns the regions where one failed.
fn repositories(work: &Work, run: &mut Runner) -> BTreeSet<String> {
    let mut ops = Vec::new();
    let mut owners = Vec::new();
    for (i, c) in work {
        if let Detail::Repository { region, name } = &c.detail {
            if c.change.actions == [Action::Create] {
                ops.push(Op::CreateRepository {
                    region: region.clone(),
                    name: name.clone(),
                });
                owners.push(vec![*i]);
            }
        }
    }
    run.wave(ops, &owners);
    work.iter()
        .filter_map(|(i, c)| match &c.detail {
            Detail::Repository { region, .. }
                if matches!(run.ledger.status[*i], Some(Status::Failed { .. })) =>
            {
                Some(region.clone())
            }
            _ => None,
        })
        .collect()
}

/// ECR: each source region's whole replication configuration, once its repositories exist.
fn replication(work: &Work, failed_regions: &BTreeSet<String>, run: &mut Runner) {
    type Delta<'a> = (&'a [ReplicationRule], &'a [ReplicationRule], Vec<usize>);
    let mut per_region: BTreeMap<&str, Delta> = BTreeMap::new();
    for (i, c) in work {
        if let Detail::Replication {
            region,
            add,
            remove,
        } = &c.detail
        {
            let e = per_region
                .entry(region)
                .or_insert((add, remove, Vec::new()));
            e.2.push(*i);
        }
    }
    let mut ops = Vec::new();
    let mut owners = Vec::new();
    for (region, (add, remove, who)) in per_region {
        if failed_regions.contains(region) {
            for i in who {
                run.ledger
                    .skip(i, "a repository it filters was not created");
            }
            continue;
        }
        ops.push(Op::UpdateReplication {
            region: region.to_string(),
            add: add.to_vec(),
            remove: remove.to_vec(),
        });
        owners.push(who);
    }
    run.wave(ops, &owners);
}
