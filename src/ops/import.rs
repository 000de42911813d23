//! `import`: read what runs through a provider, then write it as a topology.

use super::Error;
use crate::import::{Imported, Request};
use crate::provider::{Provider, Scope};

/// Reads the zones and registry regions of `req` through `provider` and imports them.
pub fn import(
    provider: &dyn Provider,
    zones: &[String],
    regions: &[String],
    for_analysis: bool,
) -> Result<Imported, Error> {
    let scope = Scope {
        zones: zones.to_vec(),
        regions: regions.to_vec(),
        tag_prefixes: Vec::new(),
        names: Vec::new(),
        records_only: false,
    };
    let caps = provider.capabilities();
    if !caps.routing {
        return Err(Error::Refused(format!(
            "{} holds no routing policies, and every service a topology declares has one: nothing there can be imported (import reads Route 53 or a local store)",
            caps.name
        )));
    }
    let live = provider.read(&scope)?;
    // A zone that is not there (a local store answers for any zone: one with no record).
    let absent =
        |z: &String| !live.zones.contains_key(z) || !live.records.iter().any(|r| r.zone == *z);
    if let Some(missing) = zones.iter().find(|z| absent(z)) {
        return Err(Error::Refused(format!(
            "zone {missing} is not in {} (or holds no record): nothing to import from it",
            provider.source()
        )));
    }
    let req = Request {
        zones,
        regions,
        source: provider.source().to_string(),
        for_analysis,
    };
    Ok(crate::import::import(&live, &req))
}
