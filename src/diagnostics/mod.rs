//! Diagnostics: what every stage reports about a topology, with stable codes and source spans.
//!
//! Stages push [`Diagnostic`]s into a [`Diagnostics`] collection instead of stopping at the
//! first problem, so a user sees every mistake in one run. Rendering (miette snippets, JSON)
//! lives in `render::diagnostics`; nothing here prints.

pub mod rules;

use crate::source::{FileId, Loc};
use serde::Serialize;
use std::fmt;

macro_rules! codes {
    ($( $variant:ident => $name:literal, $summary:literal; )*) => {
        /// The stable code of a diagnostic. The string form (`meridian::...`) is a public
        /// contract: CI jobs and editors match on it. Never rename or reuse one.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $( $variant, )* }

        impl Code {
            /// Every code, in declaration order.
            pub const ALL: &'static [Code] = &[ $( Code::$variant, )* ];

            /// The stable string form, e.g. `meridian::unknown_attribute`.
            pub fn as_str(self) -> &'static str {
                match self { $( Code::$variant => concat!("meridian::", $name), )* }
            }

            /// One line saying what the code is about.
            pub fn summary(self) -> &'static str {
                match self { $( Code::$variant => $summary, )* }
            }
        }
    };
}

codes! {
    Syntax => "syntax", "the file is not valid HCL";
    Label => "label", "a service, region or registry label that is not 1-63 letters, digits, - or _";
    UnknownBlock => "unknown_block", "a block type the format does not define";
    UnknownAttribute => "unknown_attribute", "an attribute the block does not define";
    Labels => "labels", "a block with the wrong number of labels";
    WrongType => "wrong_type", "a value of the wrong type";
    Expression => "expression", "a function call, template directive or other expression where a literal or variable is needed";
    DuplicateAttribute => "duplicate_attribute", "the same attribute twice in one block";
    DuplicateBlock => "duplicate_block", "a block that may appear once appears again";
    DuplicateLabel => "duplicate_label", "two blocks of one type with the same label";
    MissingAttribute => "missing_attribute", "a required attribute is missing";
    MissingBlock => "missing_block", "a required block is missing (a service without regions)";
    EnumValue => "enum_value", "a value outside the allowed set";
    Duration => "duration", "a duration that cannot be read";
    UnknownRegion => "unknown_region", "not an AWS region name";
    Interval => "interval", "a health-check interval other than 10 or 30 seconds";
    FailureThreshold => "failure_threshold", "a failure threshold outside 1..10";
    CheckerRegions => "checker_regions", "health-checker regions: fewer than 3, repeated or unknown";
    Port => "port", "a port outside 1..65535";
    TooLong => "too_long", "a string longer than Route 53 accepts";
    SearchString => "search_string", "search_string missing on a *_STR_MATCH check, or set on another type";
    HealthCheckPath => "health_check_path", "a path on a TCP health check, or a path not starting with /";
    Weight => "weight", "a weight outside 0..255";
    RoutingField => "routing_field", "weight, role or locations missing under its routing policy, or set under another";
    LatencyRegion => "latency_region", "latency routing with two records in one region";
    FailoverRoles => "failover_roles", "failover routing without exactly one primary and one secondary";
    GeoLocation => "geo_location", "an unknown or repeated geolocation code";
    DuplicateDomain => "duplicate_domain", "two services that resolve the same domain";
    DomainOutsideZone => "domain_outside_zone", "a domain that is not inside its zone";
    DnsName => "dns_name", "a malformed DNS name";
    Endpoint => "endpoint", "a region without exactly one of target, ips and alias";
    Provider => "provider", "a provider block other than \"aws\"";
    Backend => "backend", "a backend block that is not \"local\" or \"s3\", or lacks what its kind needs";
    TopologyName => "topology_name", "a topology name that is empty, too long or has other characters than letters, digits, - and _";
    ZoneId => "zone_id", "an alias zone_id that is not a hosted zone id";
    SetIdentifier => "set_identifier", "a record set identifier that is too long or not unique";
    InvalidIp => "invalid_ip", "an IP address that cannot be read";
    RecordType => "record_type", "regions of one service that resolve to conflicting record types";
    Ttl => "ttl", "a TTL outside 0..2147483647";
    CnameApex => "cname_apex", "a CNAME record at the zone apex";
    CloudFrontHealth => "cloudfront_evaluate_target_health", "evaluate_target_health = true on a CloudFront alias";
    RegistryDestination => "registry_destination", "a registry destination equal to its source or repeated";
    ReplicationRules => "replication_rules", "more than 10 replication rules in one source region";
    RepositoryFilters => "repository_filters", "more than 100 repository filters in one rule";
    RepositoryName => "repository_name", "a repository name ECR does not accept";
    DuplicateRepository => "duplicate_repository", "one repository declared twice in one source region";
    DataPrimary => "data_primary", "data.primary missing, misplaced or not among the service's regions";
    DataField => "data_field", "a data attribute that does not apply to the pattern";
    StatelessWithData => "stateless_with_data", "a service declared stateless that also has a data block";
    Capacity => "capacity", "capacity or load_share outside 0..1";
    LoadShare => "load_share", "load_share under weighted or failover routing, on some regions only, or not summing to 1";
    FailoverTo => "failover_to", "failover_to under non-latency routing, or naming the region itself or no region of the service";
    Images => "images", "images naming no registry of the topology";
    Negative => "negative", "a cost, price or count below zero";
    Cycle => "cycle", "resources that depend on each other in a cycle";
    Dependency => "dependency", "a dependency without exactly one of region and regions, or cache_ttl without a local cache";
    UnknownReference => "unknown_reference", "depends_on or used_by naming no service, dependency or region of the topology";
    DependencyCycle => "dependency_cycle", "services whose depends_on form a cycle";
    LintRule => "lint_rule", "a lint block naming no rule, or one rule at two levels";
    EmptyTopology => "empty_topology", "a topology with no service and no registry block: nothing to plan or promise";
    UndeclaredVariable => "undeclared_variable", "`var.NAME` where no `variable \"NAME\"` block is declared";
    MissingVariable => "missing_variable", "a variable with no default and no value given (--var, --var-file, MERIDIAN_VAR_NAME)";
    UnknownVariable => "unknown_variable", "a value given for a variable the topology does not declare (an error for --var, a warning in a --var-file)";
    VariableType => "variable_type", "a variable's value that is not of its declared type (string, number, bool)";
    VariableSyntax => "variable_syntax", "a value that is not a literal, a --var without NAME=, or a block in a --var-file";
    VariableNotAllowed => "variable_not_allowed", "a variable in `name`, `backend` or `provider`, which decide identity, state and credentials";
    Range => "range", "a duration's `_min` above it or `_max` below it, or either without it (scale_up, promotion, decision_time)";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A span with a short text shown under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub loc: Loc,
    pub text: String,
}

