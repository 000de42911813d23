//! Who a topology is in the cloud: a random topology id, minted for its first apply and kept
//! by its backend (see [`crate::backend`]), and the two marks that carry it: the caller
//! reference of every health check it creates and the `_meridian.<domain>` TXT marker beside
//! every name it owns. The topology's name is for people only: two topologies of one name
//! never own each other's resources.

use crate::hash;
use crate::provider::ReplicationRule;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the caller references Meridian writes: `m3-...`, keyed by the topology id.
/// Versions 1 (`m-...`) and 2 (`m2-...`) were keyed by the topology's name; they are this
/// topology's only when it adopted that name ([`Identity::adopted_name`]).
pub const CALLER_REFERENCE_VERSION: u32 = 3;

/// Version of the ownership marker's text: `meridian v=3 id=<topology id> s=<service hash>`.
/// Versions 1 and 2 named the topology and the service.
pub const MARKER_VERSION: u32 = 3;

/// A topology's identity as a plan uses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// `t-` and 16 hex digits, random.
    pub id: String,
    /// Minted by this plan: no backend holds it yet; the first apply records it.
    pub new: bool,
    /// Resources an earlier Meridian made under this name (caller references `m-`/`m2-`,
    /// markers naming the topology) are this topology's (`meridian init` adopted them).
    pub adopted_name: Option<String>,
    /// The services, zones and registry regions the last apply left under management: read
    /// by every plan, so removing the last service of a zone deletes what it had there.
    pub services: Vec<String>,
    pub zones: Vec<String>,
    pub regions: Vec<String>,
    /// The ECR replication rules the last apply wrote, by source region: a live rule is this
    /// topology's only when it is exactly one of these (ECR filters are prefixes, so a filter
    /// naming a declared repository proves nothing).
    #[serde(default)]
    pub rules: BTreeMap<String, Vec<ReplicationRule>>,
    /// Forgotten by `meridian state rm`: these health-check ids and the services whose markers
    /// stand at these names are no longer this topology's, though their marks say so.
    #[serde(default)]
    pub forgotten: Forgotten,
    /// Weights held by `meridian shift`, by service: plans use them instead of the file's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub holds: crate::shift::Holds,
    /// The manifest records an apply that began and never recorded its end (killed, or its
    /// last write failed): what it may have made is listed, and the next apply (with or
    /// without changes) settles the manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unfinished: Option<Unfinished>,
    /// What `meridian init --adopt` took over from another tool: health checks by id, names
    /// whose records plans may adopt without `--adopt`.
    #[serde(default, skip_serializing_if = "Adopted::is_empty")]
    pub adopted: Adopted,
    /// The record names (domains and their markers) the last apply left under management: a
    /// plan that reads by name reads these too, so a removal is found.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
}

/// What a topology took over from another tool at `meridian init --adopt` (an imported zone):
/// their marks (caller references, ownership markers) are not Meridian's, so they are listed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adopted {
    /// Health-check address (`health_check.api["us-east-1"]`) -> the live check's id: the
    /// check is this topology's, as if Meridian had created it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checks: BTreeMap<String, String>,
    /// `ZONE/NAME`: the records there may be taken over (their ownership marker written) as
    /// `--adopt` would, without it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
}

impl Adopted {
    pub fn is_empty(&self) -> bool {
        self.checks.is_empty() && self.names.is_empty()
    }

    /// Whether the records at `name` of `zone` may be taken over.
    pub fn name(&self, zone: &str, name: &str) -> bool {
        self.names.iter().any(|n| {
            n.split_once('/')
                .is_some_and(|(z, x)| z == zone && x == name)
        })
    }
}

/// An apply the manifest's journal says began and did not finish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unfinished {
    pub plan_id: String,
    /// A destroy rather than an apply.
    #[serde(default)]
    pub destroy: bool,
    pub who: String,
    pub since_unix: u64,
}

/// What `meridian state rm` made a topology forget.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forgotten {
    /// Health-check ids.
    pub checks: Vec<String>,
    /// Marker names (`_meridian.<domain>`), with their zone: `zone/name`.
    pub markers: Vec<String>,
}

impl Forgotten {
    pub fn check(&self, id: &str) -> bool {
        self.checks.iter().any(|c| c == id)
    }

