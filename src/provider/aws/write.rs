//! Operations: health checks created, updated and read back, record batches sent and awaited
//! (INSYNC), replication rules written.

use super::*;

impl AwsProvider {
    pub(super) async fn run(&self, op: &Op) -> Result<Done, ProviderError> {
        match op {
            Op::CreateHealthCheck {
                caller_reference,
                config,
            } => self.create_check(caller_reference, config).await,
            Op::TagHealthCheck { id, tags } => {
                let mut req = self
                    .route53
                    .change_tags_for_resource()
                    .resource_type(r53::types::TagResourceType::Healthcheck)
                    .resource_id(id);
                for (k, v) in tags {
                    req = req.add_tags(r53::types::Tag::builder().key(k).value(v).build());
                }
                // Adding a tag again is harmless: a retry after a lost answer is safe.
                self.r53("ChangeTagsForResource", || req.clone().send())
                    .await
                    .map(|_| Done::Other)
            }
            Op::UpdateHealthCheck {
                id,
                version,
                config,
                reset,
            } => self.update_check(id, *version, config, reset).await,
            Op::DeleteHealthCheck { id } => {
                let req = self.route53.delete_health_check().health_check_id(id);
                match self.r53("DeleteHealthCheck", || req.clone().send()).await {
                    // Gone already (a retried request whose answer was lost): as wanted.
                    Ok(_) | Err(ProviderError::NotFound { .. }) => Ok(Done::Other),
                    Err(e) => Err(e),
                }
            }
            Op::ChangeRecords { zone, changes } => self.change_records(zone, changes).await,
            Op::CreateRepository { region, name } => {
                self.count("CreateRepository");
                let created = self
                    .ecr_client(region)
                    .create_repository()
                    .repository_name(name)
                    .send()
                    .await
                    .map_err(|e| sdk_error("CreateRepository", e));
                match created {
                    // Made by a retried request whose answer was lost: it exists, as wanted.
                    Ok(_) | Err(ProviderError::AlreadyExists { .. }) => Ok(Done::Other),
                    Err(e) => Err(e),
                }
            }
            Op::UpdateReplication {
                region,
                add,
                remove,
            } => self.update_replication(region, add, remove).await,
        }
    }

    /// After a wave, one listing settles what its answers left unsure: a delete is done only
    /// when the check is gone (an answer can be lost, or be a 200 that is not Route 53's), and
    /// a create that failed is done when a check with its caller reference exists.
    pub(super) async fn read_back_checks(
        &self,
        ops: &[Op],
        out: &mut [Result<Done, ProviderError>],
    ) {
        let unsure = ops.iter().zip(out.iter()).any(|(op, r)| match op {
            Op::DeleteHealthCheck { .. } => true,
            Op::CreateHealthCheck { .. } => r.is_err(),
            _ => false,
        });
        if !unsure {
            return;
        }
        if self.deletions_read_by_id(ops, out).await {
            return;
        }
        let Ok(live) = self.health_checks().await else {
            return;
        };
        for (op, r) in ops.iter().zip(out.iter_mut()) {
            match op {
                Op::DeleteHealthCheck { id } => {
                    let there = live.iter().any(|h| &h.id == id);
                    *r = match (there, &r) {
                        (false, _) => Ok(Done::Other),
                        (true, Ok(_)) => Err(ProviderError::Io(format!(
                            "DeleteHealthCheck {id} was answered, but the check is still there"
                        ))),
                        (true, Err(e)) => Err(e.clone()),
                    };
                }
                Op::CreateHealthCheck {
                    caller_reference, ..
                } if r.is_err() => {
                    if let Some(h) = live
                        .iter()
                        .find(|h| &h.caller_reference == caller_reference)
                    {
                        *r = Ok(Done::HealthCheck(h.id.clone()));
                    }
                }
                _ => {}
            }
        }
    }

