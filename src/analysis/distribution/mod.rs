//! Recovery as users live it: for each region loss, when a share of the lost region's
//! TTL-honouring clients is served again (P50, P90, P99), beside the floor.
//!
//! The model, each part as docs/aws-facts.md gives it:
//! - Detection: Route 53's checkers (16 by default, observed rather than documented) probe
//!   independently every `interval` with random phases; a checker flips after `threshold`
//!   consecutive failures, and the endpoint is unhealthy when 18 % or fewer report healthy:
//!   when the k-th checker has flipped, k = n - floor(0.18 n) (14 of 16). A checker whose
//!   phase is U (uniform in [0, 1) of an interval) flips at `(threshold - 1) x interval + U x
//!   interval` after a fast failure, and also the connect timeout later when the region goes
//!   dark (each probe fails only when it times out). The k-th of n uniform phases follows
//!   Beta(k, n - k + 1).
//! - Then a client is served again once its cached answer expires (the remaining TTL of its
//!   cache, uniform over the TTL for TTL-honouring clients) and the recovery's other steps
//!   (promotion, scale-up, at their declared single values) are done.
//!
//! So a client's recovery time is `D + max(R, c)`, D the detection, R ~ U(0, TTL), c the
//! slowest other step: its distribution is computed exactly (numerical integration over the
//! order statistic's density), not simulated: the same numbers on every machine. It never
//! exceeds the floor (`threshold x interval + max(TTL, c)`) and reaches it. Clients that keep
//! answers longer than the TTL are their own share, not in these figures.

pub mod brownout;
pub mod waits;

use super::rto::{RegionLoss, StepKind};
use super::Analysis;
use crate::model::{HealthCheck, HealthCheckType, Service, Topology};
use serde::Serialize;
use std::collections::BTreeMap;
use std::rc::Rc;

/// Route 53 checkers probing one endpoint (observed: 16 by default across the 8 checker
/// regions; not a documented figure).
pub const CHECKERS: u32 = 16;
/// An endpoint is unhealthy when this share of checkers or fewer report it healthy.
pub const HEALTHY_SHARE: f64 = 0.18;
/// Resolvers that extend TTLs (docs/aws-facts.md): their clients are not in the figures.
pub const TTL_EXTENDERS: f64 = 0.087;

/// The model's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Model {
    pub checkers: u32,
    pub healthy_share: f64,
    /// A client-side DNS cache beside the TTL, reported as its own share (JVMs: 30 s by
    /// default); 0 for none.
    pub client_cache_seconds: f64,
    /// The brown-out's error rate, when one is asked for.
    pub error_rate: Option<f64>,
    /// A brown-out not failed over by then is "not detected".
    pub horizon_seconds: f64,
    /// A declared extension of the TTL by the resolvers that extend it (from one's own
    /// measurement: the cited one gives their share, not how long): their own figure.
    pub ttl_extension_seconds: Option<f64>,
    /// Draw promotion, decision and scale-up from their declared ranges (false: the typical
    /// values, as the floor).
    pub ranges: bool,
    /// Simulated runs of a brown-out, and the seed of the first.
    pub trials: u32,
    pub seed: u64,
}

/// A JVM caches a resolved address 30 s by default (`networkaddress.cache.ttl`, no security
/// manager; docs/aws-facts.md).
pub const JVM_CACHE_SECONDS: f64 = 30.0;
/// A brown-out undetected for an hour is reported as not detected.
pub const HORIZON_SECONDS: f64 = 3600.0;
pub const TRIALS: u32 = 10_000;
pub const SEED: u64 = 1;

impl Default for Model {
    fn default() -> Model {
        Model {
            checkers: CHECKERS,
            healthy_share: HEALTHY_SHARE,
            client_cache_seconds: JVM_CACHE_SECONDS,
            error_rate: None,
            horizon_seconds: HORIZON_SECONDS,
            ttl_extension_seconds: None,
            ranges: true,
            trials: TRIALS,
            seed: SEED,
        }
    }
}

impl Model {
    /// How many checkers must have flipped for the endpoint to be unhealthy.
    pub fn flipped_needed(&self) -> u32 {
        let healthy = (f64::from(self.checkers) * self.healthy_share).floor() as u32;
        self.checkers - healthy.min(self.checkers - 1)
    }
}

/// How the lost region fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Probes fail at once (connection refused, 5xx).
    Fast,
    /// Probes fail only when they time out (the region is unreachable).
    Dark,
    /// The region answers, but a share of requests and probes fail (`--error-rate`).
    Brownout,
}

/// The share of clients served again by a time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Percentiles {
    /// None: that share is not served again within the horizon (a brown-out not detected).
    pub p50_seconds: Option<f64>,
    pub p90_seconds: Option<f64>,
    pub p99_seconds: Option<f64>,
}

impl Percentiles {
    const ZERO: Percentiles = Percentiles {
        p50_seconds: Some(0.0),
        p90_seconds: Some(0.0),
        p99_seconds: Some(0.0),
    };

