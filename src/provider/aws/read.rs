//! What one plan reads: zones, their record sets, the account's health checks (and tags),
//! and each region's registry.

use super::*;

impl AwsProvider {
    pub(super) async fn zone_id(&self, zone: &str) -> Result<String, ProviderError> {
        Ok(self.zone(zone).await?.0)
    }

    /// The public hosted zone named `zone`: its id and its record-set count (when reported).
    pub(super) async fn zone(&self, zone: &str) -> Result<(String, Option<u64>), ProviderError> {
        let req = self
            .route53
            .list_hosted_zones_by_name()
            .dns_name(format!("{zone}."))
            .max_items(20);
        let out = self
            .r53("ListHostedZonesByName", || req.clone().send())
            .await?;
        // Zones sort by name: private zones of the same name (split horizon) may come first.
        let public: Vec<&r53::types::HostedZone> = out
            .hosted_zones()
            .iter()
            .filter(|z| trim_dot(z.name()) == zone && !z.config().is_some_and(|c| c.private_zone()))
            .collect();
        match public.as_slice() {
            [z] => Ok((
                z.id().trim_start_matches("/hostedzone/").to_string(),
                z.resource_record_set_count().and_then(|n| u64::try_from(n).ok()),
            )),
            [] => Err(ProviderError::NotFound {
                what: format!("public hosted zone {zone} (Meridian looks zones up and never creates them: create it first)"),
            }),
            several => Err(ProviderError::Invalid(format!(
                "{} public hosted zones are named {zone}; Meridian cannot tell which one serves the name",
                several.len()
            ))),
        }
    }

    pub(super) async fn records(
        &self,
        zone: &str,
        zone_id: &str,
    ) -> Result<Vec<RecordSet>, ProviderError> {
        let mut out = Vec::new();
        let mut seen: BTreeSet<(String, String, Option<String>)> = BTreeSet::new();
        let mut start: Option<(String, r53::types::RrType, Option<String>)> = None;
        let mut pages = 0usize;
        loop {
            let mut req = self
                .route53
                .list_resource_record_sets()
                .hosted_zone_id(zone_id)
                .max_items(300);
            if let Some((name, ty, id)) = &start {
                req = req.start_record_name(name).start_record_type(ty.clone());
                if let Some(id) = id {
                    req = req.start_record_identifier(id);
                }
            }
            let page = self
                .r53("ListResourceRecordSets", || req.clone().send())
                .await?;
            pages += 1;
            let mut progress = false;
            for r in page.resource_record_sets() {
                let name = trim_dot(&unescape(r.name()));
                let key = (
                    name.clone(),
                    r.r#type().as_str().to_string(),
                    r.set_identifier().map(String::from),
                );
                // Servers that ignore StartRecordIdentifier repeat records across pages.
                if !seen.insert(key) {
                    continue;
                }
                progress = true;
                out.push(convert_record(zone, &name, r));
            }
            let next = match (
                page.is_truncated(),
                page.next_record_name(),
                page.next_record_type(),
            ) {
                (true, Some(n), Some(t)) => Some((
                    n.to_string(),
                    t.clone(),
                    page.next_record_identifier().map(String::from),
                )),
                _ => None,
            };
            if next.is_none() {
                break;
            }
            // A page that brought nothing new, or points back where it started: the server is
            // looping, and what was read is not the whole zone.
            if !progress || next == start || pages > 100_000 {
                return Err(ProviderError::Io(format!(
                    "ListResourceRecordSets for {zone}: the server repeated a page, so the zone could not be read completely"
                )));
            }
            start = next;
        }
        Ok(out)
    }

    /// The record sets at `names` of a zone: a page of `ListResourceRecordSets` starting at
    /// each name not yet seen whole. Route 53 lists a name's sets together, so a name's sets
    /// are whole in a page when another name's follow them there (or the page is the zone's
    /// last); a name the page starts at whose first set has another name has none. A marker
    /// (`_meridian.<name>`) sorts right after its name's sets and usually comes in its page.
    pub(super) async fn records_at(
        &self,
        zone: &str,
        zone_id: &str,
        names: &[&str],
    ) -> Result<Vec<RecordSet>, ProviderError> {
        let wanted: BTreeSet<&str> = names.iter().copied().collect();
        // In the zone's order (labels reversed): a name before its marker, whose sets its
        // page usually brings.
        let mut names = names.to_vec();
        names.sort_by_cached_key(|n| n.rsplit('.').map(str::to_string).collect::<Vec<_>>());
        let mut read = ByNameRead::default();
        for name in &names {
            if read.whole.contains(*name) {
                continue;
            }
            let mut start: (String, Option<r53::types::RrType>, Option<String>) =
                ((*name).to_string(), None, None);
            loop {
                let mut req = self
                    .route53
                    .list_resource_record_sets()
                    .hosted_zone_id(zone_id)
                    .start_record_name(&start.0)
                    .max_items(300);
                if let Some(t) = &start.1 {
                    req = req.start_record_type(t.clone());
                }
                if let Some(id) = &start.2 {
                    req = req.start_record_identifier(id);
                }
                let page = self
                    .r53("ListResourceRecordSets", || req.clone().send())
                    .await?;
                let next = match (page.is_truncated(), page.next_record_name()) {
                    (true, Some(n)) => Some(trim_dot(&unescape(n))),
                    _ => None,
                };
                let fresh = read.page(zone, name, &page, next.as_deref(), &wanted);
                match (next, page.next_record_type()) {
                    (Some(n), Some(t)) if !read.whole.contains(*name) && n == *name => {
                        if !fresh {
                            return Err(ProviderError::Io(format!(
                                "ListResourceRecordSets for {zone} at {name}: the server repeated a page, so the name could not be read completely"
                            )));
                        }
                        let id = page.next_record_identifier().map(String::from);
                        start = (n, Some(t.clone()), id);
                    }
                    _ => break,
                }
            }
        }
        Ok(read.records)
    }

