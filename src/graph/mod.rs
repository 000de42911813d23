//! The resource graph: the cloud resources a topology implies and the order they depend on.
//!
//! Consumes a validated [`Topology`]; produces a [`ResourceGraph`]: one [`Resource`] per Route 53
//! health check, Route 53 record set, ECR repository and ECR replication configuration, each
//! with a stable [`Address`], and a petgraph of their dependencies (a record depends on its
//! health check; a replication configuration on the repositories it filters). Every ordering
//! is deterministic: ties are broken by address.

mod resources;

pub use resources::*;

use crate::diagnostics::{Code, Diagnostic, Diagnostics};
use crate::model::Topology;
use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;
use std::collections::{BTreeMap, BTreeSet};

/// Resources and their dependency edges.
#[derive(Debug, Clone)]
pub struct ResourceGraph {
    /// Sorted by address.
    resources: Vec<Resource>,
    /// Node weights index `resources`; an edge `a -> b` means `a` depends on `b`.
    graph: DiGraph<usize, ()>,
    nodes: BTreeMap<Address, NodeIndex>,
    /// Replication rules the topology declared before it was emptied for a destroy (or
    /// `state`): a rule it deletes keeps the address `plan` and `graph` gave it.
    retired_rules: Vec<(Address, resources::EcrReplicationSpec)>,
    /// The records it declared before it was emptied: a provider of plain record sets
    /// ([`crate::provider::Capabilities::routing`] false) names a deleted record as declared.
    retired_records: Vec<(Address, resources::RecordSpec)>,
}

impl ResourceGraph {
    /// The record names the graph declares (domains, `failover_to` trees, markers), sorted.
    pub fn record_names(&self) -> Vec<String> {
        let mut names = std::collections::BTreeSet::new();
        for r in self.resources() {
            match &r.spec {
                ResourceSpec::Record(x) => {
                    names.insert(x.name.clone());
                }
                ResourceSpec::Owner(o) => {
                    names.insert(o.name.clone());
                }
                _ => {}
            }
        }
        names.into_iter().collect()
    }

    /// Lowers a topology into its resources and wires their dependencies.
    pub fn build(topology: &Topology) -> ResourceGraph {
        let resources = resources::lower(topology);
        let edges: Vec<(Address, Address)> = resources
            .iter()
            .flat_map(|r| {
                r.spec
                    .depends_on()
                    .into_iter()
                    .map(move |d| (r.address.clone(), d))
            })
            .collect();
        ResourceGraph::from_parts(resources, edges)
    }

    /// A graph from explicit resources and `(dependent, dependency)` edges. Edges naming an
    /// unknown address are dropped.
    pub fn from_parts(
        mut resources: Vec<Resource>,
        edges: Vec<(Address, Address)>,
    ) -> ResourceGraph {
        resources.sort_by(|a, b| a.address.cmp(&b.address));
        let mut graph = DiGraph::new();
        let mut nodes = BTreeMap::new();
        for (i, r) in resources.iter().enumerate() {
            nodes.insert(r.address.clone(), graph.add_node(i));
        }
        let mut edges = edges;
        edges.sort();
        edges.dedup();
        for (from, to) in edges {
            if let (Some(&a), Some(&b)) = (nodes.get(&from), nodes.get(&to)) {
                graph.add_edge(a, b, ());
            }
        }
        ResourceGraph {
            resources,
            graph,
            nodes,
            retired_rules: Vec::new(),
            retired_records: Vec::new(),
        }
    }

    /// The graph of what remains (`next`), remembering the addresses of this graph's
    /// replication rules, so deleting them names them as declared.
    pub fn retire_into(&self, mut next: ResourceGraph) -> ResourceGraph {
        next.retired_rules = self
            .resources
            .iter()
            .filter_map(|r| match &r.spec {
                ResourceSpec::EcrReplication(x) => Some((r.address.clone(), x.clone())),
                _ => None,
            })
            .chain(self.retired_rules.iter().cloned())
            .collect();
        next.retired_records = self
            .resources
            .iter()
            .filter_map(|r| match &r.spec {
                ResourceSpec::Record(x) => Some((r.address.clone(), (**x).clone())),
                _ => None,
            })
            .chain(self.retired_records.iter().cloned())
            .collect();
        next
    }

    /// This graph with what `from` retired (a graph rebuilt from another's resources).
    pub fn keep_retired(mut self, from: &ResourceGraph) -> ResourceGraph {
        self.retired_rules.clone_from(&from.retired_rules);
        self.retired_records.clone_from(&from.retired_records);
        self
    }

    /// The records this graph no longer holds, with their declared addresses.
    pub fn retired_records(&self) -> &[(Address, resources::RecordSpec)] {
        &self.retired_records
    }

