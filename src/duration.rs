//! Durations as users write them: "500ms", "45s", "8m", "1h", "1m30s".

use serde::Serialize;
use std::fmt;

/// A non-negative duration with millisecond resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration {
    millis: u64,
}

impl Duration {
    pub const ZERO: Duration = Duration { millis: 0 };

    pub const fn from_millis(millis: u64) -> Duration {
        Duration { millis }
    }

    pub const fn from_secs(secs: u64) -> Duration {
        Duration {
            millis: secs.saturating_mul(1000),
        }
    }

    pub fn as_millis(self) -> u64 {
        self.millis
    }

    pub fn as_secs_f64(self) -> f64 {
        self.millis as f64 / 1000.0
    }

    /// Parses a sequence of `<integer><unit>` terms, units `ms`, `s`, `m`, `h`, each at most
    /// once and in decreasing order (`1h30m`, not `30m1h`).
    pub fn parse(s: &str) -> Result<Duration, String> {
        const UNITS: [(&str, u64); 4] = [("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)];
        if s.is_empty() {
            return Err("empty duration".into());
        }
        let mut rest = s;
        let mut total: u64 = 0;
        let mut last_rank: Option<usize> = None;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(format!("expected a number at \"{rest}\""));
            }
            let n: u64 = rest[..digits]
                .parse()
                .map_err(|_| "number too large".to_string())?;
            rest = &rest[digits..];
            let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
            let unit = &rest[..unit_len];
            let Some(rank) = UNITS.iter().position(|(u, _)| *u == unit) else {
                return Err(if unit.is_empty() {
                    format!("\"{}\" has no unit (ms, s, m or h)", &s)
                } else {
                    format!("unknown unit \"{unit}\" (use ms, s, m or h)")
                });
            };
            if last_rank.is_some_and(|r| rank <= r) {
                return Err("units must appear once each, largest first (e.g. 1m30s)".into());
            }
            last_rank = Some(rank);
            total = n
                .checked_mul(UNITS[rank].1)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(|| "duration too large".to_string())?;
            rest = &rest[unit_len..];
        }
        Ok(Duration { millis: total })
    }
}

impl fmt::Display for Duration {
    /// The canonical form: `1m30s`, `500ms`, `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.millis == 0 {
            return f.write_str("0s");
        }
        let mut ms = self.millis;
        for (unit, size) in [("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)] {
            if ms >= size {
                write!(f, "{}{unit}", ms / size)?;
                ms %= size;
            }
        }
        Ok(())
    }
}

impl Serialize for Duration {
    /// Serialised as seconds (a number), the unit every JSON output of Meridian uses.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        for (s, ms) in [
            ("500ms", 500),
            ("45s", 45_000),
            ("8m", 480_000),
            ("1h", 3_600_000),
            ("1m30s", 90_000),
            ("1h1m1s1ms", 3_661_001),
            ("0s", 0),
        ] {
            assert_eq!(Duration::parse(s), Ok(Duration::from_millis(ms)), "{s}");
        }
    }

    #[test]
    fn rejects_malformed() {
        for s in [
            "", "10", "s", "1d", "30s1m", "1m1m", "-5s", "1.5s", " 5s", "5 s",
        ] {
            assert!(Duration::parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn display_round_trips() {
        for s in ["500ms", "45s", "8m", "1h", "1m30s", "0s"] {
            assert_eq!(Duration::parse(s).unwrap().to_string(), s);
        }
    }
}