    pub(super) async fn health_checks(&self) -> Result<Vec<LiveHealthCheck>, ProviderError> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        let mut marker: Option<String> = None;
        let mut pages = 0;
        loop {
            pages += 1;
            let mut req = self.route53.list_health_checks().max_items(1000);
            if let Some(m) = &marker {
                req = req.marker(m);
            }
            let page = self.r53("ListHealthChecks", || req.clone().send()).await?;
            let mut progress = false;
            for h in page.health_checks() {
                if !seen.insert(h.id().to_string()) {
                    continue;
                }
                progress = true;
                if let Some(c) = h.health_check_config().and_then(convert_check) {
                    out.push(LiveHealthCheck {
                        id: h.id().to_string(),
                        caller_reference: h.caller_reference().to_string(),
                        version: u64::try_from(h.health_check_version()).unwrap_or(0),
                        config: c,
                        tags: BTreeMap::new(),
                        drift: h
                            .health_check_config()
                            .map(|c| {
                                let mut d = Vec::new();
                                if c.inverted() == Some(true) {
                                    d.push("inverted".to_string());
                                }
                                if c.disabled() == Some(true) {
                                    d.push("disabled".to_string());
                                }
                                d
                            })
                            .unwrap_or_default(),
                    });
                }
            }
            match page.next_marker() {
                Some(m) if page.is_truncated() => {
                    if !progress || marker.as_deref() == Some(m) {
                        return Err(ProviderError::Io(
                            "ListHealthChecks: the server repeated a page, so the health checks could not be read completely".into(),
                        ));
                    }
                    marker = Some(m.to_string())
                }
                _ => break,
            }
        }
        self.check_pages
            .store(pages, std::sync::atomic::Ordering::Relaxed);
        Ok(out)
    }

    /// Fills in the tags of the checks `scope` asks about: `ListTagsForResources`, 10 checks
    /// a call (Route 53's limit).
    pub(super) async fn read_tags(
        &self,
        scope: &Scope,
        checks: &mut [LiveHealthCheck],
    ) -> Result<(), ProviderError> {
        let ids: Vec<String> = checks
            .iter()
            .filter(|h| scope.reads_tags_of(&h.caller_reference))
            .map(|h| h.id.clone())
            .collect();
        let mut tags: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for chunk in ids.chunks(10) {
            let req = self
                .route53
                .list_tags_for_resources()
                .resource_type(r53::types::TagResourceType::Healthcheck)
                .set_resource_ids(Some(chunk.to_vec()));
            let out = self
                .r53("ListTagsForResources", || req.clone().send())
                .await?;
            for set in out.resource_tag_sets() {
                let Some(id) = set.resource_id() else {
                    continue;
                };
                let entry = tags.entry(id.to_string()).or_default();
                for t in set.tags() {
                    if let (Some(k), Some(v)) = (t.key(), t.value()) {
                        entry.insert(k.to_string(), v.to_string());
                    }
                }
            }
        }
        for h in checks.iter_mut() {
            if let Some(t) = tags.remove(&h.id) {
                h.tags = t;
            }
        }
        Ok(())
    }

    /// A region's replication configuration (`DescribeRegistry`), destinations in this
    /// account by region, others as `REGISTRY/REGION`.
    pub(super) async fn replication_rules(
        &self,
        region: &str,
    ) -> Result<Vec<ReplicationRule>, ProviderError> {
        let client = self.ecr_client(region);
        self.count("DescribeRegistry");
        let reg = client
            .describe_registry()
            .send()
            .await
            .map_err(|e| sdk_error("DescribeRegistry", e))?;
        let own = reg.registry_id().map(String::from);
        if let Some(id) = reg.registry_id() {
            if let Ok(mut ids) = self.registry_ids.lock() {
                ids.insert(region.to_string(), id.to_string());
            }
        }
        let rules = reg
            .replication_configuration()
            .map(|c| {
                c.rules()
                    .iter()
                    .map(|r| {
                        // A destination in this account is its region; one in another account keeps
                        // its registry id ("123456789012/us-west-2"), so it is written back as read.
                        let mut destinations: Vec<String> = r
                            .destinations()
                            .iter()
                            .map(|d| {
                                if own.as_deref() == Some(d.registry_id()) {
                                    d.region().to_string()
                                } else {
                                    format!("{}/{}", d.registry_id(), d.region())
                                }
                            })
                            .collect();
                        destinations.sort();
                        let mut filters: Vec<String> = r
                            .repository_filters()
                            .iter()
                            .map(|f| f.filter().to_string())
                            .collect();
                        filters.sort();
                        ReplicationRule {
                            destinations,
                            filters,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(rules)
    }

    pub(super) async fn registry(
        &self,
        region: &str,
    ) -> Result<(Vec<String>, Vec<ReplicationRule>), ProviderError> {
        let rules = self.replication_rules(region).await?;
        let client = self.ecr_client(region);
        let mut repos = Vec::new();
        let mut token: Option<String> = None;
        loop {
            self.count("DescribeRepositories");
            let mut req = client.describe_repositories().max_results(1000);
            if let Some(t) = &token {
                req = req.next_token(t);
            }
            let page = req
                .send()
                .await
                .map_err(|e| sdk_error("DescribeRepositories", e))?;
            repos.extend(
                page.repositories()
                    .iter()
                    .filter_map(|r| r.repository_name().map(String::from)),
            );
            match page.next_token() {
                Some(t) if token.as_deref() != Some(t) => token = Some(t.to_string()),
                _ => break,
            }
        }
        repos.sort();
        repos.dedup();
        Ok((repos, rules))
    }

    pub(super) async fn read_all(&self, scope: &Scope) -> Result<LiveState, ProviderError> {
        let mut live = LiveState::default();
        for zone in &scope.zones {
            let (id, count) = self.zone(zone).await?;
            let names = scope.names_in(zone);
            match count.filter(|n| by_name_is_cheaper(names.len(), *n)) {
                Some(zone_records) => {
                    live.records
                        .extend(self.records_at(zone, &id, &names).await?);
                    let read = crate::provider::ByName {
                        names: names.len(),
                        zone_records,
                    };
                    live.read_by_name.insert(zone.clone(), read);
                }
                None => live.records.extend(self.records(zone, &id).await?),
            }
            live.zones.insert(zone.clone(), id);
        }
        if let Ok(mut z) = self.zone_ids.lock() {
            z.extend(live.zones.clone());
        }
        if !scope.records_only {
            live.health_checks = self.health_checks().await?;
            self.read_tags(scope, &mut live.health_checks).await?;
        }
        for region in &scope.regions {
            let (repos, rules) = self.registry(region).await?;
            live.repositories.insert(region.clone(), repos);
            live.replication.insert(region.clone(), rules);
        }
        Ok(live)
    }
}

/// Reading a zone by name costs about a call a name; paging it, a call per 300 record sets.
fn by_name_is_cheaper(names: usize, zone_records: u64) -> bool {
    names > 0 && (names as u64) < zone_records.div_ceil(300)
}

/// What a read by name has gathered: the record sets at the names asked for, and the names
/// known whole.
#[derive(Default)]
struct ByNameRead {
    records: Vec<RecordSet>,
    seen: BTreeSet<(String, String, Option<String>)>,
    whole: BTreeSet<String>,
}

impl ByNameRead {
    /// Takes in one page started at (or continuing) `start`; `next` is the name the zone goes
    /// on with when the page is truncated. Returns whether the page brought a new record set.
    fn page(
        &mut self,
        zone: &str,
        start: &str,
        page: &r53::operation::list_resource_record_sets::ListResourceRecordSetsOutput,
        next: Option<&str>,
        wanted: &BTreeSet<&str>,
    ) -> bool {
        let sets = page.resource_record_sets();
        let names: Vec<String> = sets.iter().map(|r| trim_dot(&unescape(r.name()))).collect();
        if names.first().is_none_or(|n| n != start) {
            // The zone's first set at or after `start` has another name: `start` has none.
            self.whole.insert(start.to_string());
        }
        let mut fresh = false;
        for (i, (r, name)) in sets.iter().zip(&names).enumerate() {
            // A name's sets are whole once another name follows them, here or in `next`.
            let followed = names
                .get(i + 1)
                .map_or(next.is_none_or(|n| n != name), |n| n != name);
            if followed {
                self.whole.insert(name.clone());
            }
            if !wanted.contains(name.as_str()) {
                continue;
            }
            let key = (
                name.clone(),
                r.r#type().as_str().to_string(),
                r.set_identifier().map(String::from),
            );
            if self.seen.insert(key) {
                fresh = true;
                self.records.push(convert_record(zone, name, r));
            }
        }
        fresh
    }
}
