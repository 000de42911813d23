//! A topology made ready to plan: its sources, model and graph, its backend and identity, the
//! weights a shift holds, and the provider it is planned against.

use super::team::{Managed, Team};
use super::Error;
use crate::analysis::Prices;
use crate::backend::BackendRef;
use crate::graph::ResourceGraph;
use crate::identity::Identity;
use crate::plan::{self, Input, Options, Plan, SourceText};
use crate::provider::aws::{AwsProvider, AwsSettings};
use crate::provider::local::LocalStore;
use crate::provider::zonefile::ZoneFiles;
use crate::provider::Provider;
use crate::source::Sources;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The directory a topology path stands for: itself, or a file's directory.
pub fn topology_dir(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent().map(Path::to_path_buf).unwrap_or_default()
    }
}

/// `.meridian/state.json` beside the topology.
pub fn default_state(path: &Path) -> PathBuf {
    topology_dir(path).join(".meridian").join("state.json")
}

/// The topology's name: its `name` attribute, else the file stem or directory name.
pub fn topology_name(path: &Path, declared: Option<&str>) -> String {
    if let Some(n) = declared {
        return n.to_string();
    }
    let p = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let stem = if p.is_dir() {
        p.file_name()
    } else {
        p.file_stem()
    };
    stem.map(|s| {
        s.to_string_lossy()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect()
    })
    .filter(|s: &String| !s.is_empty())
    .unwrap_or_else(|| "topology".into())
}

/// A valid, named topology with its graph and files: what a plan is made from.
pub struct Workspace {
    pub sources: Vec<SourceText>,
    pub topology: crate::model::Topology,
    pub graph: ResourceGraph,
    pub backend: BackendRef,
    /// Read from the backend before planning.
    pub identity: Identity,
    /// Everything declared was cleared: the plan deletes what the topology manages.
    pub destroy: bool,
    /// The file's weights of the regions a shift holds (the topology carries the held ones).
    pub file_weights: crate::shift::FileWeights,
    /// Other names the topology may have been applied under (see [`name_aliases`]).
    pub aliases: Vec<String>,
}

