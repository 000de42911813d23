//! The other steps of a recovery as drawn: a step that declares a range (`promotion_min`,
//! `scale_up_max`, ...) takes a triangular time over (min, typical, max), the usual choice when
//! only the three points are known; deciding then promoting adds, regions scaling up side by
//! side wait for the slowest. A step without a range takes its value every time.

use crate::analysis::{Part, Spread};

/// Points of a tabulated CDF (a sum of ranged parts).
const TABLE: usize = 512;
/// Quadrature points over a part's range when adding it to a sum.
const NODES: usize = 256;

/// When a step is done: its CDF.
#[derive(Debug, Clone, PartialEq)]
pub enum StepCdf {
    /// Always this long.
    At(f64),
    /// Triangular over (min, mode, max).
    Tri(f64, f64, f64),
    /// Tabulated on an even grid from `lo` to `hi`.
    Table { lo: f64, hi: f64, values: Vec<f64> },
    /// The slowest of several.
    Max(Vec<StepCdf>),
}

fn tri(p: &Part) -> StepCdf {
    if p.max_seconds <= p.min_seconds {
        StepCdf::At(p.typical_seconds)
    } else {
        StepCdf::Tri(p.min_seconds, p.typical_seconds, p.max_seconds)
    }
}

impl StepCdf {
    pub fn of(s: &Spread) -> StepCdf {
        match s {
            Spread::Max(parts) => StepCdf::Max(parts.iter().map(tri).collect()),
            Spread::Sum(parts) => parts
                .iter()
                .map(tri)
                .reduce(|a, b| a.plus(&b))
                .unwrap_or(StepCdf::At(0.0)),
        }
    }

    /// P(step <= x).
    pub fn cdf(&self, x: f64) -> f64 {
        match self {
            StepCdf::At(c) => f64::from(u8::from(x >= *c)),
            StepCdf::Tri(a, m, b) => {
                if x <= *a {
                    0.0
                } else if x >= *b {
                    1.0
                } else if x <= *m {
                    (x - a) * (x - a) / ((b - a) * (m - a))
                } else {
                    1.0 - (b - x) * (b - x) / ((b - a) * (b - m))
                }
            }
            StepCdf::Table { lo, hi, values } => {
                if x <= *lo {
                    return 0.0;
                }
                if x >= *hi {
                    return 1.0;
                }
                let pos = (x - lo) / (hi - lo) * (values.len() - 1) as f64;
                let i = (pos.floor() as usize).min(values.len() - 2);
                let f = pos - i as f64;
                values[i] * (1.0 - f) + values[i + 1] * f
            }
            StepCdf::Max(all) => all.iter().map(|s| s.cdf(x)).product(),
        }
    }

    /// The bounds of the step's time.
    pub fn bounds(&self) -> (f64, f64) {
        match self {
            StepCdf::At(c) => (*c, *c),
            StepCdf::Tri(a, _, b) => (*a, *b),
            StepCdf::Table { lo, hi, .. } => (*lo, *hi),
            StepCdf::Max(all) => all
                .iter()
                .map(StepCdf::bounds)
                .fold((0.0, 0.0), |(l, h), (a, b)| {
                    (f64::max(l, a), f64::max(h, b))
                }),
        }
    }

    /// The time of `self` then `other`: a shift for a fixed part, else tabulated by
    /// integrating `other`'s density against `self`'s CDF.
    fn plus(&self, other: &StepCdf) -> StepCdf {
        match (self, other) {
            (StepCdf::At(a), StepCdf::At(b)) => StepCdf::At(a + b),
            (StepCdf::At(c), StepCdf::Tri(a, m, b)) | (StepCdf::Tri(a, m, b), StepCdf::At(c)) => {
                StepCdf::Tri(a + c, m + c, b + c)
            }
            _ => {
                let ((l1, h1), (l2, h2)) = (self.bounds(), other.bounds());
                let (lo, hi) = (l1 + l2, h1 + h2);
                let values = (0..TABLE)
                    .map(|i| {
                        let x = lo + (hi - lo) * i as f64 / (TABLE - 1) as f64;
                        expect_over(other, |y| self.cdf(x - y))
                    })
                    .collect();
                StepCdf::Table { lo, hi, values }
            }
        }
    }
}

/// E[f(Y)] for Y distributed as `s` (midpoint rule over its CDF's increments).
fn expect_over(s: &StepCdf, f: impl Fn(f64) -> f64) -> f64 {
    let (lo, hi) = s.bounds();
    if hi <= lo {
        return f(lo);
    }
    let h = (hi - lo) / NODES as f64;
    (0..NODES)
        .map(|i| {
            let (a, b) = (lo + h * i as f64, lo + h * (i + 1) as f64);
            (s.cdf(b) - s.cdf(a)) * f((a + b) / 2.0)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(min: f64, typical: f64, max: f64) -> Part {
        Part {
            min_seconds: min,
            typical_seconds: typical,
            max_seconds: max,
        }
    }

    #[test]
    fn a_triangular_promotion_has_its_hand_computed_median() {
        // (60, 120, 300): F(120) = 60 / 240 = 0.25, so the median is right of the mode:
        // 1 - (300 - x)^2 / (240 x 180) = 0.5, x = 300 - sqrt(21,600) = 153.03 s.
        let s = StepCdf::of(&Spread::Sum(vec![part(60.0, 120.0, 300.0)]));
        assert!((s.cdf(120.0) - 0.25).abs() < 1e-12);
        assert!((s.cdf(153.03) - 0.5).abs() < 1e-4);
    }

    #[test]
    fn deciding_then_promoting_adds_and_the_slowest_region_decides() {
        // Two uniform-like triangles (0, 0, 10) and (0, 10, 10) sum to mean 3.33 + 6.67 = 10,
        // symmetric about 10: F(10) = 0.5 (the table to about 1e-3).
        let s = StepCdf::of(&Spread::Sum(vec![
            part(0.0, 0.0, 10.0),
            part(0.0, 10.0, 10.0),
        ]));
        assert_eq!(s.bounds(), (0.0, 20.0));
        assert!((s.cdf(10.0) - 0.5).abs() < 2e-3, "{}", s.cdf(10.0));
        // A fixed decision only shifts: (300) + (30, 60, 120) is (330, 360, 420).
        let shifted = StepCdf::of(&Spread::Sum(vec![
            part(300.0, 300.0, 300.0),
            part(30.0, 60.0, 120.0),
        ]));
        assert_eq!(shifted, StepCdf::Tri(330.0, 360.0, 420.0));
        // Side by side: P(max <= x) = the product, 0.25 x 1 at 120 s beside a fixed 100 s.
        let m = StepCdf::of(&Spread::Max(vec![
            part(60.0, 120.0, 300.0),
            part(100.0, 100.0, 100.0),
        ]));
        assert!((m.cdf(120.0) - 0.25).abs() < 1e-12 && m.cdf(99.0) == 0.0);
    }
}
