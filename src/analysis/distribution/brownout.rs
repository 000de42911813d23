//! A brown-out: the region answers, but a share `e` of its requests (and of Route 53's probes)
//! fail. Each checker turns the endpoint unhealthy after `threshold` consecutive failed probes
//! and healthy again after `threshold` consecutive successes (the threshold works both ways,
//! as `lint`'s detection model has it); the endpoint fails over the first time `k` of the `n`
//! checkers report it unhealthy at once. That first passage has no closed form, so it is
//! simulated: `trials` runs from a fixed `seed` (the same numbers on every machine), each
//! checker at its own uniform phase, probes failing independently and fast (an error answer,
//! no timeout). A run that has not failed over by the horizon is "not detected".
//!
//! At `e = 1` every probe fails and the run is the fast failure's order statistic: the tests
//! hold the two against each other.

/// SplitMix64 (Steele, Lea and Flood, 2014): a small, well-mixed generator whose stream is
/// the same on every machine; statistical quality far beyond what 10,000 trials can see.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1), 53 bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// The inputs of one brown-out's detection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Brownout {
    pub error_rate: f64,
    pub threshold: u32,
    pub interval: f64,
    /// Checkers that must report unhealthy at once, of `n`.
    pub k: u32,
    pub n: u32,
    pub horizon: f64,
    pub trials: u32,
    pub seed: u64,
}

impl Brownout {
    /// A key for sharing the runs of losses with the same inputs.
    pub fn key(&self) -> [u64; 8] {
        [
            self.error_rate.to_bits(),
            u64::from(self.threshold),
            self.interval.to_bits(),
            u64::from(self.k),
            u64::from(self.n),
            self.horizon.to_bits(),
            u64::from(self.trials),
            self.seed,
        ]
    }

    /// When each run fails the endpoint over (seconds after the brown-out began), sorted;
    /// runs not detected by the horizon are left out (their share is `1 - len / trials`).
    pub fn detections(&self) -> Vec<f64> {
        let mut rng = Rng::new(self.seed);
        let mut out: Vec<f64> = (0..self.trials)
            .filter_map(|_| self.run(&mut rng))
            .collect();
        out.sort_by(f64::total_cmp);
        out
    }

    /// One run: the first time `k` checkers are unhealthy at once, if before the horizon.
    fn run(&self, rng: &mut Rng) -> Option<f64> {
        let mut phases: Vec<f64> = (0..self.n).map(|_| rng.uniform()).collect();
        phases.sort_by(f64::total_cmp);
        // Per checker: unhealthy, and the run of outcomes that would flip it.
        let mut state = vec![(false, 0u32); phases.len()];
        let mut unhealthy = 0;
        for round in 0u32.. {
            for (phase, (down, streak)) in phases.iter().zip(state.iter_mut()) {
                let at = (f64::from(round) + phase) * self.interval;
                if at > self.horizon {
                    return None;
                }
                let failed = rng.uniform() < self.error_rate;
                // A probe against the checker's view extends the run; one with it resets it.
                *streak = if failed != *down { *streak + 1 } else { 0 };
                if *streak >= self.threshold {
                    *down = !*down;
                    *streak = 0;
                    unhealthy = if *down { unhealthy + 1 } else { unhealthy - 1 };
                    if unhealthy >= self.k {
                        return Some(at);
                    }
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brownout(error_rate: f64, trials: u32) -> Brownout {
        Brownout {
            error_rate,
            threshold: 3,
            interval: 10.0,
            k: 14,
            n: 16,
            horizon: 3600.0,
            trials,
            seed: 1,
        }
    }

    #[test]
    fn the_generator_is_splitmix64() {
        // The reference output of SplitMix64 seeded with 0 (Vigna's splitmix64.c): the first
        // value is 0xE220A8397B1DCDAF.
        assert_eq!(Rng::new(0).next_u64(), 0xE220_A839_7B1D_CDAF);
        let mut r = Rng::new(7);
        let mean: f64 = (0..100_000).map(|_| r.uniform()).sum::<f64>() / 1e5;
        assert!((mean - 0.5).abs() < 0.005, "{mean}");
    }

    #[test]
    fn every_probe_failing_is_the_fast_failure() {
        // At e = 1 a checker flips at (2 + U) x 10 s and the 14th of 16 decides: 20 + 10 x
        // 14 / 17 = 28.235 s on average, between 20 and 30 s (the analytic order statistic).
        // Standard deviation of Beta(14, 3) x 10 s: sqrt(14 x 3 / (17^2 x 18)) x 10 = 0.8985 s;
        // over 4,000 runs the mean's standard error is 0.0142 s: within 4 of them, 0.06 s.
        let d = brownout(1.0, 4000).detections();
        assert_eq!(d.len(), 4000);
        let mean = d.iter().sum::<f64>() / d.len() as f64;
        assert!((mean - 28.235).abs() < 0.06, "{mean}");
        assert!(d[0] >= 20.0 && d[d.len() - 1] <= 30.0);
    }

    #[test]
    fn half_errors_fail_over_only_sometimes_and_ninety_percent_at_once() {
        // At 50 % a checker is unhealthy half the time (lint's model): 14 of 16 at once is a
        // binomial tail, (120 + 16 + 1) / 65,536 = 0.2 % of the time, and looks a few probes
        // apart are correlated, so some hours see it and some do not (about 41 % of runs here).
        // At 90 % a checker is unhealthy 99.7 % of the time: detection within a minute.
        let half = brownout(0.5, 500).detections();
        let ninety = brownout(0.9, 500).detections();
        assert_eq!(ninety.len(), 500);
        assert!(
            ninety[ninety.len() / 2] < 60.0,
            "{}",
            ninety[ninety.len() / 2]
        );
        assert!(half.len() < 500, "{}", half.len());
        // The same seed gives the same runs.
        assert_eq!(brownout(0.9, 500).detections(), ninety);
    }
}
