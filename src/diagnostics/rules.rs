//! The lint rules as a catalogue: each rule's stable id (`SS001`), name, default level and
//! documentation. Below the model, which reads rule ids and levels in a topology's `lint`
//! block; the checks themselves are [`crate::lint`]'s.

use serde::Serialize;

/// How seriously a rule's findings are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Off.
    Allow,
    /// Reported; lint still exits 0.
    Warn,
    /// Reported; lint exits 3.
    Deny,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Allow => "allow",
            Level::Warn => "warn",
            Level::Deny => "deny",
        }
    }
}

macro_rules! rules {
    ($( $variant:ident => $id:literal, $name:literal, $level:ident, $summary:literal, $doc:expr; )*) => {
        /// A lint rule. The id (`SS001`) is a public contract: suppressions, configuration and
        /// code-scanning alerts name it. Never renumber or reuse one.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum RuleId { $( $variant, )* }

        impl RuleId {
            pub const ALL: &'static [RuleId] = &[ $( RuleId::$variant, )* ];

            pub fn as_str(self) -> &'static str {
                match self { $( RuleId::$variant => $id, )* }
            }

            pub fn parse(s: &str) -> Option<RuleId> {
                match s.to_ascii_uppercase().as_str() { $( $id => Some(RuleId::$variant), )* _ => None }
            }

            pub fn rule(self) -> Rule {
                match self {
                    $( RuleId::$variant => Rule {
                        id: self, name: $name, level: Level::$level, summary: $summary, doc: $doc,
                    }, )*
                }
            }
        }
    };
}

/// A rule's documentation: what it finds, why that hurts, how to fix it, an example.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub id: RuleId,
    pub name: &'static str,
    /// The level when nothing configures it.
    pub level: Level,
    pub summary: &'static str,
    pub doc: &'static str,
}

impl Rule {
    /// Where the rule's documentation is published (`docs/lint.md` in the repository).
    pub fn help_uri(&self) -> String {
        format!(
            "https://meridian.dev/docs/lint#{}",
            self.id.as_str().to_ascii_lowercase()
        )
    }
}

impl Serialize for RuleId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

rules! {
    Ss000 => "SS000", "suppression", Deny,
        "an inline suppression without a reason, naming no rule, or suppressing nothing",
        include_str!("../lint/docs/SS000.md");
    Ss001 => "SS001", "cross-region-dependency", Deny,
        "a service region calls a dependency that lives only in other regions, with no local fallback",
        include_str!("../lint/docs/SS001.md");
    Ss002 => "SS002", "images-not-in-region", Deny,
        "a region runs a service whose registry neither lives in nor replicates to it",
        include_str!("../lint/docs/SS002.md");
    Ss003 => "SS003", "control-plane-failover", Deny,
        "moving traffic off a region needs Route 53 control-plane writes during the incident",
        include_str!("../lint/docs/SS003.md");
    Ss004 => "SS004", "no-second-region", Deny,
        "latency or geolocation routing that leaves some users with no record when a region is lost",
        include_str!("../lint/docs/SS004.md");
    Ss005 => "SS005", "stale-user-data", Warn,
        "user-scoped data read from asynchronous replicas in regions that serve traffic",
        include_str!("../lint/docs/SS005.md");
    Ss006 => "SS006", "lag-over-rpo", Deny,
        "a declared replication lag the RPO objective cannot absorb",
        include_str!("../lint/docs/SS006.md");
    Ss007 => "SS007", "unchecked-primary", Deny,
        "a failover primary that no health check watches",
        include_str!("../lint/docs/SS007.md");
    Ss008 => "SS008", "partial-failure-blind", Warn,
        "health checks that cannot see a sick-but-reachable region, under an RTO objective",
        include_str!("../lint/docs/SS008.md");
    Ss009 => "SS009", "cache-shorter-than-game-day", Warn,
        "a local cache that runs out before a 30-minute region isolation ends",
        include_str!("../lint/docs/SS009.md");
    Ss010 => "SS010", "undeclared-image-source", Warn,
        "a service with no `images` whose name matches a repository that some of its regions do not receive",
        include_str!("../lint/docs/SS010.md");
    Ss011 => "SS011", "engine-undeclared", Warn,
        "a witness declared without the data `engine`, so the engine's placement rules cannot be checked",
        include_str!("../lint/docs/SS011.md");
    Ss012 => "SS012", "unchecked-region", Warn,
        "a region nothing marks unhealthy, where SS003 and SS007 do not already say so",
        include_str!("../lint/docs/SS012.md");
    Ss013 => "SS013", "ttl-slows-failover", Warn,
        "a TTL over 120 s on a health-checked record: resolvers keep a dead region's answer that long",
        include_str!("../lint/docs/SS013.md");
    Ss014 => "SS014", "ttl-on-alias", Warn,
        "`ttl` written on a service whose records are all aliases, which carry no TTL of their own",
        include_str!("../lint/docs/SS014.md");
    Ss015 => "SS015", "scale-up-unused", Warn,
        "`scale_up` on a region already at full capacity, where it never runs",
        include_str!("../lint/docs/SS015.md");
    Ss016 => "SS016", "geolocation-without-default", Warn,
        "geolocation routing with no `*` default: resolvers outside every listed location get no answer",
        include_str!("../lint/docs/SS016.md");
}