    fn pick(&self, p: crate::model::Percentile) -> Option<f64> {
        match p {
            crate::model::Percentile::P50 => self.p50_seconds,
            crate::model::Percentile::P90 => self.p90_seconds,
            crate::model::Percentile::P99 => self.p99_seconds,
        }
    }

    fn of(q: impl Fn(f64) -> Option<f64>) -> Percentiles {
        Percentiles {
            p50_seconds: q(0.50),
            p90_seconds: q(0.90),
            p99_seconds: q(0.99),
        }
    }
}

/// Clients that cache DNS longer than the TTL on their own (a JVM): their own figure, not in
/// the percentiles, since their share of the users is not known.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CachedClients {
    pub cache_seconds: f64,
    pub p50_seconds: Option<f64>,
    pub p99_seconds: Option<f64>,
    /// The last of them (the floor with the cache in place of a shorter TTL); None for a
    /// brown-out (its detection has no last).
    pub worst_seconds: Option<f64>,
}

/// A brown-out's simulated detection.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BrownoutDetection {
    pub error_rate: f64,
    /// Runs not failed over within the horizon.
    pub undetected_share: f64,
    /// The standard error of a share estimated from the runs (at most 0.5 / sqrt(trials)).
    pub standard_error: f64,
    /// Once the brown-out is steady, the share of time Route 53 holds the region out: below 1,
    /// traffic flaps back to it (the percentiles are the first failover).
    pub steady_out_share: f64,
}

/// One region loss under one failure mode.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LossDistribution {
    pub region: String,
    pub mode: Mode,
    /// The floor of the same loss and mode (the worst case of the model's inputs).
    pub floor_seconds: Option<f64>,
    /// When a share of the TTL-honouring clients is served again; None when not modelled.
    pub percentiles: Option<Percentiles>,
    /// The mean time to detection.
    pub mean_detection_seconds: Option<f64>,
    /// The share of TTL-honouring clients still failing when the RTO objective runs out.
    pub failing_at_objective: Option<f64>,
    /// The checkers this loss's detection counts on, and how many must flip.
    pub checkers: Option<u32>,
    pub flipped_needed: Option<u32>,
    /// Why there are no percentiles, when there are none.
    pub unknown: Option<String>,
    /// Clients with their own DNS cache (`client_cache_seconds`), when it is on.
    pub cached_clients: Option<CachedClients>,
    /// Clients behind resolvers that extend the TTL by the declared extension, when declared.
    pub extended_ttl: Option<CachedClients>,
    /// Where a step declares a range: the slowest recovery over it (the floor takes the
    /// typical values, so the percentiles may pass it).
    pub range_worst_seconds: Option<f64>,
    /// The simulated detection (brown-out only).
    pub brownout: Option<BrownoutDetection>,
}

/// A service's losses.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceDistribution {
    pub losses: Vec<LossDistribution>,
}

/// Every service's distribution, and what the figures leave out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Distribution {
    pub format_version: u32,
    pub model: Model,
    /// Checkers that must have flipped: n - floor(0.18 n).
    pub flipped_needed: u32,
    pub services: BTreeMap<String, ServiceDistribution>,
    /// The share of clients behind resolvers that extend TTLs, whose time is not in the
    /// figures (unknown: they keep the lost region's answer past its TTL).
    pub ttl_extenders_share: f64,
    pub notes: Vec<String>,
}

/// What one run of `distribution` shares between losses: the integration grids by (k, n),
/// a brown-out's runs by their inputs, the objective.
struct Shared<'a> {
    m: &'a Model,
    grids: std::cell::RefCell<BTreeMap<(u32, u32), Rc<Grid>>>,
    runs: std::cell::RefCell<BTreeMap<[u64; 8], Rc<Vec<f64>>>>,
    objective: Option<f64>,
}

impl Shared<'_> {
    fn grid(&self, k: u32, n: u32) -> Rc<Grid> {
        let mut grids = self.grids.borrow_mut();
        grids
            .entry((k, n))
            .or_insert_with(|| Rc::new(Grid::new(k, n)))
            .clone()
    }

    fn runs(&self, b: &brownout::Brownout) -> Rc<Vec<f64>> {
        let mut runs = self.runs.borrow_mut();
        runs.entry(b.key())
            .or_insert_with(|| Rc::new(b.detections()))
            .clone()
    }
}

/// The distributions of every region loss the analysis has a floor for.
pub fn distribution(t: &Topology, a: &Analysis, m: &Model) -> Distribution {
    let modes: &[Mode] = if m.error_rate.is_some() {
        &[Mode::Fast, Mode::Dark, Mode::Brownout]
    } else {
        &[Mode::Fast, Mode::Dark]
    };
    Distribution {
        format_version: 2,
        model: *m,
        flipped_needed: m.flipped_needed(),
        services: of_services(t, &a.services, m, modes),
        ttl_extenders_share: TTL_EXTENDERS,
        notes: notes(m),
    }
}