impl Workspace {
    pub fn input(&self) -> Input<'_> {
        Input {
            topology: &self.topology,
            graph: &self.graph,
            sources: &self.sources,
            identity: &self.identity,
            backend: Some(&self.backend),
        }
    }

    pub fn set_identity(&mut self, identity: Identity) {
        self.identity = identity;
        self.hold();
    }

    /// Plans with the weights `meridian shift` holds (the identity's), not the file's.
    pub fn hold(&mut self) {
        if self.identity.holds.is_empty() {
            return;
        }
        crate::shift::apply(
            &mut self.topology,
            &mut self.identity.holds,
            &mut self.file_weights,
        );
        self.graph = ResourceGraph::build(&self.topology);
    }

    /// The topology's name (declared, else from its path).
    pub fn name(&self) -> String {
        self.topology.name.clone().unwrap_or_default()
    }

    /// Checks the backend's manifest is this topology's (see [`Team::same_topology`]); under
    /// an alias, the topology takes the name the manifest has.
    pub fn same_topology(&mut self, team: &Team, rename: bool) -> Result<(), Error> {
        if let Some(recorded) = team.same_topology(&self.name(), &self.aliases, rename)? {
            self.topology.name = Some(recorded);
        }
        Ok(())
    }

    pub fn backend(&self) -> &BackendRef {
        &self.backend
    }

    /// The same topology with nothing declared: its plan deletes everything it manages.
    pub fn for_destroy(mut self) -> Workspace {
        // Its zones are still read (besides those of the manifest).
        let declared = plan::scope(&self.graph).zones;
        self.topology.zones.extend(declared);
        self.topology.zones.sort();
        self.topology.zones.dedup();
        self.topology.services.clear();
        self.topology.registries.clear();
        self.graph = self.graph.retire_into(ResourceGraph::build(&self.topology));
        self.destroy = true;
        self
    }

    /// The weight the file declares for `service` in region `label` (a held weight is not
    /// the file's), when the service is weighted.
    pub fn declared_weight(&self, service: &str, label: &str) -> Option<u8> {
        match self
            .file_weights
            .get(&(service.to_string(), label.to_string()))
        {
            Some(w) => *w,
            None => crate::shift::shiftable(&self.topology, service, label).ok(),
        }
    }

    /// The address of the record of `service` in region `label`.
    pub fn record_address(&self, service: &str, label: &str) -> Option<String> {
        self.graph
            .resources()
            .iter()
            .map(|r| &r.address)
            .find(|a| {
                a.kind == crate::graph::Kind::Record
                    && a.name == service
                    && a.key.as_deref() == Some(label)
            })
            .map(ToString::to_string)
    }

    /// The services, zones, registry regions and replication rules the topology declares.
    pub fn managed(&self) -> Managed {
        let scope = plan::scope_with(&self.graph, &self.topology.zones);
        let mut rules: BTreeMap<String, Vec<crate::provider::ReplicationRule>> = BTreeMap::new();
        for r in self.graph.resources() {
            if let crate::graph::ResourceSpec::EcrReplication(x) = &r.spec {
                rules
                    .entry(x.region.clone())
                    .or_default()
                    .push(crate::provider::ReplicationRule {
                        destinations: x.destinations.clone(),
                        filters: x.filters.clone(),
                    });
            }
        }
        Managed {
            services: self.topology.services.keys().cloned().collect(),
            zones: scope.zones,
            regions: scope.regions,
            names: self.graph.record_names(),
            rules,
        }
    }

    pub fn new(
        sources: &Sources,
        mut topology: crate::model::Topology,
        name: String,
        backend: BackendRef,
    ) -> Result<Workspace, Error> {
        topology.name = Some(name);
        let graph = ResourceGraph::build(&topology);
        let cycles = graph.cycles();
        if !cycles.is_empty() {
            return Err(Error::Cycles(cycles));
        }
        // The topology's own files: the values of its variables are recorded as values.
        let sources = sources
            .iter()
            .filter(|(_, f)| f.role == crate::source::Role::Topology)
            .map(|(_, f)| SourceText {
                name: f.name.clone(),
                text: f.text.to_string(),
            })
            .collect();
        Ok(Workspace {
            sources,
            topology,
            graph,
            backend,
            identity: Identity::mint(),
            destroy: false,
            file_weights: Default::default(),
            aliases: Vec::new(),
        })
    }
}

impl Workspace {
    /// The valid topology read from `path`: named (declared, else after its path), its
    /// backend resolved beside it, the names it may have been applied under noted.
    pub fn at(
        path: &Path,
        sources: &Sources,
        topology: crate::model::Topology,
    ) -> Result<Workspace, Error> {
        let name = topology_name(path, topology.name.as_deref());
        let backend = BackendRef::of(topology.backend.as_ref(), &topology_dir(path));
        let aliases = name_aliases(path, topology.name.is_some());
        let mut ws = Workspace::new(sources, topology, name, backend)?;
        ws.aliases = aliases;
        Ok(ws)
    }
}

/// The other name a topology whose name is not declared may have been applied under: given
/// as a file, its directory's (the directory was applied before). A directory has none: a
/// file's stem (`main`) is shared by too many topologies to identify one.
fn name_aliases(path: &Path, declared: bool) -> Vec<String> {
    if declared || path.is_dir() {
        return Vec::new();
    }
    vec![topology_name(&topology_dir(path), None)]
}

