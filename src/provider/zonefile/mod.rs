//! A DNS provider of another model: RFC 1035 zone files in a directory, one per zone
//! (`DIR/example.com.zone`), as a BIND or NSD primary serves them.
//!
//! A zone file holds plain record sets: no health checks, no routing policies or set
//! identifiers, no aliases, no registries. It says so in its [`Capabilities`], and the plan
//! leaves out (and lists) what it cannot hold. A zone's file must exist, with its SOA and NS
//! records, as a Route 53 hosted zone must; each change batch rewrites the file atomically
//! (all of the batch or none of it, Route 53's rules for CREATE and DELETE) and moves the SOA
//! serial on.

pub mod text;

use super::{
    Capabilities, ChangeAction, Done, LiveSource, LiveState, Op, Provider, ProviderError,
    RecordChange, RecordSet, RoutingPolicy, Scope,
};
use std::path::{Path, PathBuf};
use text::RrSet;

/// What the apply lock of the zone files in `dir` is taken on (the lock file is
/// `DIR/.meridian.lock`): `force-unlock` looks there too.
pub fn lock_of(dir: &Path) -> PathBuf {
    dir.join(".meridian")
}

/// Zone files in a directory, locked for an apply.
#[derive(Debug)]
pub struct ZoneFiles {
    dir: PathBuf,
    _lock: Option<super::lock::Lock>,
}

impl ZoneFiles {
    /// The zone files in `dir`; with `lock`, takes the directory's apply lock (waiting up to
    /// that long).
    pub fn open(dir: &Path, lock: Option<std::time::Duration>) -> Result<ZoneFiles, ProviderError> {
        let what = format!("the zone files in {}", dir.display());
        let lock = lock
            .map(|t| super::lock::take_as(&lock_of(dir), t, &what, "apply"))
            .transpose()?;
        Ok(ZoneFiles {
            dir: dir.to_path_buf(),
            _lock: lock,
        })
    }

    /// The file of `zone`.
    pub fn file(&self, zone: &str) -> PathBuf {
        self.dir
            .join(format!("{}.zone", zone.trim_end_matches('.')))
    }

    fn load(&self, zone: &str) -> Result<Vec<RrSet>, ProviderError> {
        let path = self.file(zone);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ProviderError::Io(format!(
                    "zone {zone}: no zone file at {}: create it with the zone's SOA and NS records (as a hosted zone exists before Meridian writes to it)",
                    path.display()
                )))
            }
            Err(e) => return Err(ProviderError::Io(format!("{}: {e}", path.display()))),
        };
        let sets = text::read(zone, &text)
            .map_err(|e| ProviderError::Invalid(format!("zone file {}: {e}", path.display())))?;
        // A zone without its SOA and NS records does not load (BIND refuses it): never
        // write to one.
        let apex = zone.trim_end_matches('.').to_ascii_lowercase();
        for needed in ["SOA", "NS"] {
            if !sets
                .iter()
                .any(|s| s.name == apex && s.record_type.as_str() == needed)
            {
                return Err(ProviderError::Invalid(format!(
                    "zone file {}: no {needed} record at {apex}: a zone needs its SOA and NS records",
                    path.display()
                )));
            }
        }
        Ok(sets)
    }

    fn change(&self, zone: &str, changes: &[RecordChange]) -> Result<Done, ProviderError> {
        let mut sets = self.load(zone)?;
        for c in changes {
            apply_change(&mut sets, zone, c)?;
        }
        let apex = zone.trim_end_matches('.').to_ascii_lowercase();
        if let Some(soa) = sets
            .iter_mut()
            .find(|s| s.name == apex && s.record_type.as_str() == "SOA")
        {
            text::bump_serial(soa);
        }
        let path = self.file(zone);
        crate::atomic::write(&path, text::write(zone, &sets).as_bytes())
            .map_err(|e| ProviderError::Io(format!("{}: {e}", path.display())))?;
        Ok(Done::Records { insync: true })
    }
}

/// One change of a batch, with Route 53's rules: CREATE of an existing set and DELETE of a
/// missing one, or with other values, fail the batch.
fn apply_change(sets: &mut Vec<RrSet>, zone: &str, c: &RecordChange) -> Result<(), ProviderError> {
    let r = &c.record;
    if r.zone != zone || r.set_identifier.is_some() || r.routing != RoutingPolicy::Simple {
        return Err(ProviderError::Invalid(format!(
            "{} {}: a zone file holds only plain record sets of its own zone",
            r.name, r.record_type
        )));
    }
    if r.alias.is_some() || r.health_check_id.is_some() {
        return Err(ProviderError::Invalid(format!(
            "{} {}: a zone file has no aliases or health checks",
            r.name, r.record_type
        )));
    }
    let want = RrSet::new(
        &r.name,
        r.record_type.clone(),
        r.ttl.unwrap_or(300),
        r.values.clone(),
    );
    let at = sets
        .iter()
        .position(|s| s.name == want.name && s.record_type == r.record_type);
    let what = || format!("record {} {}", r.name, r.record_type);
    match (c.action, at) {
        (ChangeAction::Create, Some(_)) => Err(ProviderError::AlreadyExists { what: what() }),
        (ChangeAction::Delete, None) => Err(ProviderError::NotFound { what: what() }),
        (ChangeAction::Delete, Some(i)) if !sets[i].same_records(&want) => {
            Err(ProviderError::Invalid(format!(
                "{}: a DELETE must carry the exact live values",
                what()
            )))
        }
        (ChangeAction::Delete, Some(i)) => {
            sets.remove(i);
            Ok(())
        }
        (ChangeAction::Upsert, Some(i)) => {
            sets[i] = want;
            Ok(())
        }
        (ChangeAction::Create | ChangeAction::Upsert, None) => {
            sets.push(want);
            Ok(())
        }
    }
}

