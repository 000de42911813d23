//! The static-stability lint: what in a valid topology breaks when a region is lost, isolated
//! or sick, found before an incident does.
//!
//! Consumes a validated [`Topology`] (and its sources, for inline suppressions); produces a
//! [`Report`]. The rules are a closed set ([`RuleId`]) with stable ids, a default level and a
//! documentation paragraph each ([`Rule`]); `docs/lint.md` is generated from that table. The
//! checks live in [`rules`]; nothing here prints. The reasoning follows the domain reference's
//! "Static stability" and "split-brain steady state" sections.

pub mod detection;
mod rules;
mod suppress;

use crate::diagnostics::Label;
use crate::model::Topology;
use crate::source::Sources;
use serde::Serialize;
use std::collections::BTreeMap;

/// Version of the JSON document `meridian lint --format json` prints.
pub const JSON_FORMAT_VERSION: u32 = 1;

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
        include_str!("docs/SS000.md");
    Ss001 => "SS001", "cross-region-dependency", Deny,
        "a service region calls a dependency that lives only in other regions, with no local fallback",
        include_str!("docs/SS001.md");
    Ss002 => "SS002", "images-not-in-region", Deny,
        "a region runs a service whose registry neither lives in nor replicates to it",
        include_str!("docs/SS002.md");
    Ss003 => "SS003", "control-plane-failover", Deny,
        "moving traffic off a region needs Route 53 control-plane writes during the incident",
        include_str!("docs/SS003.md");
    Ss004 => "SS004", "no-second-region", Deny,
        "latency or geolocation routing that leaves some users with no record when a region is lost",
        include_str!("docs/SS004.md");
    Ss005 => "SS005", "stale-user-data", Warn,
        "user-scoped data read from asynchronous replicas in regions that serve traffic",
        include_str!("docs/SS005.md");
    Ss006 => "SS006", "lag-over-rpo", Deny,
        "a declared replication lag the RPO objective cannot absorb",
        include_str!("docs/SS006.md");
    Ss007 => "SS007", "unchecked-primary", Deny,
        "a failover primary that no health check watches",
        include_str!("docs/SS007.md");
    Ss008 => "SS008", "partial-failure-blind", Warn,
        "health checks that cannot see a sick-but-reachable region, under an RTO objective",
        include_str!("docs/SS008.md");
    Ss009 => "SS009", "cache-shorter-than-game-day", Warn,
        "a local cache that runs out before a 30-minute region isolation ends",
        include_str!("docs/SS009.md");
    Ss010 => "SS010", "undeclared-image-source", Warn,
        "a service with no `images` whose name matches a repository that some of its regions do not receive",
        include_str!("docs/SS010.md");
    Ss011 => "SS011", "engine-undeclared", Warn,
        "a witness declared without the data `engine`, so the engine's placement rules cannot be checked",
        include_str!("docs/SS011.md");
}

/// One problem the lint found.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub rule: RuleId,
    /// The effective level (never `allow`: those are dropped).
    pub level: Level,
    pub message: String,
    #[serde(skip)]
    pub primary: Label,
    #[serde(skip)]
    pub secondary: Vec<Label>,
    pub help: String,
    /// The service it is about, when one.
    pub service: Option<String>,
    /// The reason of the suppression that silenced it.
    pub suppressed: Option<String>,
}

/// Levels chosen on the command line (`-A`, `-W`, `-D`), over the topology's `lint` block.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub levels: BTreeMap<RuleId, Level>,
    /// `--deny warnings`: every warning is an error.
    pub deny_warnings: bool,
}

impl Config {
    /// The level of `rule`: the command line, then the topology, then the rule's default.
    pub fn level(&self, rule: RuleId, t: &Topology) -> Level {
        let l = self
            .levels
            .get(&rule)
            .or_else(|| t.lint.get(&rule))
            .copied()
            .unwrap_or(rule.rule().level);
        if self.deny_warnings && l == Level::Warn {
            Level::Deny
        } else {
            l
        }
    }
}

/// What the lint found: the findings shown and those an inline suppression silenced.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub suppressed: Vec<Finding>,
}

impl Report {
    pub fn count(&self, level: Level) -> usize {
        self.findings.iter().filter(|f| f.level == level).count()
    }

    /// True when a finding reaches the deny level (lint exits 3).
    pub fn denied(&self) -> bool {
        self.count(Level::Deny) > 0
    }
}

/// Lints a validated topology.
pub fn lint(t: &Topology, sources: &Sources, config: &Config) -> Report {
    lint_with(t, &crate::analysis::analyze(t), sources, config)
}

/// [`lint`] with the topology's analysis already made (plan and check have one).
pub fn lint_with(
    t: &Topology,
    analysis: &crate::analysis::Analysis,
    sources: &Sources,
    config: &Config,
) -> Report {
    let mut raw = rules::check(t, analysis);
    for f in &mut raw {
        f.level = config.level(f.rule, t);
    }
    // Suppressions first: one of a rule that is turned off still silences its finding (it is
    // not "silencing nothing"); then what is off is dropped.
    let mut report = suppress::apply(raw, sources);
    for f in &mut report.findings {
        if f.rule == RuleId::Ss000 {
            f.level = config.level(RuleId::Ss000, t);
        }
    }
    report.findings.retain(|f| f.level != Level::Allow);
    report.suppressed.retain(|f| f.level != Level::Allow);
    let key = |f: &Finding| (f.primary.loc.file, f.primary.loc.span.start, f.rule);
    report.findings.sort_by_key(key);
    report.suppressed.sort_by_key(key);
    report
}

/// `docs/lint.md`: every rule with its documentation, generated from the table.
pub fn docs_markdown() -> String {
    let mut out = String::from("# Lint rules\n\n<!-- Generated by `meridian lint --docs`; edit src/lint/docs/*.md instead. -->\n\n");
    out.push_str("| Rule | Name | Default | Finds |\n|---|---|---|---|\n");
    for id in RuleId::ALL {
        let r = id.rule();
        out.push_str(&format!(
            "| [{}](#{}) | {} | {} | {} |\n",
            id.as_str(),
            id.as_str().to_ascii_lowercase(),
            r.name,
            r.level.as_str(),
            r.summary
        ));
    }
    for id in RuleId::ALL {
        let r = id.rule();
        out.push_str(&format!(
            "\n## {}\n\n`{}`, {} by default: {}.\n\n{}",
            id.as_str(),
            r.name,
            r.level.as_str(),
            r.summary,
            r.doc
        ));
    }
    out
}