fn of_services(
    t: &Topology,
    services: &BTreeMap<String, super::ServiceAnalysis>,
    m: &Model,
    modes: &[Mode],
) -> BTreeMap<String, ServiceDistribution> {
    let shared = Shared {
        m,
        grids: std::cell::RefCell::default(),
        runs: std::cell::RefCell::default(),
        objective: t
            .objectives
            .as_ref()
            .and_then(|o| o.rto)
            .map(|d| d.as_secs_f64()),
    };
    services
        .iter()
        .map(|(name, sa)| {
            let s = t.services.get(name);
            let losses = sa
                .region_losses
                .iter()
                .flat_map(|l| {
                    let check = s.map_or(Ok(None), |s| lost_check(s, l));
                    modes.iter().map(move |&mode| (l, check.clone(), mode))
                })
                .map(|(l, check, mode)| loss(l, check, mode, &shared))
                .collect();
            (name.clone(), ServiceDistribution { losses })
        })
        .collect()
}

/// A service's slowest loss under one failure mode, per percentile: its percentile, or its
/// floor where a loss has no distribution (never less than the percentile); None where a loss
/// has no floor either.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slowest {
    pub seconds: [Option<f64>; 3],
    /// Some loss has no distribution: its floor stands in.
    pub fell_back: bool,
}

impl Slowest {
    pub fn of(&self, p: crate::model::Percentile) -> Option<f64> {
        let i = crate::model::Percentile::ALL
            .iter()
            .position(|x| *x == p)
            .unwrap_or(0);
        self.seconds[i]
    }
}

/// Every service's [`Slowest`] under the RTO case's failure (fast or dark), with the default
/// model and TTL-honouring clients: what an RTO objective with a percentile gates on, and what
/// `compare` shows.
pub fn slowest(
    t: &Topology,
    services: &BTreeMap<String, super::ServiceAnalysis>,
    case: crate::model::RtoCase,
) -> BTreeMap<String, Slowest> {
    let mode = match case {
        crate::model::RtoCase::Fast => Mode::Fast,
        crate::model::RtoCase::Dark => Mode::Dark,
    };
    let m = Model {
        client_cache_seconds: 0.0,
        ..Model::default()
    };
    of_services(t, services, &m, &[mode])
        .into_iter()
        .map(|(name, sd)| {
            let fell_back = sd.losses.iter().any(|l| l.percentiles.is_none());
            let seconds = crate::model::Percentile::ALL.map(|p| {
                sd.losses.iter().try_fold(0.0_f64, |acc, l| {
                    let figure = match &l.percentiles {
                        Some(x) => x.pick(p),
                        None => l.floor_seconds,
                    };
                    figure.map(|f| acc.max(f))
                })
            });
            (name, Slowest { seconds, fell_back })
        })
        .collect()
}

fn notes(m: &Model) -> Vec<String> {
    let mut notes = vec![
        format!("{} checkers per endpoint (observed, not documented), unhealthy when {} have flipped (18 % or fewer healthy)", m.checkers, m.flipped_needed()),
        match m.ttl_extension_seconds {
            Some(e) => format!("clients behind resolvers that extend TTLs (about {:.1} %) are their own figure, with the declared extension of {e:.0} s (--ttl-extension): the cited measurement gives their share, not how long", TTL_EXTENDERS * 100.0),
            None => format!("clients behind resolvers that extend TTLs (about {:.1} %) are not in the percentiles: no sourced distribution of how long they extend, so their time is unknown (declare one from your own measurement with --ttl-extension)", TTL_EXTENDERS * 100.0),
        },
        if m.ranges {
            "promotion and scale-up at their declared values, or where a range is declared (`promotion_min`/`_max`, `scale_up_min`/`_max`, `decision_time_min`/`_max`) drawn from a triangular distribution over (min, typical, max): then the percentiles may pass the floor, which takes the typical value. Every client waits for the slowest step (the floor's assumption; where the lost users split across takers that need different steps, the lower percentiles are overstated)".into()
        } else {
            "promotion and scale-up at their typical values, as the floor takes them, whatever ranges are declared (--no-ranges). Every client waits for the slowest step (the floor's assumption; where the lost users split across takers that need different steps, the lower percentiles are overstated)".into()
        },
        "a check that names its checker regions has about 2 checkers per region; a dark region's probe takes the interval and the connect timeout, as the floor's".into(),
    ];
    if m.client_cache_seconds > 0.0 {
        notes.push(format!("clients that cache DNS {:.0} s on their own (a JVM's default) are their own figure, not in the percentiles: their share of the users is not known (--client-cache 0s: off)", m.client_cache_seconds));
    }
    if let Some(e) = m.error_rate {
        notes.push(format!("brown-out at {:.0} % errors: {} simulated runs from seed {} (the same numbers everywhere), probes failing independently and fast; not failed over within {:.0} s is not detected. The percentiles are the first failover: where the steady out-share is below 100 %, Route 53 sends traffic back to the sick region at times. `simulate --degrade` and lint SS008 call a check tripped when a checker is unhealthy 82 % of the time on average; Route 53 counts checkers at each moment, so a brown-out below that rate can still fail over now and then", e * 100.0, m.trials, m.seed, m.horizon_seconds));
    }
    notes
}