    /// Reads back only deletions, one `GetHealthCheck` each, when they are fewer than the
    /// pages listing the account's checks took (a check replaced among 9,000: 1 call, not 9).
    /// False when the listing is cheaper, or a failed creation needs it.
    async fn deletions_read_by_id(
        &self,
        ops: &[Op],
        out: &mut [Result<Done, ProviderError>],
    ) -> bool {
        let pages = self.check_pages.load(std::sync::atomic::Ordering::Relaxed);
        let deletes = ops
            .iter()
            .filter(|op| matches!(op, Op::DeleteHealthCheck { .. }))
            .count();
        let failed_create = ops
            .iter()
            .zip(out.iter())
            .any(|(op, r)| matches!(op, Op::CreateHealthCheck { .. }) && r.is_err());
        if failed_create || deletes >= pages {
            return false;
        }
        for (op, r) in ops.iter().zip(out.iter_mut()) {
            let Op::DeleteHealthCheck { id } = op else {
                continue;
            };
            let req = self.route53.get_health_check().health_check_id(id);
            *r = match (self.r53("GetHealthCheck", || req.clone().send()).await, &r) {
                (Err(ProviderError::NotFound { .. }), _) => Ok(Done::Other),
                (Ok(_), Ok(_)) => Err(ProviderError::Io(format!(
                    "DeleteHealthCheck {id} was answered, but the check is still there"
                ))),
                (Ok(_), Err(e)) => Err(e.clone()),
                // The read failed: the deletion's own answer stands.
                (Err(_), _) => r.clone(),
            };
        }
        true
    }

    pub(super) async fn create_check(
        &self,
        caller_reference: &str,
        config: &crate::graph::HealthCheckSpec,
    ) -> Result<Done, ProviderError> {
        let req = self
            .route53
            .create_health_check()
            .caller_reference(caller_reference)
            .health_check_config(check_config(config)?);
        // Retrying with the same caller reference returns the same check; one whose first
        // answer was lost and whose settings Route 53 then compares differently answers
        // HealthCheckAlreadyExists: the check is found by its caller reference.
        let id = match self.r53("CreateHealthCheck", || req.clone().send()).await {
            Ok(out) => out
                .health_check()
                .map(|h| h.id().to_string())
                .filter(|id| !id.is_empty())
                .ok_or_else(|| {
                    ProviderError::Io("CreateHealthCheck answered without an id".into())
                })?,
            Err(ProviderError::AlreadyExists { what }) => self
                .health_checks()
                .await?
                .into_iter()
                .find(|h| h.caller_reference == caller_reference)
                .map(|h| h.id)
                .ok_or(ProviderError::AlreadyExists { what })?,
            Err(e) => return Err(e),
        };
        Ok(Done::HealthCheck(id))
    }

    pub(super) async fn update_check(
        &self,
        id: &str,
        version: u64,
        config: &crate::graph::HealthCheckSpec,
        reset: &[String],
    ) -> Result<Done, ProviderError> {
        let mut req = self
            .route53
            .update_health_check()
            .health_check_id(id)
            .health_check_version(to_i64("HealthCheckVersion", version)?)
            .port(i32::from(config.port))
            .failure_threshold(to_i32("FailureThreshold", config.failure_threshold)?)
            .set_fully_qualified_domain_name(config.fqdn.clone())
            .set_ip_address(config.ip_address.clone())
            .set_resource_path(config.resource_path.clone())
            .set_search_string(config.search_string.clone());
        for r in &config.regions {
            req = req.regions(r53::types::HealthCheckRegion::from(r.as_str()));
        }
        for e in reset {
            req = req.reset_elements(r53::types::ResettableElementName::from(e.as_str()));
        }
        // Meridian's checks are never inverted or disabled.
        req = req.inverted(false).disabled(false);
        self.r53("UpdateHealthCheck", || req.clone().send())
            .await
            .map_err(|e| match e {
                ProviderError::Conflict { what, .. } => ProviderError::Conflict {
                    what,
                    expected: version,
                    actual: None,
                },
                other => other,
            })?;
        Ok(Done::Other)
    }