fn record_set(zone: &str, s: RrSet) -> RecordSet {
    RecordSet {
        zone: zone.to_string(),
        name: s.name,
        record_type: s.record_type,
        set_identifier: None,
        ttl: Some(s.ttl),
        values: s.values,
        alias: None,
        routing: RoutingPolicy::Simple,
        health_check_id: None,
    }
}

impl Provider for ZoneFiles {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            name: "the zone-file provider",
            health_checks: false,
            routing: false,
            aliases: false,
            registries: false,
        }
    }

    fn source(&self) -> LiveSource {
        LiveSource::ZoneFiles {
            dir: super::local::identity(&self.dir),
        }
    }

    fn read(&self, scope: &Scope) -> Result<LiveState, ProviderError> {
        let mut live = LiveState::default();
        for zone in &scope.zones {
            let sets = self.load(zone)?;
            live.zones.insert(zone.clone(), format!("zonefile:{zone}"));
            live.records
                .extend(sets.into_iter().map(|s| record_set(zone, s)));
        }
        live.records.sort();
        Ok(live)
    }

    fn apply(&self, ops: &[Op], _parallelism: usize) -> Vec<Result<Done, ProviderError>> {
        ops.iter()
            .map(|op| match op {
                Op::ChangeRecords { zone, changes } => self.change(zone, changes),
                other => Err(ProviderError::Invalid(format!(
                    "the zone-file provider cannot {}",
                    other.verb()
                ))),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::RecordType;

    fn dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "meridian-zonefile-{}",
            crate::hash::fresh_id("zonefile-test")
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn cname(name: &str, target: &str) -> RecordSet {
        RecordSet {
            zone: "example.com".into(),
            name: name.into(),
            record_type: RecordType::Cname,
            set_identifier: None,
            ttl: Some(60),
            values: vec![target.into()],
            alias: None,
            routing: RoutingPolicy::Simple,
            health_check_id: None,
        }
    }

    fn batch(action: ChangeAction, r: RecordSet) -> Op {
        Op::ChangeRecords {
            zone: "example.com".into(),
            changes: vec![RecordChange { action, record: r }],
        }
    }

    #[test]
    fn a_batch_is_all_or_nothing_and_moves_the_serial_on() {
        let d = dir();
        std::fs::write(
            d.join("example.com.zone"),
            "@ 300 IN SOA ns1.example.net. hm.example.com. 7 1 2 3 4\n@ 300 IN NS ns1.example.net.\n",
        )
        .unwrap();
        let z = ZoneFiles::open(&d, None).unwrap();
        let www = cname("www.example.com", "web.example.com");
        let done = z.apply(&[batch(ChangeAction::Create, www.clone())], 1);
        assert!(done[0].is_ok(), "{done:?}");
        // Created twice: refused, and the file is as it was.
        let before = std::fs::read_to_string(z.file("example.com")).unwrap();
        let again = z.apply(&[batch(ChangeAction::Create, www.clone())], 1);
        assert!(matches!(again[0], Err(ProviderError::AlreadyExists { .. })));
        assert_eq!(
            std::fs::read_to_string(z.file("example.com")).unwrap(),
            before
        );
        assert!(before.contains(" 8 1 2 3 4\n"), "{before}");
        let scope = Scope {
            zones: vec!["example.com".into()],
            ..Scope::default()
        };
        let live = z.read(&scope).unwrap();
        assert!(live.records.contains(&www));
        // A health check is not something a zone file can hold.
        let hc = z.apply(&[Op::DeleteHealthCheck { id: "x".into() }], 1);
        assert!(matches!(hc[0], Err(ProviderError::Invalid(_))));
        let _ = std::fs::remove_dir_all(d);
    }

    #[test]
    fn a_missing_zone_file_says_how_to_start_one() {
        let d = dir();
        let z = ZoneFiles::open(&d, None).unwrap();
        let scope = Scope {
            zones: vec!["example.org".into()],
            ..Scope::default()
        };
        let e = z.read(&scope).unwrap_err().to_string();
        assert!(
            e.contains("example.org.zone") && e.contains("SOA and NS"),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(d);
    }
}