    /// The replication rules of `region` this graph no longer holds, with their declared
    /// addresses.
    pub fn retired_rules<'a>(
        &'a self,
        region: &'a str,
    ) -> impl Iterator<Item = (&'a Address, &'a resources::EcrReplicationSpec)> + 'a {
        self.retired_rules
            .iter()
            .filter(move |(_, x)| x.region == region)
            .map(|(a, x)| (a, x))
    }

    /// All resources, sorted by address.
    pub fn resources(&self) -> &[Resource] {
        &self.resources
    }

    pub fn get(&self, address: &Address) -> Option<&Resource> {
        self.nodes
            .get(address)
            .map(|n| &self.resources[self.graph[*n]])
    }

    /// What `address` depends on, sorted.
    pub fn dependencies(&self, address: &Address) -> Vec<&Address> {
        self.neighbours(address, Direction::Outgoing)
    }

    /// What depends on `address`, sorted.
    pub fn dependents(&self, address: &Address) -> Vec<&Address> {
        self.neighbours(address, Direction::Incoming)
    }

    fn neighbours(&self, address: &Address, dir: Direction) -> Vec<&Address> {
        let Some(&n) = self.nodes.get(address) else {
            return Vec::new();
        };
        let mut out: Vec<&Address> = self
            .graph
            .neighbors_directed(n, dir)
            .map(|m| &self.resources[self.graph[m]].address)
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Every edge as `(dependent, dependency)`, sorted.
    pub fn edges(&self) -> Vec<(&Address, &Address)> {
        let mut out: Vec<_> = self
            .graph
            .edge_indices()
            .filter_map(|e| self.graph.edge_endpoints(e))
            .map(|(a, b)| {
                (
                    &self.resources[self.graph[a]].address,
                    &self.resources[self.graph[b]].address,
                )
            })
            .collect();
        out.sort();
        out
    }

    /// One diagnostic per dependency cycle, naming every member.
    pub fn cycles(&self) -> Diagnostics {
        let mut diags = Diagnostics::default();
        for scc in tarjan_scc(&self.graph) {
            let self_loop = scc.len() == 1 && self.graph.contains_edge(scc[0], scc[0]);
            if scc.len() < 2 && !self_loop {
                continue;
            }
            let mut members: Vec<&Resource> = scc
                .iter()
                .map(|n| &self.resources[self.graph[*n]])
                .collect();
            members.sort_by(|a, b| a.address.cmp(&b.address));
            let names: Vec<String> = members.iter().map(|r| r.address.to_string()).collect();
            let mut d = Diagnostic::error(
                Code::Cycle,
                members[0].loc.clone(),
                format!("dependency cycle: {}", names.join(" -> ")),
            )
            .label(format!("{} is part of the cycle", names[0]));
            for m in &members[1..] {
                d = d.with_secondary(m.loc.clone(), format!("{} is part of the cycle", m.address));
            }
            diags
                .push(d.help("no order can create these resources; break one of the dependencies"));
        }
        diags.sort();
        diags
    }

    /// Dependencies first; among resources that are ready together, by address. `Err` holds
    /// the cycle diagnostics when there is no such order.
    pub fn order(&self) -> Result<Vec<&Resource>, Diagnostics> {
        let cycles = self.cycles();
        if !cycles.is_empty() {
            return Err(cycles);
        }
        let mut pending: BTreeMap<NodeIndex, usize> = self
            .graph
            .node_indices()
            .map(|n| {
                (
                    n,
                    self.graph
                        .neighbors_directed(n, Direction::Outgoing)
                        .count(),
                )
            })
            .collect();
        let mut ready: BTreeSet<(&Address, NodeIndex)> = pending
            .iter()
            .filter(|(_, c)| **c == 0)
            .map(|(n, _)| (&self.resources[self.graph[*n]].address, *n))
            .collect();
        let mut out = Vec::with_capacity(self.resources.len());
        while let Some((_, n)) = ready.pop_first() {
            out.push(&self.resources[self.graph[n]]);
            for m in self.graph.neighbors_directed(n, Direction::Incoming) {
                let c = pending.get_mut(&m).expect("every node is pending");
                *c -= 1;
                if *c == 0 {
                    ready.insert((&self.resources[self.graph[m]].address, m));
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{FileId, Loc};

    fn repo(name: &str) -> Resource {
        Resource {
            address: Address::new(Kind::EcrRepository, "r", Some(name)),
            loc: Loc::new(FileId(0), 0..1),
            spec: ResourceSpec::EcrRepository(EcrRepositorySpec {
                region: "us-east-1".into(),
                name: name.into(),
            }),
        }
    }

    #[test]
    fn cycles_name_every_member() {
        let (a, b, c) = (repo("a"), repo("b"), repo("c"));
        let edges = vec![
            (a.address.clone(), b.address.clone()),
            (b.address.clone(), c.address.clone()),
            (c.address.clone(), a.address.clone()),
        ];
        let g = ResourceGraph::from_parts(vec![c, b, a], edges);
        let cycles = g.cycles();
        assert_eq!(cycles.len(), 1);
        let d = cycles.iter().next().unwrap();
        assert_eq!(d.code, Code::Cycle);
        assert!(
            d.message.contains(r#"ecr_repository.r["a"]"#),
            "{}",
            d.message
        );
        assert!(d.message.contains(r#"ecr_repository.r["b"]"#));
        assert!(d.message.contains(r#"ecr_repository.r["c"]"#));
        assert_eq!(d.secondary.len(), 2);
        assert!(g.order().is_err());
    }

    #[test]
    fn order_puts_dependencies_first_and_breaks_ties_by_address() {
        let (a, b, c) = (repo("a"), repo("b"), repo("c"));
        // a depends on c; b and c are independent.
        let edges = vec![(a.address.clone(), c.address.clone())];
        let g = ResourceGraph::from_parts(vec![a, b, c], edges);
        let order: Vec<String> = g
            .order()
            .unwrap()
            .iter()
            .map(|r| r.address.to_string())
            .collect();
        assert_eq!(
            order,
            [
                r#"ecr_repository.r["b"]"#,
                r#"ecr_repository.r["c"]"#,
                r#"ecr_repository.r["a"]"#
            ]
        );
    }
}