    pub(super) async fn change_records(
        &self,
        zone: &str,
        changes: &[RecordChange],
    ) -> Result<Done, ProviderError> {
        let known = self.zone_ids.lock().ok().and_then(|z| z.get(zone).cloned());
        let zone_id = match known {
            Some(id) => id,
            None => self.zone_id(zone).await?,
        };
        // The batches touch disjoint names, so they go out back to back and are awaited
        // together: one INSYNC wait for the zone, not one per batch.
        let batches = split_batches(changes);
        if let Ok(mut s) = self.batches.lock() {
            s.batches += batches.len();
            s.lower_bound += batch_lower_bound(changes);
        }
        let mut pending = Vec::new();
        let mut insync = true;
        for batch in &batches {
            let sent = match self.send_batch(zone, &zone_id, batch).await {
                // The zone still busy with the batches before, after every retry: wait for
                // them, then send this one again.
                Err(e)
                    if !pending.is_empty() && e.to_string().contains("PriorRequestNotComplete") =>
                {
                    insync &= self.wait_counted(&pending).await;
                    pending.clear();
                    self.send_batch(zone, &zone_id, batch).await?
                }
                other => other?,
            };
            match sent {
                Sent::InSync => {}
                Sent::Pending(id) => pending.push(id),
                Sent::Unknown => insync = false,
            }
        }
        if !pending.is_empty() {
            insync &= self.wait_counted(&pending).await;
        }
        Ok(Done::Records { insync })
    }