    pub fn marker(&self, zone: &str, name: &str) -> bool {
        self.markers.iter().any(|m| *m == format!("{zone}/{name}"))
    }
}

impl Identity {
    /// A fresh identity for a topology no backend knows.
    pub fn mint() -> Identity {
        Identity {
            id: format!("t-{}", random_hex()),
            new: true,
            adopted_name: None,
            services: Vec::new(),
            zones: Vec::new(),
            regions: Vec::new(),
            rules: BTreeMap::new(),
            forgotten: Forgotten::default(),
            holds: BTreeMap::new(),
            unfinished: None,
            adopted: Adopted::default(),
            names: Vec::new(),
        }
    }

    /// A known identity with nothing under management yet (tests, and the library).
    pub fn known(id: &str) -> Identity {
        Identity {
            id: id.to_string(),
            new: false,
            ..Identity::mint()
        }
    }

    /// The caller reference of a health check this topology creates for `address`: fixed for
    /// one plan (a retried apply gets the same check back), fresh for another plan (AWS never
    /// reuses the reference of a deleted check). `m3-<id 8>-<address 12>-<zone 6>-<plan 8>`:
    /// 40 characters (Route 53 allows 64), recognised without any extra call per check.
    pub fn caller_reference(&self, address: &str, zone: &str, plan_id: &str) -> String {
        let plan: String = plan_id.chars().take(8).collect();
        format!(
            "m{CALLER_REFERENCE_VERSION}-{}-{}-{}-{plan}",
            hash::hex(&self.id, 8),
            hash::hex(address, 12),
            hash::hex(zone, 6)
        )
    }

    /// The caller-reference prefixes of this topology's checks.
    pub fn reference_prefixes(&self) -> Vec<String> {
        let mut out = vec![format!(
            "m{CALLER_REFERENCE_VERSION}-{}-",
            hash::hex(&self.id, 8)
        )];
        if let Some(name) = &self.adopted_name {
            let tag = hash::hex(name, 8);
            out.push(format!("m2-{tag}-"));
            out.push(format!("m-{tag}-"));
        }
        out
    }

    /// The address and zone hashes of one of this topology's caller references.
    pub fn reference_parts(&self, caller_reference: &str) -> Option<(String, Option<String>)> {
        reference_parts_in(&self.reference_prefixes(), caller_reference)
    }

    /// The TXT value of this topology's marker for `service`, quoted as Route 53 stores it.
    pub fn marker_value(&self, service: &str) -> String {
        format!(
            "\"meridian v={MARKER_VERSION} id={} s={}\"",
            self.id,
            hash::hex(service, 8)
        )
    }

    /// Whether a marker is this topology's.
    pub fn owns(&self, m: &Marker) -> bool {
        match &m.owner {
            Owner::Id(id) => *id == self.id,
            Owner::Name(n) => self.adopted_name.as_deref() == Some(n.as_str()),
        }
    }
}

/// Who a marker says owns a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// A topology id (marker version 3).
    Id(String),
    /// A topology name (versions 1 and 2).
    Name(String),
}

/// An ownership marker, read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    pub owner: Owner,
    /// The service's name (versions 1 and 2) or the hash of it (version 3).
    service: String,
    hashed: bool,
}

impl Marker {
    /// Reads a marker value back, from any version Meridian wrote; None for anything else
    /// (or a later Meridian's marker, which this version cannot read).
    pub fn parse(value: &str) -> Option<Marker> {
        let v = value.trim_matches('"').strip_prefix("meridian ")?;
        let (mut id, mut name, mut service, mut hashed) = (None, None, None, None);
        for part in v.split(' ') {
            if let Some(t) = part.strip_prefix("topology=") {
                name = Some(t.to_string());
            } else if let Some(t) = part.strip_prefix("id=") {
                id = Some(t.to_string());
            } else if let Some(s) = part.strip_prefix("service=") {
                service = Some(s.to_string());
            } else if let Some(s) = part.strip_prefix("s=") {
                hashed = Some(s.to_string());
            } else if let Some(version) = part.strip_prefix("v=") {
                if version.parse::<u32>().map_or(true, |n| n > MARKER_VERSION) {
                    return None;
                }
            }
        }
        let owner = match (id, name) {
            (Some(id), _) => Owner::Id(id),
            (None, Some(name)) => Owner::Name(name),
            (None, None) => return None,
        };
        match (service, hashed) {
            (Some(service), _) => Some(Marker {
                owner,
                service,
                hashed: false,
            }),
            (None, Some(service)) => Some(Marker {
                owner,
                service,
                hashed: true,
            }),
            (None, None) => None,
        }
    }