/// One problem found in a topology.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    /// Where the problem is. Every diagnostic about a topology has one.
    pub primary: Label,
    /// Other places worth showing (the first definition of a duplicate, say).
    pub secondary: Vec<Label>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: Code, loc: Loc, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: capped(message.into()),
            primary: Label {
                loc,
                text: String::new(),
            },
            secondary: Vec::new(),
            help: None,
        }
    }

    pub fn warning(code: Code, loc: Loc, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, loc, message)
        }
    }

    /// The text under the primary span.
    pub fn label(mut self, text: impl Into<String>) -> Diagnostic {
        self.primary.text = capped(text.into());
        self
    }

    pub fn with_secondary(mut self, loc: Loc, text: impl Into<String>) -> Diagnostic {
        self.secondary.push(Label {
            loc,
            text: text.into(),
        });
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(capped(help.into()));
        self
    }

    pub fn file(&self) -> FileId {
        self.primary.loc.file
    }
}

/// How many diagnostics one run collects; the rest are counted, not kept.
pub const MAX_DIAGNOSTICS: usize = 1000;

/// Every diagnostic a run produced, in source order once [`Diagnostics::sort`] ran: at most
/// [`MAX_DIAGNOSTICS`], the others counted.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
    dropped_errors: usize,
    dropped_warnings: usize,
}

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        if self.items.len() < MAX_DIAGNOSTICS {
            self.items.push(d);
        } else if d.severity == Severity::Error {
            self.dropped_errors += 1;
        } else {
            self.dropped_warnings += 1;
        }
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.dropped_errors += other.dropped_errors;
        self.dropped_warnings += other.dropped_warnings;
        for d in other.items {
            self.push(d);
        }
    }

    pub fn has_errors(&self) -> bool {
        self.dropped_errors > 0 || self.items.iter().any(|d| d.severity == Severity::Error)
    }

    /// Errors found, those not kept included.
    pub fn errors(&self) -> usize {
        self.count(Severity::Error) + self.dropped_errors
    }

    /// Warnings found, those not kept included.
    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning) + self.dropped_warnings
    }

    /// Diagnostics found beyond [`MAX_DIAGNOSTICS`], counted but not kept.
    pub fn not_shown(&self) -> usize {
        self.dropped_errors + self.dropped_warnings
    }

    fn count(&self, s: Severity) -> usize {
        self.items.iter().filter(|d| d.severity == s).count()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.items.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Sorts by file, position and code, and drops exact repeats, so output is stable.
    pub fn sort(&mut self) {
        self.items.sort_by(|a, b| {
            (
                a.primary.loc.file,
                a.primary.loc.span.start,
                a.code,
                &a.message,
            )
                .cmp(&(
                    b.primary.loc.file,
                    b.primary.loc.span.start,
                    b.code,
                    &b.message,
                ))
        });
        self.items.dedup();
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

/// The longest message, label or help kept whole (a value echoed from the input is cut).
pub const MAX_TEXT: usize = 500;

/// `text`, cut in the middle when longer than [`MAX_TEXT`] bytes, saying how much was cut.
fn capped(text: String) -> String {
    if text.len() <= MAX_TEXT {
        return text;
    }
    let head = crate::source::floor_char_boundary(&text, MAX_TEXT / 2);
    let mut tail = text.len() - MAX_TEXT / 4;
    while !text.is_char_boundary(tail) {
        tail += 1;
    }
    format!(
        "{} [... {} bytes cut ...] {}",
        &text[..head],
        tail - head,
        &text[tail..]
    )
}

/// "did you mean" for a near miss: the closest candidate within a small edit distance.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3) && *d < c.len().max(word.len()))
        .min()
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn codes_are_unique() {
        let names: BTreeSet<_> = Code::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), Code::ALL.len());
    }

    #[test]
    fn suggestions_find_near_misses_only() {
        assert_eq!(suggest("tll", ["ttl", "routing"]), Some("ttl"));
        assert_eq!(suggest("intreval", ["interval", "port"]), Some("interval"));
        assert_eq!(suggest("banana", ["ttl", "zone"]), None);
    }
}