/// Names the other topologies under the same backend that declare this plan's replication
/// rules (read from their manifests when the topology has rules), and the rules it deletes.
/// Returns a note when the other manifests could not be read.
pub fn share(p: &mut Plan, ws: &Workspace, team: &Team) -> Option<String> {
    let declared = if ws.destroy {
        BTreeMap::new()
    } else {
        ws.managed().rules
    };
    let has_rules = !declared.is_empty() || !p.identity.rules.is_empty();
    let mut note = None;
    let neighbours = if has_rules {
        team.backend.neighbours().unwrap_or_else(|e| {
            note = Some(format!(
                "other topologies' manifests could not be read, so shared replication rules are not named: {e}"
            ));
            Vec::new()
        })
    } else {
        Vec::new()
    };
    p.shared_rules = plan::shared::shared_rules(p, &declared, &neighbours);
    note
}

/// Price overrides for the recovery analysis, from a JSON file of price names to USD.
pub fn prices(path: Option<&Path>) -> Result<BTreeMap<String, f64>, Error> {
    let Some(path) = path else {
        return Ok(BTreeMap::new());
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Refused(format!("cannot read {}: {e}", path.display())))?;
    Prices::overrides_from_json(&path.display().to_string(), &text).map_err(Error::Prices)
}

/// Where live state comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveKind {
    /// The local state store.
    Local,
    /// AWS, or an AWS-compatible endpoint.
    Aws,
    /// RFC 1035 zone files in a directory.
    ZoneFiles,
}

/// How to open the provider a topology is planned against.
#[derive(Clone, Default)]
pub struct LiveOptions {
    /// None: AWS when the topology has a `provider "aws"` block, else the local store.
    pub kind: Option<LiveKind>,
    /// The local state store, or the zone files' directory.
    pub state: PathBuf,
    /// Take the local store's lock, waiting up to this long.
    pub lock: Option<std::time::Duration>,
    /// AWS: what is unset here comes from the topology's `provider "aws"` block.
    pub aws: AwsSettings,
}

/// Opens the provider of `kind` (what `o` leaves unset of AWS's settings comes from `block`, a
/// topology's `provider "aws"`): for a command with no topology, `import`, as for one.
pub fn open_live(
    kind: LiveKind,
    o: LiveOptions,
    block: Option<&crate::model::AwsProviderConfig>,
) -> Result<Box<dyn Provider>, Error> {
    let opened: Box<dyn Provider> = match kind {
        LiveKind::Local => Box::new(LocalStore::open(&o.state, o.lock)?),
        LiveKind::ZoneFiles => Box::new(ZoneFiles::open(&o.state, o.lock)?),
        LiveKind::Aws => {
            let from_block = |f: fn(&crate::model::AwsProviderConfig) -> &Option<String>| {
                block.and_then(|b| f(b).clone())
            };
            let settings = AwsSettings {
                region: o.aws.region.clone().or_else(|| from_block(|b| &b.region)),
                profile: o.aws.profile.clone().or_else(|| from_block(|b| &b.profile)),
                endpoint_url: o
                    .aws
                    .endpoint_url
                    .clone()
                    .or_else(|| from_block(|b| &b.endpoint_url)),
                ..o.aws
            };
            Box::new(AwsProvider::new(&settings)?)
        }
    };
    Ok(opened)
}

impl Workspace {
    /// Plans against `provider` with `opts` (a destroy workspace plans a destroy).
    pub fn plan(
        &self,
        provider: &dyn Provider,
        mut opts: Options,
        plan_id: String,
    ) -> Result<Plan, Error> {
        opts.destroy = self.destroy;
        Ok(plan::plan(&self.input(), provider, &opts, plan_id)?)
    }

    /// Which provider: `kind`, else the topology's `provider "aws"` block, else the local
    /// state store.
    pub fn live_kind(&self, kind: Option<LiveKind>) -> LiveKind {
        kind.unwrap_or(if self.topology.provider.is_some() {
            LiveKind::Aws
        } else {
            LiveKind::Local
        })
    }

    /// Opens the provider the topology is read and applied through.
    pub fn open_provider(&self, o: LiveOptions) -> Result<Box<dyn Provider>, Error> {
        let kind = self.live_kind(o.kind);
        open_live(kind, o, self.topology.provider.as_ref())
    }
}