    /// Whether the marker is for `service`.
    pub fn is_for(&self, service: &str) -> bool {
        if self.hashed {
            self.service == hash::hex(service, 8)
        } else {
            self.service == service
        }
    }

    /// Whether the marker was written in the current version.
    pub fn is_current(&self) -> bool {
        self.hashed && matches!(self.owner, Owner::Id(_))
    }

    /// The service's name, from the marker or, for a hashed one, from `known` names.
    pub fn service_among<'a>(&self, known: impl IntoIterator<Item = &'a String>) -> Option<String> {
        if !self.hashed {
            return Some(self.service.clone());
        }
        known.into_iter().find(|s| self.is_for(s)).cloned()
    }

    /// The service as the marker writes it (a name, or a hash), for addresses of last resort.
    pub fn service_label(&self) -> String {
        self.service.clone()
    }

    /// The owner, for messages.
    pub fn describe(&self) -> String {
        match (&self.owner, self.hashed) {
            (Owner::Id(id), _) => format!("topology {id}"),
            (Owner::Name(n), false) => format!("topology {n}, service {}", self.service),
            (Owner::Name(n), true) => format!("topology {n}"),
        }
    }
}

/// 16 random hex digits (the OS's random source; a time and process hash where there is none).
pub fn random_hex() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 8];
    let random = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if random.is_ok() {
        return bytes.iter().map(|b| format!("{b:02x}")).collect();
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hash::hex(&format!("{now}-{}", std::process::id()), 16)
}

/// [`Identity::reference_parts`] with the prefixes computed once (for a scan of every check
/// of an account).
pub fn reference_parts_in(
    prefixes: &[String],
    caller_reference: &str,
) -> Option<(String, Option<String>)> {
    let rest = prefixes
        .iter()
        .find_map(|p| caller_reference.strip_prefix(p.as_str()))?;
    let mut parts = rest.split('-');
    let address = parts.next()?.to_string();
    let zone = parts.next().filter(|z| z.len() == 6).map(str::to_string);
    Some((address, zone))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_of_every_version_are_read() {
        let me = Identity {
            adopted_name: Some("shop".into()),
            ..Identity::known("t-0123456789abcdef")
        };
        let v3 = Marker::parse(&me.marker_value("api")).unwrap();
        assert!(me.owns(&v3) && v3.is_for("api") && !v3.is_for("web") && v3.is_current());
        let v2 = Marker::parse("\"meridian v=2 topology=shop service=api\"").unwrap();
        assert!(me.owns(&v2) && v2.is_for("api") && !v2.is_current());
        let v1 = Marker::parse("\"meridian topology=shop service=api\"").unwrap();
        assert!(me.owns(&v1));
        let other = Marker::parse("\"meridian v=3 id=t-ffff s=00000000\"").unwrap();
        assert!(!me.owns(&other));
        assert!(!Identity::known("t-0123456789abcdef").owns(&v2));
        assert!(Marker::parse("\"meridian v=4 id=t-1 s=1\"").is_none());
        assert!(Marker::parse("\"something else\"").is_none());
    }

    #[test]
    fn caller_references_carry_the_id_and_legacy_ones_need_the_adopted_name() {
        let me = Identity::known("t-0123456789abcdef");
        let r = me.caller_reference(
            "health_check.api[\"us-east-1\"]",
            "example.com",
            "abcdef0123",
        );
        assert_eq!(r.len(), 40);
        assert!(r.starts_with("m3-"));
        assert!(me.reference_parts(&r).is_some());
        assert!(Identity::known("t-other").reference_parts(&r).is_none());
        let legacy = format!("m2-{}-aaaaaaaaaaaa-bbbbbb-cccccccc", hash::hex("shop", 8));
        assert!(me.reference_parts(&legacy).is_none());
        let adopted = Identity {
            adopted_name: Some("shop".into()),
            ..me
        };
        assert_eq!(
            adopted.reference_parts(&legacy),
            Some(("aaaaaaaaaaaa".into(), Some("bbbbbb".into())))
        );
    }
}