fn floor_of(l: &RegionLoss, mode: Mode) -> Option<crate::duration::Duration> {
    match mode {
        Mode::Fast => l.floor_seconds,
        Mode::Dark => l.dark_floor_seconds,
        Mode::Brownout => None,
    }
}

/// What detects a loss, as the model knows it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Detector<'a> {
    Route53(&'a HealthCheck),
    /// A Global Accelerator's own checks of EC2 and Elastic IP endpoints: how many probe is
    /// not documented, so one prober at a uniform phase (its worst case is the floor's).
    Accelerator {
        interval: u32,
        threshold: u32,
    },
}

/// What detects loss `l` (None: something the model does not cover, or nothing); an error
/// when the regions lost together have different checks (the floor takes the slowest; the
/// distribution of the slowest of several is not modelled).
fn lost_check<'a>(s: &'a Service, l: &RegionLoss) -> Result<Option<Detector<'a>>, String> {
    if let Some(a) = s.anycast.as_ref().filter(|x| x.accelerator.is_some()) {
        let own = l.labels.iter().all(|n| {
            s.regions
                .get(n)
                .is_some_and(|r| matches!(r.endpoint, crate::model::Endpoint::Ips(_)))
        });
        return Ok(own.then_some(Detector::Accelerator {
            interval: a.interval,
            threshold: a.threshold,
        }));
    }
    let mut checks = l.labels.iter().filter_map(|n| s.check(s.regions.get(n)?));
    let first = checks.next();
    match checks.find(|h| Some(*h) != first) {
        Some(_) => Err(
            "the regions lost together have different health checks: the floor (the slowest) only"
                .into(),
        ),
        None => Ok(first.map(Detector::Route53)),
    }
}

fn loss(
    l: &RegionLoss,
    check: Result<Option<Detector>, String>,
    mode: Mode,
    shared: &Shared,
) -> LossDistribution {
    let mut out = LossDistribution {
        region: l.region.clone(),
        mode,
        floor_seconds: floor_of(l, mode).map(|d| d.as_secs_f64()),
        percentiles: None,
        mean_detection_seconds: None,
        failing_at_objective: None,
        checkers: None,
        flipped_needed: None,
        unknown: None,
        cached_clients: None,
        extended_ttl: None,
        range_worst_seconds: None,
        brownout: None,
    };
    // The model's timeline must be the floor's (its detection and steps): a loss whose floor
    // follows another path (a failover_to tree) shows the floor only. A brown-out's waits
    // after detection are the fast failure's.
    let timed_as = if mode == Mode::Brownout {
        Mode::Fast
    } else {
        mode
    };
    let timed = timing(l, check, timed_as, shared.m).and_then(|x| match (x, floor_of(l, timed_as)) {
        (Some(t), Some(f)) if (t.floor_without_cache() - f.as_secs_f64()).abs() > 0.001 => {
            Err(format!("its floor follows another path than detection, then the TTL or the slowest step ({:.0} s against {:.0} s): the floor only", f.as_secs_f64(), t.floor_without_cache()))
        }
        (x, _) => Ok(x),
    });
    match timed {
        Ok(Some(x)) if mode == Mode::Brownout => brownout_figures(&mut out, &x, shared),
        Ok(Some(x)) => analytic_figures(&mut out, &x, shared),
        // Nothing to recover: the lost region served no traffic.
        Ok(None) => {
            out.percentiles = Some(Percentiles::ZERO);
            out.failing_at_objective = shared.objective.map(|_| 0.0);
        }
        Err(why) => {
            // No recovery: every client of the lost region is still failing at any objective.
            let none = l
                .unknown
                .as_ref()
                .is_some_and(|u| u.kind == super::rto::UnknownKind::NoRecovery);
            out.failing_at_objective = shared.objective.filter(|_| none).map(|_| 1.0);
            out.unknown = Some(why);
        }
    }
    out
}

/// Fast failure and dark region: the order statistic, integrated.
fn analytic_figures(out: &mut LossDistribution, x: &Timing, shared: &Shared) {
    let grid = shared.grid(x.k, x.n);
    out.range_worst_seconds = x.waits.as_ref().map(|_| x.floor());
    out.mean_detection_seconds = Some(x.mean_detection());
    (out.checkers, out.flipped_needed) = (Some(x.n), Some(x.k));
    out.percentiles = Some(Percentiles::of(|p| Some(x.quantile(&grid, p))));
    out.failing_at_objective = shared.objective.map(|o| 1.0 - x.cdf(&grid, o));
    let own = |t: &Timing| {
        (
            Some(t.quantile(&grid, 0.5)),
            Some(t.quantile(&grid, 0.99)),
            Some(t.floor()),
        )
    };
    own_figures(out, x, shared.m, own);
}

