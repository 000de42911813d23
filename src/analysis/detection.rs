//! Whether Route 53 health checks see a region that fails only part of its requests.
//!
//! Model (an approximation, stated wherever its figures are shown): each probe fails
//! independently with the region's error rate `e`. A checker turns an endpoint unhealthy after
//! `n` consecutive failures and healthy again after `n` consecutive successes (the failure
//! threshold works both ways), so its state is a two-state renewal process. Route 53 fails the
//! endpoint over when 18 % of checkers or fewer report it healthy (`aws-facts.md`, Route 53
//! health checks); with many independent checkers that is when a checker is unhealthy at least
//! 82 % of the time.

/// Route 53 considers an endpoint unhealthy when this share of checkers or fewer report healthy.
pub const HEALTHY_SHARE: f64 = 0.18;

/// Expected probes until `n` consecutive outcomes of probability `p` in a row.
fn run_of(p: f64, n: u32) -> f64 {
    let pn = p.powi(n as i32);
    (1.0 - pn) / ((1.0 - p) * pn)
}

/// The share of time one checker reports the endpoint unhealthy at error rate `e`.
pub fn unhealthy_share(e: f64, n: u32) -> f64 {
    if e <= 0.0 {
        return 0.0;
    }
    if e >= 1.0 {
        return 1.0;
    }
    let healthy = run_of(e, n); // time to n failures in a row
    let unhealthy = run_of(1.0 - e, n); // time to n successes in a row
    unhealthy / (healthy + unhealthy)
}

/// True when a steady error rate `e` makes Route 53 fail the endpoint over.
pub fn fires(e: f64, n: u32) -> bool {
    unhealthy_share(e, n) >= 1.0 - HEALTHY_SHARE
}

/// The share of time Route 53 holds the endpoint unhealthy once a brown-out at error rate `e`
/// is steady: checkers probe independently, so at any moment the unhealthy ones are
/// Binomial(`checkers`, u), u = [`unhealthy_share`], and the endpoint is out while at least
/// `flipped` of them are. Below 1 the endpoint flaps: traffic returns to the sick region.
pub fn steady_out_share(e: f64, n: u32, checkers: u32, flipped: u32) -> f64 {
    let u = unhealthy_share(e, n);
    (flipped..=checkers)
        .map(|j| binomial(checkers, j) * u.powi(j as i32) * (1.0 - u).powi((checkers - j) as i32))
        .sum::<f64>()
        .clamp(0.0, 1.0)
}

fn binomial(n: u32, k: u32) -> f64 {
    (1..=k).fold(1.0, |acc, i| acc * f64::from(n - k + i) / f64::from(i))
}

/// The lowest error rate that makes a threshold-`n` check fail the endpoint over (rounded to
/// 0.1 %).
pub fn trip_rate(n: u32) -> f64 {
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    for _ in 0..40 {
        let mid = (lo + hi) / 2.0;
        if fires(mid, n) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    (hi * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_errors_leave_a_three_failure_checker_unhealthy_half_the_time() {
        // By symmetry: runs of 3 failures and of 3 successes are equally likely at e = 0.5.
        assert!((unhealthy_share(0.5, 3) - 0.5).abs() < 1e-12);
        assert!(!fires(0.5, 3));
    }

    #[test]
    fn ninety_percent_errors_trip_a_three_failure_check() {
        // Hand arithmetic: to 3 failures (1 - 0.729) / (0.1 x 0.729) = 3.717 probes; to 3
        // successes (1 - 0.001) / (0.9 x 0.001) = 1110 probes; 1110 / 1113.717 = 0.99666.
        assert!((unhealthy_share(0.9, 3) - 0.99666).abs() < 1e-4);
        assert!(fires(0.9, 3));
    }

    #[test]
    fn the_endpoint_is_out_while_fourteen_of_sixteen_checkers_are() {
        // e = 0.5, n = 3: u = 0.5, P(X >= 14) = (120 + 16 + 1) / 65,536 = 0.00209.
        assert!((steady_out_share(0.5, 3, 16, 14) - 137.0 / 65536.0).abs() < 1e-9);
        // e = 1: every checker unhealthy, always out; e = 0: never.
        assert!((steady_out_share(1.0, 3, 16, 14) - 1.0).abs() < 1e-12);
        assert!(steady_out_share(0.0, 3, 16, 14).abs() < 1e-12);
    }

    #[test]
    fn a_threshold_of_one_follows_each_probe() {
        // n = 1: the checker shows the last probe, so it is unhealthy a share e of the time.
        assert!((unhealthy_share(0.3, 1) - 0.3).abs() < 1e-12);
        assert!((trip_rate(1) - 0.82).abs() <= 0.001);
        // n = 3 at e = 0.65: to 3 failures (1 - 0.2746) / (0.35 x 0.2746) = 7.55 probes, to 3
        // successes (1 - 0.0429) / (0.65 x 0.0429) = 34.3: 34.3 / 41.9 = 0.82, the boundary.
        assert!((trip_rate(3) - 0.65).abs() < 0.01, "{}", trip_rate(3));
    }
}
