//! Record changes packed into Route 53 change batches: each within 1,000 elements and 32,000
//! characters, a name's changes together, in an order Route 53 accepts.

use super::*;

/// What a zone shows of a batch: all of it, none of it, or some (someone else's change).
pub(super) enum BatchState {
    Applied,
    Untouched,
    Mixed,
}

/// What `live` shows of `batch`. A batch is atomic, so each record set is judged by the state
/// the batch leaves it in (its last change: absent after a DELETE, these values after a
/// CREATE or UPSERT), not change by change: a DELETE and CREATE of one key is a replacement.
pub(super) fn batch_state(batch: &[&RecordChange], live: &[RecordSet]) -> BatchState {
    let by_key: BTreeMap<RecordKey, &RecordSet> = live.iter().map(|r| (r.key(), r)).collect();
    let mut end: BTreeMap<RecordKey, Option<&RecordSet>> = BTreeMap::new();
    for c in batch {
        let state = (c.action != ChangeAction::Delete).then_some(&c.record);
        end.insert(c.record.key(), state);
    }
    let reached = end
        .iter()
        .filter(|(key, want)| by_key.get(*key).copied() == **want)
        .count();
    if reached == end.len() {
        BatchState::Applied
    } else if reached == 0 {
        BatchState::Untouched
    } else {
        BatchState::Mixed
    }
}

/// The name a change is batched with: its own, its service's for an ownership marker, and an
/// alias's target's when this list also changes records at that name (an alias to a record of
/// the same zone must not reach Route 53 before its target; one level of aliasing).
pub(super) fn group_name<'a>(c: &'a RecordChange, names: &BTreeSet<(&str, &str)>) -> &'a str {
    let owner = |name: &'a str| {
        let name = name.trim_end_matches('.');
        crate::dns::marker_domain(name).unwrap_or(name)
    };
    match &c.record.alias {
        Some(a) if names.contains(&(c.record.zone.as_str(), a.dns_name.trim_end_matches('.'))) => {
            owner(&a.dns_name)
        }
        _ => owner(&c.record.name),
    }
}

/// What one change costs in a batch: ResourceRecord elements and value characters, an UPSERT
/// counted twice (Route 53's rule).
pub(super) fn batch_cost(c: &RecordChange) -> (usize, usize) {
    let factor = if c.action == ChangeAction::Upsert {
        2
    } else {
        1
    };
    let elements = c.record.values.len().max(1) * factor;
    let chars: usize = c.record.values.iter().map(String::len).sum::<usize>() * factor;
    (elements, chars)
}

/// The fewest batches `changes` can fit in: elements / 1,000 and characters / 32,000,
/// rounded up, whichever is more.
pub fn batch_lower_bound(changes: &[RecordChange]) -> usize {
    let (e, c) = changes
        .iter()
        .map(batch_cost)
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    e.div_ceil(MAX_BATCH_ELEMENTS)
        .max(c.div_ceil(MAX_BATCH_CHARS))
}