/// The clients counted apart, each with its own figure: those caching DNS themselves, and
/// those behind resolvers extending the TTL by a declared time. `figure` gives P50, P99 and
/// the last of a timing.
fn own_figures(
    out: &mut LossDistribution,
    x: &Timing,
    m: &Model,
    figure: impl Fn(&Timing) -> (Option<f64>, Option<f64>, Option<f64>),
) {
    if !x.via_dns {
        return;
    }
    let of = |extra: f64, t: Timing| {
        let (p50_seconds, p99_seconds, worst_seconds) = figure(&t);
        CachedClients {
            cache_seconds: extra,
            p50_seconds,
            p99_seconds,
            worst_seconds,
        }
    };
    let cache = m.client_cache_seconds;
    if cache > 0.0 {
        let t = Timing {
            client_cache: cache,
            ..x.clone()
        };
        out.cached_clients = Some(of(cache, t));
    }
    if let Some(e) = m.ttl_extension_seconds.filter(|e| *e > 0.0) {
        let t = Timing {
            ttl: x.ttl + e,
            ..x.clone()
        };
        out.extended_ttl = Some(of(e, t));
    }
}

/// A brown-out: the simulated first failover, then the same waits.
fn brownout_figures(out: &mut LossDistribution, x: &Timing, shared: &Shared) {
    let m = shared.m;
    let error_rate = m.error_rate.unwrap_or(1.0);
    let b = brownout::Brownout {
        error_rate,
        threshold: x.threshold,
        interval: x.interval,
        k: x.k,
        n: x.n,
        horizon: m.horizon_seconds,
        trials: m.trials,
        seed: m.seed,
    };
    let runs = shared.runs(&b);
    let sampled = Sampled {
        runs: &runs,
        trials: m.trials,
        wait: x,
    };
    (out.checkers, out.flipped_needed) = (Some(x.n), Some(x.k));
    out.mean_detection_seconds =
        (!runs.is_empty()).then(|| runs.iter().sum::<f64>() / runs.len() as f64);
    out.percentiles = Some(Percentiles::of(|p| sampled.quantile(p)));
    out.failing_at_objective = shared.objective.map(|o| 1.0 - sampled.cdf(o));
    let detected = runs.len() as f64 / f64::from(m.trials.max(1));
    out.brownout = Some(BrownoutDetection {
        error_rate,
        undetected_share: 1.0 - detected,
        standard_error: (detected * (1.0 - detected) / f64::from(m.trials.max(1))).sqrt(),
        steady_out_share: super::detection::steady_out_share(error_rate, x.threshold, x.n, x.k),
    });
    let own = |t: &Timing| {
        let s = Sampled { wait: t, ..sampled };
        (s.quantile(0.5), s.quantile(0.99), None)
    };
    own_figures(out, x, m, own);
}

/// Simulated detections (sorted), then each client's wait as `wait` has it.
#[derive(Clone, Copy)]
struct Sampled<'a> {
    runs: &'a [f64],
    trials: u32,
    wait: &'a Timing,
}

impl Sampled<'_> {
    /// The share of clients served again by `t`: only runs detected by `t - other` count, and
    /// those more than the longest wait before are wholly served.
    fn cdf(&self, t: f64) -> f64 {
        let w = self.wait;
        let longest = (w.ttl + w.client_cache).max(w.other_bounds().1);
        let whole = self.runs.partition_point(|d| *d <= t - longest);
        let open = self.runs.partition_point(|d| *d <= t - w.other_bounds().0);
        let partial: f64 = self.runs[whole.min(open)..open]
            .iter()
            .map(|d| w.after(t - d))
            .sum();
        ((whole.min(open) as f64 + partial) / f64::from(self.trials.max(1))).clamp(0.0, 1.0)
    }

    /// None when fewer than `p` of the clients are served within the horizon.
    fn quantile(&self, p: f64) -> Option<f64> {
        let (first, last) = (*self.runs.first()?, *self.runs.last()?);
        let w = self.wait;
        let hi = last + (w.ttl + w.client_cache).max(w.other_bounds().1);
        (self.cdf(hi) >= p - 1e-12).then(|| bisect(first, hi, p, |t| self.cdf(t)))
    }
}

