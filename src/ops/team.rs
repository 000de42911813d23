//! A topology's backend, open: read its identity, lock it for an apply, record the topology
//! before its first change (the journal), and the apply in the manifest after.

use super::{Error, Event, Observer};
use crate::backend::{
    Backend, BackendRef, BackendSettings, Entry, Held, Manifest, Operation, Stored,
};
use crate::identity::{Identity, Unfinished};
use crate::plan::{apply::Outcome, Plan};
use std::time::Duration;

/// An open backend and what it held when read.
pub struct Team {
    pub backend: Box<dyn Backend>,
    pub stored: Option<Stored>,
    /// Held for an apply, destroy or init; released when dropped.
    lock: Option<Box<dyn Held>>,
}

impl Team {
    /// Opens `at`; with `lock`, takes its lock (waiting up to the duration) before reading.
    /// A lock taken over from an expired holder is reported as [`Event::TookOver`].
    pub fn open(
        at: &BackendRef,
        settings: &BackendSettings,
        lock: Option<(&str, Duration)>,
        observe: Observer,
    ) -> Result<Team, Error> {
        let backend = at.open(settings)?;
        let lock = match lock {
            Some((operation, timeout)) => Some(backend.lock(operation, timeout)?),
            None => None,
        };
        if let Some(old) = lock.as_ref().and_then(|l| l.took_over()) {
            observe(Event::TookOver(old.clone()));
        }
        let stored = backend.read()?;
        Ok(Team {
            backend,
            stored,
            lock,
        })
    }

    /// The lock, when the team was opened with one.
    pub fn held(&self) -> Option<&dyn Held> {
        self.lock.as_deref()
    }

    /// Refuses a manifest recorded under another topology name (two topologies sharing one
    /// backend key would plan to delete each other's records), unless `rename` says this is
    /// the same topology under a new name. A recorded name among `aliases` (the directory's
    /// or a file's, for a topology that declares no name) is the same topology: it is returned,
    /// and the topology keeps it.
    pub fn same_topology(
        &self,
        name: &str,
        aliases: &[String],
        rename: bool,
    ) -> Result<Option<String>, Error> {
        let Some(s) = &self.stored else {
            return Ok(None);
        };
        let recorded = &s.manifest.name;
        if rename || recorded == name {
            return Ok(None);
        }
        if aliases.contains(recorded) {
            return Ok(Some(recorded.clone()));
        }
        Err(Error::backend(
            crate::backend::BackendError::OtherTopology {
                backend: self.backend.describe(),
                recorded: recorded.clone(),
                id: s.manifest.topology_id.clone(),
                name: name.to_string(),
            },
        ))
    }

    /// Writes the manifest (a change the caller made to the one read), recording `operation`;
    /// with `read_back`, reads it again for what follows. Refused when nothing is stored.
    pub fn rewrite(
        &mut self,
        change: impl FnOnce(&mut Manifest),
        (operation, read_back): (Operation, bool),
    ) -> Result<(), Error> {
        let Some(stored) = self.stored.clone() else {
            return Err(Error::Refused(
                "the backend holds no manifest for this topology".into(),
            ));
        };
        let mut m = stored.manifest;
        change(&mut m);
        m.record(Entry::bare(operation, self.backend.who()));
        self.backend.write(&m, Some(&stored.version))?;
        if read_back {
            self.stored = self.backend.read()?;
        }
        Ok(())
    }

    /// The identity plans use: the manifest's, or a fresh one before the first apply.
    pub fn identity(&self) -> Identity {
        self.stored
            .as_ref()
            .map_or_else(Identity::mint, |s| s.manifest.identity())
    }

    /// Before the first change of a topology's first apply: create its manifest, so that of
    /// two first applies only one proceeds. Returns the manifest and its version.
    pub fn commit_identity(
        &mut self,
        identity: &Identity,
        name: &str,
    ) -> Result<(Manifest, String), Error> {
        if let Some(s) = &self.stored {
            return Ok((s.manifest.clone(), s.version.clone()));
        }
        let m = Manifest::new(identity, name);
        match self.backend.write(&m, None) {
            Ok(version) => Ok((m, version)),
            Err(error) => Err(Error::Backend {
                error,
                then: Some(
                    "Nothing was changed: the topology's identity is recorded before any change.",
                ),
            }),
        }
    }