/// Splits a zone's changes into batches within Route 53's limits (1,000 ResourceRecord
/// elements and 32,000 value characters, UPSERTs counted twice). Every change at one name, and
/// a service's ownership marker (`_meridian.<name>`) with them, stays in one batch: a name
/// never goes unanswered between batches (a type change, CNAME to A say, deletes and creates
/// together), and a record is never written without its marker. So batches touch disjoint
/// names and may be sent back to back. The groups are packed largest first into the first
/// batch with room (first-fit decreasing).
pub fn split_batches(changes: &[RecordChange]) -> Vec<Vec<&RecordChange>> {
    let names: BTreeSet<(&str, &str)> = changes
        .iter()
        .map(|c| (c.record.zone.as_str(), c.record.name.trim_end_matches('.')))
        .collect();
    let mut by_name: BTreeMap<(&str, &str), Vec<&RecordChange>> = BTreeMap::new();
    for c in changes {
        by_name
            .entry((c.record.zone.as_str(), group_name(c, &names)))
            .or_default()
            .push(c);
    }
    let mut groups: Vec<(usize, usize, Vec<&RecordChange>)> = Vec::new();
    for (_, g) in by_name {
        let (e, c) = g
            .iter()
            .map(|c| batch_cost(c))
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        let deletes = g.iter().any(|c| c.action == ChangeAction::Delete);
        if (e > MAX_BATCH_ELEMENTS || c > MAX_BATCH_CHARS) && !deletes {
            // Too big for one batch and nothing deleted: its changes go one by one.
            groups.extend(g.into_iter().map(|c| {
                let (e, ch) = batch_cost(c);
                (e, ch, vec![c])
            }));
        } else {
            groups.push((e, c, g));
        }
    }
    // Largest first, by the larger of its two shares of a batch; ties keep name order.
    let share = |e: usize, c: usize| (e * MAX_BATCH_CHARS).max(c * MAX_BATCH_ELEMENTS);
    groups.sort_by_key(|g| std::cmp::Reverse(share(g.0, g.1)));
    let mut out: Vec<(usize, usize, Vec<&RecordChange>)> = Vec::new();
    for (e, c, g) in groups {
        let fits = out
            .iter()
            .position(|b| b.0 + e <= MAX_BATCH_ELEMENTS && b.1 + c <= MAX_BATCH_CHARS);
        match fits {
            Some(i) => {
                out[i].0 += e;
                out[i].1 += c;
                out[i].2.extend(g);
            }
            None => out.push((e, c, g)),
        }
    }
    // Route 53 applies a batch's changes in order: deletes first, aliases after the targets
    // it creates and before those it deletes (route53_order).
    out.into_iter()
        .map(|(_, _, b)| route53_order(&b).into_iter().map(|i| b[i]).collect())
        .collect()
}

/// The order in which Route 53 applies a batch of one zone's record changes safely, as indices
/// into `batch`: Route 53 checks a batch's changes in order, so an alias must come after the
/// records at its target name that the batch creates or updates, and before those it deletes.
/// Deletes go first (a type change frees its name before the new type arrives), aliases before
/// their targets; then creates and updates, targets before the aliases that point at them,
/// down chains of aliases (a tree's latency alias -> failover pair -> nested pair). Stable
/// otherwise.
pub(super) fn route53_order(batch: &[&RecordChange]) -> Vec<usize> {
    let mut at_name: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
    for (i, c) in batch.iter().enumerate() {
        at_name
            .entry((&c.record.zone, c.record.name.trim_end_matches('.')))
            .or_default()
            .push(i);
    }
    // How deep each change sits in a chain of aliases to names this batch changes the same
    // way (deletes with deletes, writes with writes); a loop stops at the batch's size.
    fn depth(
        i: usize,
        batch: &[&RecordChange],
        at_name: &BTreeMap<(&str, &str), Vec<usize>>,
        hops: usize,
    ) -> usize {
        let c = batch[i];
        let Some(a) = &c.record.alias else { return 0 };
        let target = (c.record.zone.as_str(), a.dns_name.trim_end_matches('.'));
        let deleting = c.action == ChangeAction::Delete;
        match at_name.get(&target) {
            Some(js) if hops < batch.len() => js
                .iter()
                .filter(|j| (batch[**j].action == ChangeAction::Delete) == deleting)
                .map(|j| 1 + depth(*j, batch, at_name, hops + 1))
                .max()
                .unwrap_or(0),
            _ => 0,
        }
    }
    let mut order: Vec<(bool, i64, usize)> = (0..batch.len())
        .map(|i| {
            let d = depth(i, batch, &at_name, 0) as i64;
            match batch[i].action {
                ChangeAction::Delete => (false, -d, i),
                _ => (true, d, i),
            }
        })
        .collect();
    order.sort_unstable();
    order.into_iter().map(|(_, _, i)| i).collect()
}