/// The time by which a share `p` is served, to a millisecond by bisection on the CDF; shown to
/// a tenth of a second.
fn bisect(mut lo: f64, mut hi: f64, p: f64, cdf: impl Fn(f64) -> f64) -> f64 {
    while hi - lo > 0.001 {
        let mid = (lo + hi) / 2.0;
        if cdf(mid) >= p {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    (hi * 10.0).round() / 10.0
}

/// A loss's recovery time: `base + interval x B + max(R, c)`, B the k-th of n uniform phases,
/// R uniform over the TTL.
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    /// `(threshold - 1) x interval`, plus the connect timeout when dark.
    pub base: f64,
    pub interval: f64,
    pub ttl: f64,
    /// The slowest other step (promotion, scale-up), at its typical value.
    pub other: f64,
    /// The other steps as drawn, where one declares a range (None: `other` every time).
    pub waits: Option<Rc<waits::StepCdf>>,
    /// A client's own DNS cache beside the resolver's TTL (0: none, TTL-honouring clients).
    pub client_cache: f64,
    /// Clients move by a new DNS answer (false behind an accelerator: its addresses stay, so a
    /// client's own cache changes nothing).
    pub via_dns: bool,
    pub threshold: u32,
    pub k: u32,
    pub n: u32,
}

/// The timing of a loss, None when the lost region served no traffic; Err when the model
/// does not cover its detection or an input is unknown.
fn timing(
    l: &RegionLoss,
    check: Result<Option<Detector>, String>,
    mode: Mode,
    m: &Model,
) -> Result<Option<Timing>, String> {
    if let Some(u) = &l.unknown {
        return Err(u.reason.clone());
    }
    // Nothing for users to wait for (a region serving no traffic, a witness's vote).
    if l.floor_seconds.is_some_and(|f| f.as_millis() == 0)
        || (!l.carries_traffic && !l.holds_writes)
    {
        return Ok(None);
    }
    let Some(detector) = check? else {
        return Err("detected by something other than a Route 53 health check or an accelerator's own checks (a load balancer behind the accelerator, an alias's target): the floor only".into());
    };
    let step = |k: StepKind| {
        l.steps
            .iter()
            .filter(|s| s.kind == k)
            .map(|s| s.seconds.map(|d| d.as_secs_f64()))
            .collect::<Option<Vec<f64>>>()
    };
    let waits = drawn_waits(l).filter(|_| m.ranges);
    let (Some(ttl), Some(promotion), Some(scale)) = (
        step(StepKind::TrafficShift),
        step(StepKind::Promotion),
        step(StepKind::ScaleUp),
    ) else {
        return Err("a step of the recovery has no known duration".into());
    };
    let (interval, threshold, timeout, (k, n)) = match detector {
        Detector::Route53(h) => (
            h.interval,
            h.failure_threshold,
            match (mode, h.kind) {
                (Mode::Fast | Mode::Brownout, _) => 0.0,
                (Mode::Dark, HealthCheckType::Tcp) => 10.0,
                (Mode::Dark, _) => 4.0,
            },
            checkers(h, m),
        ),
        // Its probe timeout is not documented either: the floor counts none.
        Detector::Accelerator {
            interval,
            threshold,
        } => (interval, threshold, 0.0, (1, 1)),
    };
    let interval = f64::from(interval);
    // As the floor does, a dark region's probe takes the interval and the connect timeout:
    // the last of `threshold` probes fails `timeout` after it was sent.
    let cycle = interval + timeout;
    Ok(Some(Timing {
        base: f64::from(threshold.saturating_sub(1)) * cycle + timeout,
        interval,
        ttl: ttl.into_iter().fold(0.0, f64::max),
        other: promotion.into_iter().chain(scale).fold(0.0, f64::max),
        waits,
        client_cache: 0.0,
        via_dns: matches!(detector, Detector::Route53(_)),
        threshold,
        k,
        n,
    }))
}

/// The promotion and scale-up steps as drawn, when one declares a range: the slowest of them.
fn drawn_waits(l: &RegionLoss) -> Option<Rc<waits::StepCdf>> {
    let others = || {
        l.steps
            .iter()
            .filter(|s| matches!(s.kind, StepKind::Promotion | StepKind::ScaleUp))
    };
    others().any(|s| s.spread.is_some()).then(|| {
        Rc::new(waits::StepCdf::Max(
            others()
                .map(|s| match &s.spread {
                    Some(x) => waits::StepCdf::of(x),
                    None => waits::StepCdf::At(s.seconds.map_or(0.0, |d| d.as_secs_f64())),
                })
                .collect(),
        ))
    })
}

/// The checkers of `h` and how many must flip: the model's, or about 2 per checker region when
/// the check names its regions (16 across all 8, observed).
fn checkers(h: &HealthCheck, m: &Model) -> (u32, u32) {
    let n = if h.regions.is_empty() {
        m.checkers
    } else {
        2 * u32::try_from(h.regions.len()).unwrap_or(8)
    };
    let model = Model { checkers: n, ..*m };
    (model.flipped_needed(), n)
}

/// Steps of the numerical integration over the order statistic's density.
const GRID: u32 = 4000;

/// The order statistic's density on the integration grid (midpoints), weighted: computed once
/// per model, shared by every loss.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    /// (b, density(b) x step) at each midpoint.
    points: Vec<(f64, f64)>,
}