    /// Before an apply's first change, the journal: the manifest (created by a first apply,
    /// so that of two first applies only one proceeds) lists everything the apply may leave
    /// behind, merged into what it had, and says an apply is under way. Killed at any moment
    /// after this, the next plan reads every zone and region the apply could have written.
    pub fn begin(
        &mut self,
        plan: &Plan,
        intent: &Managed,
        operation: Operation,
    ) -> Result<(Manifest, String), Error> {
        let (mut m, prior) = match &self.stored {
            Some(s) => (s.manifest.clone(), Some(s.version.clone())),
            None => (Manifest::new(&plan.identity, &plan.topology), None),
        };
        merge_lists(&mut m, intent);
        claimed_rules(&mut m, plan);
        m.unfinished = Some(Unfinished {
            plan_id: plan.plan_id.clone(),
            destroy: operation == Operation::Destroy,
            who: self.backend.who(),
            since_unix: crate::backend::now_unix(),
        });
        match self.backend.write(&m, prior.as_deref()) {
            Ok(version) => Ok((m, version)),
            Err(error) => Err(Error::Backend {
                error,
                then: Some(
                    "Nothing was changed: the apply is recorded in the manifest before any change.",
                ),
            }),
        }
    }

    /// After an apply or destroy: what it left under management, and one history entry.
    pub fn record(&self, mut m: Manifest, version: &str, done: &Done) -> Result<(), Error> {
        let complete = done.outcome.succeeded() && !done.plan.is_partial();
        settle_lists(&mut m, &done.managed, complete);
        written_rules(&mut m, done);
        prune_claims(&mut m, done.plan, &completed_replication(done));
        if done.operation == Operation::Destroy {
            // Nothing is left to hold: a rebuild starts from the file's weights; nothing is
            // left adopted: a name another tool fills again is foreign again.
            m.holds.clear();
            m.adopted = crate::identity::Adopted::default();
        }
        m.name.clone_from(&done.plan.topology);
        m.unfinished = None;
        m.record(entry(done, self.backend.who()));
        self.backend
            .write(&m, Some(version))
            .map_err(|error| Error::Backend {
                error,
                then: Some("error: the changes above were made, but the manifest could not record their outcome; it still lists everything the apply could have made, and the next `meridian apply` (with or without changes) records what is live"),
            })?;
        Ok(())
    }

    /// After a plan with no changes, under the lock: a manifest that lists more or less than
    /// is live, or whose journal shows an unfinished apply, is brought in line. Returns what
    /// it repaired, for the user.
    pub fn settle(
        &self,
        plan: &Plan,
        managed: &Managed,
        operation: Operation,
    ) -> Result<Option<String>, Error> {
        let Some(stored) = &self.stored else {
            return Ok(None);
        };
        let mut m = stored.manifest.clone();
        let complete = !plan.is_partial();
        settle_lists(&mut m, managed, complete);
        prune_claims(&mut m, plan, &[]);
        // A targeted plan did not look at everything the unfinished apply could have made.
        if complete {
            m.unfinished = None;
        }
        m.name.clone_from(&plan.topology);
        if m == stored.manifest {
            return Ok(None);
        }
        let what = match &stored.manifest.unfinished {
            Some(u) if m.unfinished.is_none() => format!(
                "The manifest recorded an unfinished {} (plan {}, by {}); it now records what is live.",
                if u.destroy { "destroy" } else { "apply" },
                u.plan_id,
                u.who
            ),
            _ if stored.manifest.name != plan.topology => format!(
                "The manifest now records the topology's new name, {}.",
                plan.topology
            ),
            Some(_) => "The manifest lists what the targeted resources need; its journal of an unfinished apply stays until an untargeted apply.".to_string(),
            None => "The manifest listed more or less than is live; it now records what is live.".to_string(),
        };
        m.record(Entry {
            plan_id: Some(plan.plan_id.clone()),
            ..Entry::bare(operation, self.backend.who())
        });
        self.backend.write(&m, Some(&stored.version))?;
        Ok(Some(what))
    }
}

/// The lists a manifest keeps after an apply: exactly what is declared when the apply
/// completed untargeted, else what it had plus what is declared (some may still be live).
fn settle_lists(m: &mut Manifest, now: &Managed, complete: bool) {
    if !complete {
        merge_lists(m, now);
        return;
    }
    m.services.clone_from(&now.services);
    m.zones.clone_from(&now.zones);
    m.regions.clone_from(&now.regions);
    m.names.clone_from(&now.names);
    m.declared_rules.clone_from(&now.rules);
    // A forgotten service declared and applied again (with --adopt) is managed again.
    m.forgotten.markers.retain(|zm| {
        let name = zm.split_once('/').map_or(zm.as_str(), |x| x.1);
        !now.names.iter().any(|n| n == name)
    });
}

