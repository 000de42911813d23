//! The DNS vocabulary shared by the graph, the plan and the providers: record types, routing
//! policies and change actions as closed sets. Strings appear only where these meet serde and
//! the AWS SDK.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A record type: the four Meridian writes, and any other read from a zone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum RecordType {
    A,
    Aaaa,
    Cname,
    Txt,
    /// A type Meridian never writes (MX, NS, SOA, ...), as the zone names it.
    Other(String),
}

impl RecordType {
    pub fn as_str(&self) -> &str {
        match self {
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
            RecordType::Cname => "CNAME",
            RecordType::Txt => "TXT",
            RecordType::Other(s) => s,
        }
    }

    pub fn parse(s: &str) -> RecordType {
        match s {
            "A" => RecordType::A,
            "AAAA" => RecordType::Aaaa,
            "CNAME" => RecordType::Cname,
            "TXT" => RecordType::Txt,
            other => RecordType::Other(other.to_string()),
        }
    }

    /// The types a service's endpoint records have.
    pub fn is_endpoint(&self) -> bool {
        matches!(self, RecordType::A | RecordType::Aaaa | RecordType::Cname)
    }
}

impl From<String> for RecordType {
    fn from(s: String) -> RecordType {
        RecordType::parse(&s)
    }
}

impl From<RecordType> for String {
    fn from(t: RecordType) -> String {
        t.as_str().to_string()
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failover record's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FailoverRole {
    Primary,
    Secondary,
}

impl FailoverRole {
    pub fn as_str(self) -> &'static str {
        match self {
            FailoverRole::Primary => "PRIMARY",
            FailoverRole::Secondary => "SECONDARY",
        }
    }
}

/// How Route 53 picks a record set among those sharing a name and type. One policy per
/// record set: a record with both a weight and a failover role cannot be written down.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "routing", rename_all = "snake_case")]
pub enum RoutingPolicy {
    Simple,
    /// Latency routing: the AWS region the record answers for.
    Latency {
        region: String,
    },
    Weighted {
        weight: u8,
    },
    Failover {
        role: FailoverRole,
    },
    /// Geolocation routing: `*`, a continent, a country (`country:XX` where the code is also a
    /// continent's) or a subdivision (`US-CA`).
    Geolocation {
        location: String,
    },
    /// Routing Meridian does not manage (multivalue answers, CIDR or geoproximity routing, a
    /// traffic policy): such a record set is never adopted, changed or deleted.
    Unmanaged,
}

impl RoutingPolicy {
    /// The policy's name, the same for every record of one routing group.
    pub fn kind(&self) -> &'static str {
        match self {
            RoutingPolicy::Simple => "simple",
            RoutingPolicy::Latency { .. } => "latency",
            RoutingPolicy::Weighted { .. } => "weighted",
            RoutingPolicy::Failover { .. } => "failover",
            RoutingPolicy::Geolocation { .. } => "geolocation",
            RoutingPolicy::Unmanaged => "unmanaged",
        }
    }

    /// Whether Route 53 needs a set identifier for the policy.
    pub fn needs_set_identifier(&self) -> bool {
        !matches!(self, RoutingPolicy::Simple)
    }

    /// Whether two record sets of one routing group claim the same slot (a failover role, a
    /// location, a latency region), which Route 53 refuses.
    pub fn clashes_with(&self, other: &RoutingPolicy) -> bool {
        match (self, other) {
            (RoutingPolicy::Failover { role: a }, RoutingPolicy::Failover { role: b }) => a == b,
            (
                RoutingPolicy::Geolocation { location: a },
                RoutingPolicy::Geolocation { location: b },
            ) => a == b,
            (RoutingPolicy::Latency { region: a }, RoutingPolicy::Latency { region: b }) => a == b,
            _ => false,
        }
    }
}

/// A change to a record set, as Route 53 names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChangeAction {
    Create,
    Delete,
    Upsert,
}

impl ChangeAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeAction::Create => "CREATE",
            ChangeAction::Delete => "DELETE",
            ChangeAction::Upsert => "UPSERT",
        }
    }
}

/// The name of the `depth`-th failover pair of region `label`'s tree: `LABEL.failover.DOMAIN`,
/// then `2.LABEL.failover.DOMAIN`, `3.LABEL...`: one more DNS label per nested pair, so two
/// regions' trees never share a name. Lower case, as DNS compares and Route 53 returns names.
pub fn tree_name(label: &str, depth: usize, domain: &str) -> String {
    let label = label.to_ascii_lowercase();
    if depth == 0 {
        format!("{label}.failover.{domain}")
    } else {
        format!("{}.{label}.failover.{domain}", depth + 1)
    }
}

/// The name of the ownership marker beside `domain`.
pub fn marker_name(domain: &str) -> String {
    format!("{MARKER_LABEL}.{domain}")
}

/// The domain a marker name stands beside, when `name` is a marker's.
pub fn marker_domain(name: &str) -> Option<&str> {
    name.strip_prefix(MARKER_LABEL)?.strip_prefix('.')
}

/// The first label of every ownership marker.
pub const MARKER_LABEL: &str = "_meridian";