impl Grid {
    /// The k-th of n uniform order statistics: Beta(k, n - k + 1).
    pub fn new(k: u32, n: u32) -> Grid {
        let (kf, nf) = (f64::from(k), f64::from(n));
        let ln_norm = ln_factorial(n) - ln_factorial(k - 1) - ln_factorial(n - k);
        let h = 1.0 / f64::from(GRID);
        let points = (0..GRID)
            .map(|i| {
                let b = (f64::from(i) + 0.5) * h;
                let d = (ln_norm + (kf - 1.0) * b.ln() + (nf - kf) * (1.0 - b).ln()).exp();
                (b, d * h)
            })
            .collect();
        Grid { points }
    }
}

impl Timing {
    /// The share of clients served again `x` after detection: the other steps are done, and
    /// both the resolver's cached answer (uniform over the TTL) and the client's own cache
    /// (uniform over it) have expired.
    fn after(&self, x: f64) -> f64 {
        // A client that caches on its own asks its resolver again when its entry expires (at
        // a uniform phase of its cache time) and keeps what it gets that long again: until the
        // resolver's entry has expired it gets the lost answer back. So its wait is the
        // resolver's remaining TTL plus a uniform share of its own cache time, not the larger.
        let dns = sum_of_uniforms(x, self.ttl, self.client_cache);
        let steps = match &self.waits {
            Some(w) => w.cdf(x),
            None => f64::from(u8::from(x >= self.other)),
        };
        if steps == 0.0 {
            return 0.0;
        }
        steps * dns
    }

    /// The fastest and slowest the other steps can take.
    fn other_bounds(&self) -> (f64, f64) {
        self.waits
            .as_ref()
            .map_or((self.other, self.other), |w| w.bounds())
    }

    /// The share of clients served again by `t`: detection, then their caches and the other
    /// steps.
    pub fn cdf(&self, grid: &Grid, t: f64) -> f64 {
        let sum: f64 = grid
            .points
            .iter()
            .map(|(b, w)| w * self.after(t - self.base - self.interval * b))
            .sum();
        sum.clamp(0.0, 1.0)
    }

    /// The time by which a share `p` of the clients is served again.
    pub fn quantile(&self, grid: &Grid, p: f64) -> f64 {
        bisect(self.base, self.floor(), p, |t| self.cdf(grid, t))
    }

    /// The worst case: every checker's phase a whole interval, every cache a whole TTL.
    /// With a declared range, the slowest the steps can take; with a client cache, the TTL
    /// and that cache one after the other.
    pub fn floor(&self) -> f64 {
        self.base + self.interval + (self.ttl + self.client_cache).max(self.other_bounds().1)
    }

    /// The floor of TTL-honouring clients (the analysis's).
    fn floor_without_cache(&self) -> f64 {
        self.base + self.interval + self.ttl.max(self.other)
    }

    /// The mean detection: `base + interval x k / (n + 1)`.
    pub fn mean_detection(&self) -> f64 {
        self.base + self.interval * f64::from(self.k) / f64::from(self.n + 1)
    }
}

/// P(U(0, a) + U(0, b) <= x): a trapezoid (a uniform when either is 0, a step at 0 when both).
fn sum_of_uniforms(x: f64, a: f64, b: f64) -> f64 {
    let (a, b) = (a.max(b), a.min(b));
    if x <= 0.0 {
        return f64::from(u8::from(a <= 0.0 && x >= 0.0));
    }
    if x >= a + b {
        return 1.0;
    }
    if b <= 0.0 {
        return x / a;
    }
    if x <= b {
        x * x / (2.0 * a * b)
    } else if x <= a {
        (x - b / 2.0) / a
    } else {
        1.0 - (a + b - x) * (a + b - x) / (2.0 * a * b)
    }
}