fn merge_lists(m: &mut Manifest, more: &Managed) {
    merge(&mut m.services, &more.services);
    merge(&mut m.zones, &more.zones);
    merge(&mut m.regions, &more.regions);
    merge(&mut m.names, &more.names);
    for (region, rules) in &more.rules {
        let have = m.declared_rules.entry(region.clone()).or_default();
        for r in rules {
            if !have.contains(r) {
                have.push(r.clone());
            }
        }
    }
}

/// The source regions whose replication change this apply completed.
fn completed_replication(done: &Done) -> Vec<String> {
    use crate::plan::apply::Status;
    use crate::plan::diff::Detail;
    let ok: std::collections::BTreeSet<&str> = done
        .outcome
        .changes
        .iter()
        .filter(|c| c.status == Status::Done)
        .map(|c| c.address.as_str())
        .collect();
    done.plan
        .resource_changes
        .iter()
        .filter(|c| ok.contains(c.address.as_str()))
        .filter_map(|c| match &c.detail {
            Detail::Replication { region, .. } => Some(region.clone()),
            _ => None,
        })
        .collect()
}

/// Claims the journal made for rules that were never written are released: in each region the
/// plan read, a rule stays the topology's only when it was live before, or this apply's
/// replication change there completed (and wrote it). Otherwise a claimed rule removed from
/// the file would later make an identical rule someone else writes look like this topology's.
fn prune_claims(m: &mut Manifest, plan: &Plan, completed: &[String]) {
    for (region, rules) in &mut m.rules {
        let Some(live) = plan.prior_state.replication.get(region) else {
            continue;
        };
        if completed.contains(region) {
            continue;
        }
        rules.retain(|r| live.contains(r));
    }
    m.rules.retain(|_, v| !v.is_empty());
}

/// The rules an apply is about to write are the topology's from the journal on: a rule
/// written by an apply killed before its end is still found and still deletable.
fn claimed_rules(m: &mut Manifest, plan: &Plan) {
    use crate::plan::diff::Detail;
    for c in &plan.resource_changes {
        if let Detail::Replication { region, add, .. } = &c.detail {
            let rules = m.rules.entry(region.clone()).or_default();
            for a in add {
                if !rules.contains(a) {
                    rules.push(a.clone());
                }
            }
        }
    }
    m.rules.retain(|_, v| !v.is_empty());
}

/// What an apply did, for the manifest.
pub struct Done<'a> {
    pub plan: &'a Plan,
    pub outcome: &'a Outcome,
    pub operation: Operation,
    /// What the topology declares (nothing for a destroy).
    pub managed: Managed,
}

/// What a topology declares, as its manifest records it.
#[derive(Debug, Clone, Default)]
pub struct Managed {
    pub services: Vec<String>,
    pub zones: Vec<String>,
    pub regions: Vec<String>,
    pub names: Vec<String>,
    pub rules: std::collections::BTreeMap<String, Vec<crate::provider::ReplicationRule>>,
}

fn entry(done: &Done, who: String) -> Entry {
    use crate::plan::apply::Status;
    let s = &done.plan.summary;
    Entry {
        serial: 0,
        operation: done.operation,
        plan_id: Some(done.plan.plan_id.clone()),
        who,
        when_unix: crate::backend::now_unix(),
        added: s.add,
        changed: s.change,
        destroyed: s.destroy,
        incomplete: done
            .outcome
            .changes
            .iter()
            .filter(|c| c.status != Status::Done)
            .count(),
    }
}

/// The rules this topology has written after the apply: what it had, with the additions and
/// removals of each region whose replication change completed. A declared rule that was
/// already live (someone else's identical rule) is not claimed.
fn written_rules(m: &mut Manifest, done: &Done) {
    use crate::plan::apply::Status;
    use crate::plan::diff::Detail;
    let completed: std::collections::BTreeSet<&str> = done
        .outcome
        .changes
        .iter()
        .filter(|c| c.status == Status::Done)
        .map(|c| c.address.as_str())
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    for c in &done.plan.resource_changes {
        let Detail::Replication {
            region,
            add,
            remove,
        } = &c.detail
        else {
            continue;
        };
        if !completed.contains(c.address.as_str()) || !seen.insert(region.clone()) {
            continue;
        }
        let rules = m.rules.entry(region.clone()).or_default();
        rules.retain(|r| !remove.contains(r));
        for a in add {
            if !rules.contains(a) {
                rules.push(a.clone());
            }
        }
    }
    m.rules.retain(|_, v| !v.is_empty());
}

fn merge(into: &mut Vec<String>, more: &[String]) {
    into.extend(more.iter().cloned());
    into.sort();
    into.dedup();
}