    /// One INSYNC wait for these changes (counted); whether INSYNC was seen.
    pub(super) async fn wait_counted(&self, ids: &[String]) -> bool {
        if let Ok(mut s) = self.batches.lock() {
            s.waits += 1;
        }
        match self.wait_insync(ids).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!("{e}");
                false
            }
        }
    }

    /// Sends one change batch. A batch is not idempotent: after a failure that may have been
    /// acted on, what is live decides (applied: done; untouched: sent again; anything else: an
    /// error).
    pub(super) async fn send_batch(
        &self,
        zone: &str,
        zone_id: &str,
        batch: &[&RecordChange],
    ) -> Result<Sent, ProviderError> {
        let mut cb = Vec::new();
        for c in batch {
            cb.push(
                r53::types::Change::builder()
                    .action(r53::types::ChangeAction::from(c.action.as_str()))
                    .resource_record_set(record_set(&c.record)?)
                    .build()
                    .map_err(|e| ProviderError::Invalid(e.to_string()))?,
            );
        }
        let change_batch = r53::types::ChangeBatch::builder()
            .set_changes(Some(cb))
            .build()
            .map_err(|e| ProviderError::Invalid(e.to_string()))?;
        let req = self
            .route53
            .change_resource_record_sets()
            .hosted_zone_id(zone_id)
            .change_batch(change_batch);
        for _ in 0..3 {
            match self
                .r53_with("ChangeResourceRecordSets", false, || req.clone().send())
                .await
            {
                Ok(out) => {
                    return Ok(match out.change_info() {
                        None => Sent::Unknown,
                        Some(i) if *i.status() == r53::types::ChangeStatus::Insync => Sent::InSync,
                        Some(i) => Sent::Pending(i.id().trim_start_matches("/change/").to_string()),
                    });
                }
                Err((e, true)) => match self.batch_state(zone, zone_id, batch).await? {
                    BatchState::Applied => return Ok(Sent::Unknown),
                    BatchState::Untouched => continue,
                    BatchState::Mixed => {
                        return Err(ProviderError::Io(format!(
                            "{e}; read back, the zone holds part of the batch: someone else is changing it. Run `meridian plan`"
                        )))
                    }
                },
                Err((e, false)) => return Err(e),
            }
        }
        Err(ProviderError::Io(format!(
            "ChangeResourceRecordSets for {zone}: every attempt failed without reaching Route 53"
        )))
    }

    /// What the zone shows of a batch whose answer was lost.
    pub(super) async fn batch_state(
        &self,
        zone: &str,
        zone_id: &str,
        batch: &[&RecordChange],
    ) -> Result<BatchState, ProviderError> {
        let live = self.records(zone, zone_id).await?;
        Ok(batch_state(batch, &live))
    }

    /// The account's registry id in `region`, read once.
    pub(super) async fn registry_id(&self, region: &str) -> Result<String, ProviderError> {
        let known = || {
            self.registry_ids
                .lock()
                .ok()
                .and_then(|r| r.get(region).cloned())
        };
        if let Some(id) = known() {
            return Ok(id);
        }
        self.registry(region).await?;
        known().ok_or_else(|| {
            ProviderError::Io(format!("DescribeRegistry in {region} gave no registry id"))
        })
    }

    /// Re-reads the region's configuration, writes it with only this change, and reads it
    /// back: another writer's rule that appeared meanwhile is kept, and a write that another
    /// writer undid at once is made again (at most 3 times). `PutReplicationConfiguration` has
    /// no precondition, so a writer between the read and the write can still be overwritten
    /// within that window (see README).
    pub(super) async fn update_replication(
        &self,
        region: &str,
        add: &[ReplicationRule],
        remove: &[ReplicationRule],
    ) -> Result<Done, ProviderError> {
        for _ in 0..3 {
            let live = self.replication_rules(region).await?;
            let want = crate::provider::updated_rules(&live, add, remove);
            let put = if want == live {
                None
            } else {
                self.put_replication(region, &want).await.err()
            };
            // Read back even after an error: a write whose answer was lost may have landed.
            let now = self.replication_rules(region).await?;
            if add.iter().all(|a| now.contains(a)) && !remove.iter().any(|r| now.contains(r)) {
                return Ok(Done::Other);
            }
            if let Some(e) = put {
                return Err(e);
            }
        }
        Err(ProviderError::Io(format!(
            "ECR replication in {region}: another writer kept changing the configuration; run `meridian plan` again"
        )))
    }

    pub(super) async fn put_replication(
        &self,
        region: &str,
        rules: &[ReplicationRule],
    ) -> Result<Done, ProviderError> {
        let registry = self.registry_id(region).await?;
        let built = rules
            .iter()
            .map(|rule| ecr_rule(rule, &registry))
            .collect::<Result<Vec<_>, _>>()?;
        let conf = ecr::types::ReplicationConfiguration::builder()
            .set_rules(Some(built))
            .build()
            .map_err(|e| ProviderError::Invalid(e.to_string()))?;
        self.count("PutReplicationConfiguration");
        self.ecr_client(region)
            .put_replication_configuration()
            .replication_configuration(conf)
            .send()
            .await
            .map_err(|e| sdk_error("PutReplicationConfiguration", e))?;
        Ok(Done::Other)
    }

    /// Sleeps `pause`, in slices, unless the apply is asked to stop; whether it was.
    pub(super) async fn sleep_unless_stopped(&self, pause: Duration) -> bool {
        let stopped = || {
            self.stop
                .is_some_and(|s| s.load(std::sync::atomic::Ordering::SeqCst))
        };
        let end = Instant::now() + pause;
        while !stopped() {
            let now = Instant::now();
            if now >= end {
                return false;
            }
            tokio::time::sleep((end - now).min(Duration::from_millis(100))).await;
        }
        true
    }

    /// Polls GetChange for each change until all are INSYNC, with growing pauses, at most
    /// the settings' INSYNC timeout in all.
    pub(super) async fn wait_insync(&self, ids: &[String]) -> Result<(), ProviderError> {
        let start = Instant::now();
        let timeout = self.insync_timeout;
        let mut pause = Duration::from_millis(500);
        let mut pending: Vec<&String> = ids.iter().collect();
        while !pending.is_empty() {
            for id in &pending {
                self.report(Progress::Propagating {
                    change_id: (*id).clone(),
                    elapsed: start.elapsed(),
                });
            }
            if self.sleep_unless_stopped(pause).await {
                return Err(ProviderError::Io(format!(
                    "change {} was accepted and is propagating: the apply was interrupted before it reached INSYNC (it completes on its own)",
                    pending[0]
                )));
            }
            let mut still = Vec::new();
            for id in pending {
                let req = self.route53.get_change().id(id);
                let out = self.r53("GetChange", || req.clone().send()).await?;
                if out
                    .change_info()
                    .is_some_and(|c| *c.status() == r53::types::ChangeStatus::Insync)
                {
                    self.report(Progress::InSync {
                        change_id: id.clone(),
                        elapsed: start.elapsed(),
                    });
                } else {
                    still.push(id);
                }
            }
            pending = still;
            if !pending.is_empty() && start.elapsed() > timeout {
                return Err(ProviderError::Io(format!(
                    "change {} was accepted but did not reach INSYNC within {} s; it will complete on its own: run `meridian plan` to see what remains",
                    pending[0],
                    timeout.as_secs()
                )));
            }
            pause = (pause * 2).min(Duration::from_secs(5));
        }
        Ok(())
    }
}

/// What sending a batch came to.
pub(super) enum Sent {
    /// Route 53 said INSYNC at once.
    InSync,
    /// Accepted; this change id is propagating.
    Pending(String),
    /// Applied, but its change id is unknown (an answer lost, then read back).
    Unknown,
}