fn ln_factorial(n: u32) -> f64 {
    (2..=n).map(|i| f64::from(i).ln()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Grid {
        Grid::new(14, 16)
    }

    /// 16 checkers, 10 s x 3, a fast failure: the endpoint is unhealthy when the 14th flips,
    /// between 20 and 30 s, 20 + 10 x 14 / 17 = 28.24 s on average (the hand case).
    fn fast(ttl: f64, other: f64) -> Timing {
        Timing {
            base: 20.0,
            interval: 10.0,
            ttl,
            other,
            waits: None,
            client_cache: 0.0,
            via_dns: true,
            threshold: 3,
            k: Model::default().flipped_needed(),
            n: CHECKERS,
        }
    }

    #[test]
    fn the_fourteenth_of_sixteen_checkers_decides_at_about_28_s() {
        assert_eq!(Model::default().flipped_needed(), 14);
        let t = fast(0.0, 0.0);
        assert!((t.mean_detection() - 28.235).abs() < 0.001);
        // Detection alone: its median is the Beta(14, 3) median, 20 + 10 x 0.83635 = 28.36 s
        // (integrated by hand in Python with lgamma, 200,000 midpoints), shown as 28.4.
        assert!(
            (t.quantile(&grid(), 0.5) - 28.4).abs() < 0.01,
            "{}",
            t.quantile(&grid(), 0.5)
        );
        assert!(t.quantile(&grid(), 0.0001) >= 20.0 && t.quantile(&grid(), 0.9999) <= 30.0);
        // The CDF is a distribution: 0 before 20 s, 1 from 30 s.
        assert!(t.cdf(&grid(), 19.9) < 1e-9 && (t.cdf(&grid(), 30.0) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn a_ttl_only_design_waits_the_remaining_ttl_and_never_exceeds_the_floor() {
        let t = fast(60.0, 0.0);
        assert!((t.floor() - 90.0).abs() < 1e-9);
        // Median: about 28.4 + 30 s (detection's spread is small beside the TTL's).
        let p50 = t.quantile(&grid(), 0.5);
        assert!((p50 - 58.2).abs() < 1.0, "{p50}");
        let p99 = t.quantile(&grid(), 0.99);
        assert!(p99 <= t.floor() && p99 > 85.0, "{p99}");
        // It reaches the floor: just below it some clients still wait.
        assert!(
            t.cdf(&grid(), t.floor() - 0.5) < 1.0 && (t.cdf(&grid(), t.floor()) - 1.0).abs() < 1e-9
        );
    }

    #[test]
    fn a_promotion_dominated_design_is_detection_plus_the_promotion() {
        // Promotion 120 s beside a 60 s TTL: every client waits for it.
        let t = fast(60.0, 120.0);
        let d = fast(0.0, 0.0);
        for p in [0.5, 0.9, 0.99] {
            assert!(
                (t.quantile(&grid(), p) - (d.quantile(&grid(), p) + 120.0)).abs() < 0.11,
                "{p}"
            );
        }
        assert!((t.floor() - 150.0).abs() < 1e-9);
    }

    #[test]
    fn a_dark_region_waits_the_connect_timeout_on_every_probe_as_the_floor_does() {
        // 10 s x 3 HTTPS, dark: each probe takes 10 + 4 s, the last fails 4 s after it was
        // sent: 2 x 14 + 4 = 32 s before the phase, at most 42 s = 3 x 14, the floor's.
        let dark = Timing {
            base: 32.0,
            ..fast(60.0, 0.0)
        };
        assert!((dark.floor() - 102.0).abs() < 1e-9);
        assert!(
            (dark.quantile(&grid(), 0.5) - fast(60.0, 0.0).quantile(&grid(), 0.5) - 12.0).abs()
                < 0.11
        );
    }

    #[test]
    fn a_client_with_its_own_cache_waits_the_ttl_then_a_share_of_its_cache() {
        // U(0, 60) + U(0, 30), by hand: at 15 s 15^2 / (2 x 60 x 30) = 0.0625; at 45 s
        // (45 - 15) / 60 = 0.5; at 80 s 1 - 10^2 / 3,600 = 0.9722; 1 from 90 s.
        assert!((sum_of_uniforms(15.0, 60.0, 30.0) - 0.0625).abs() < 1e-12);
        assert!((sum_of_uniforms(45.0, 30.0, 60.0) - 0.5).abs() < 1e-12);
        assert!((sum_of_uniforms(80.0, 60.0, 30.0) - (1.0 - 100.0 / 3600.0)).abs() < 1e-12);
        assert!((sum_of_uniforms(90.0, 60.0, 30.0) - 1.0).abs() < 1e-12);
        // Without a cache, the TTL alone; without either, served at once.
        assert!((sum_of_uniforms(30.0, 60.0, 0.0) - 0.5).abs() < 1e-12);
        assert!((sum_of_uniforms(0.0, 0.0, 0.0) - 1.0).abs() < 1e-12);
        // The last such client: detection's worst 30 s, then 60 + 30.
        let jvm = Timing {
            client_cache: 30.0,
            ..fast(60.0, 0.0)
        };
        assert!((jvm.floor() - 120.0).abs() < 1e-9);
        assert!(jvm.quantile(&grid(), 0.99) > fast(60.0, 0.0).quantile(&grid(), 0.99));
    }

    #[test]
    fn one_accelerator_prober_is_uniform_over_the_last_interval() {
        // k = n = 1: Beta(1, 1) is uniform: (2 + U) x 10 s, P50 25 s, P99 29.9 s.
        let ga = Timing {
            k: 1,
            n: 1,
            via_dns: false,
            ..fast(0.0, 0.0)
        };
        let g = Grid::new(1, 1);
        assert!(
            (ga.quantile(&g, 0.5) - 25.0).abs() < 0.06
                && (ga.quantile(&g, 0.99) - 29.9).abs() < 0.06
        );
    }
}
