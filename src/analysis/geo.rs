//! Geography the recovery model needs: which AWS region is next-nearest to another (latency
//! routing), and which larger area contains a geolocation (geolocation fallback).
//!
//! Proximity is by typical round-trip time between AWS regions, not straight-line distance:
//! packets from Tokyo reach Virginia sooner than Ireland. The figures are medians of public
//! inter-region latency measurements (e.g. cloudping.co), rounded and grouped by metro area;
//! they only order candidates, and `failover_to` on a region overrides them.

use crate::model::catalog;

/// Metro areas of AWS regions; regions in one area are about 10-25 ms apart.
const AREAS: &[(&str, &[&str])] = &[
    (
        "na-east",
        &[
            "ca-central-1",
            "mx-central-1",
            "us-east-1",
            "us-east-2",
            "us-gov-east-1",
        ],
    ),
    (
        "na-west",
        &["ca-west-1", "us-gov-west-1", "us-west-1", "us-west-2"],
    ),
    ("sa", &["sa-east-1"]),
    ("eu-west", &["eu-west-1", "eu-west-2", "eu-west-3"]),
    (
        "eu-central",
        &[
            "eu-central-1",
            "eu-central-2",
            "eu-north-1",
            "eu-south-1",
            "eu-south-2",
        ],
    ),
    ("me", &["il-central-1", "me-central-1", "me-south-1"]),
    ("af", &["af-south-1"]),
    ("ap-south", &["ap-south-1", "ap-south-2"]),
    (
        "ap-southeast",
        &[
            "ap-southeast-1",
            "ap-southeast-3",
            "ap-southeast-5",
            "ap-southeast-7",
        ],
    ),
    ("ap-east", &["ap-east-1", "ap-east-2"]),
    (
        "ap-northeast",
        &["ap-northeast-1", "ap-northeast-2", "ap-northeast-3"],
    ),
    (
        "oceania",
        &["ap-southeast-2", "ap-southeast-4", "ap-southeast-6"],
    ),
];

/// Typical round-trip time between two regions of one area, ms.
const SAME_AREA_MS: u32 = 15;

/// Typical round-trip times between areas, ms (symmetric; upper triangle, in `AREAS` order).
const AREA_MS: &[(&str, &str, u32)] = &[
    ("na-east", "na-west", 65),
    ("na-east", "sa", 115),
    ("na-east", "eu-west", 70),
    ("na-east", "eu-central", 90),
    ("na-east", "me", 160),
    ("na-east", "af", 225),
    ("na-east", "ap-south", 185),
    ("na-east", "ap-southeast", 215),
    ("na-east", "ap-east", 195),
    ("na-east", "ap-northeast", 150),
    ("na-east", "oceania", 200),
    ("na-west", "sa", 175),
    ("na-west", "eu-west", 130),
    ("na-west", "eu-central", 150),
    ("na-west", "me", 210),
    ("na-west", "af", 280),
    ("na-west", "ap-south", 220),
    ("na-west", "ap-southeast", 165),
    ("na-west", "ap-east", 150),
    ("na-west", "ap-northeast", 100),
    ("na-west", "oceania", 140),
    ("sa", "eu-west", 180),
    ("sa", "eu-central", 200),
    ("sa", "me", 290),
    ("sa", "af", 340),
    ("sa", "ap-south", 300),
    ("sa", "ap-southeast", 320),
    ("sa", "ap-east", 300),
    ("sa", "ap-northeast", 255),
    ("sa", "oceania", 300),
    ("eu-west", "eu-central", 25),
    ("eu-west", "me", 100),
    ("eu-west", "af", 155),
    ("eu-west", "ap-south", 120),
    ("eu-west", "ap-southeast", 165),
    ("eu-west", "ap-east", 190),
    ("eu-west", "ap-northeast", 215),
    ("eu-west", "oceania", 260),
    ("eu-central", "me", 90),
    ("eu-central", "af", 155),
    ("eu-central", "ap-south", 110),
    ("eu-central", "ap-southeast", 155),
    ("eu-central", "ap-east", 185),
    ("eu-central", "ap-northeast", 225),
    ("eu-central", "oceania", 250),
    ("me", "af", 225),
    ("me", "ap-south", 40),
    ("me", "ap-southeast", 90),
    ("me", "ap-east", 130),
    ("me", "ap-northeast", 165),
    ("me", "oceania", 180),
    ("af", "ap-south", 270),
    ("af", "ap-southeast", 290),
    ("af", "ap-east", 320),
    ("af", "ap-northeast", 350),
    ("af", "oceania", 400),
    ("ap-south", "ap-southeast", 60),
    ("ap-south", "ap-east", 90),
    ("ap-south", "ap-northeast", 125),
    ("ap-south", "oceania", 145),
    ("ap-southeast", "ap-east", 35),
    ("ap-southeast", "ap-northeast", 70),
    ("ap-southeast", "oceania", 92),
    ("ap-east", "ap-northeast", 50),
    ("ap-east", "oceania", 125),
    ("ap-northeast", "oceania", 105),
];

fn area(region: &str) -> Option<&'static str> {
    AREAS
        .iter()
        .find(|(_, regions)| regions.contains(&region))
        .map(|(a, _)| *a)
}

/// The typical round-trip time between two AWS regions, ms; `None` for a region not in the
/// table.
pub fn rtt_ms(a: &str, b: &str) -> Option<u32> {
    if a == b {
        return Some(0);
    }
    let (x, y) = (area(a)?, area(b)?);
    if x == y {
        return Some(SAME_AREA_MS);
    }
    AREA_MS
        .iter()
        .find(|(p, q, _)| (*p == x && *q == y) || (*p == y && *q == x))
        .map(|(_, _, ms)| *ms)
}

/// The continent of a country code, from Route 53's own table ([`catalog::continent_of`]).
pub fn continent_of(country: &str) -> Option<&'static str> {
    catalog::continent_of(country)
}

/// The next larger area that contains a geolocation code: `US-CA` -> `US` -> `NA` -> `*`;
/// `None` above `*`. A country whose continent is unknown falls back to `*`.
pub fn parent(location: &str) -> Option<String> {
    if location == "*" {
        return None;
    }
    if catalog::CONTINENTS.contains(&location) {
        return Some("*".into());
    }
    if let Some((country, _)) = location.split_once('-') {
        return Some(country_code_of(country));
    }
    let country = location.strip_prefix("country:").unwrap_or(location);
    Some(continent_of(country).map_or("*".into(), str::to_string))
}

/// How Meridian writes a country code ([`catalog::country_code_of`]).
pub use catalog::country_code_of;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokyo_is_nearer_virginia_than_ireland() {
        let va = rtt_ms("ap-northeast-1", "us-east-1");
        let ie = rtt_ms("ap-northeast-1", "eu-west-1");
        assert!(va < ie, "{va:?} {ie:?}");
        assert!(rtt_ms("eu-west-1", "eu-central-1") < rtt_ms("eu-west-1", "us-east-1"));
    }

    #[test]
    fn every_region_has_an_area_and_every_pair_a_time() {
        for a in crate::model::catalog::AWS_REGIONS {
            for b in crate::model::catalog::AWS_REGIONS {
                assert!(rtt_ms(a, b).is_some(), "{a} {b}");
            }
        }
    }

    #[test]
    fn fallback_chains() {
        assert_eq!(parent("US-CA").as_deref(), Some("US"));
        assert_eq!(parent("US").as_deref(), Some("NA"));
        assert_eq!(parent("NA").as_deref(), Some("*"));
        assert_eq!(parent("*"), None);
        assert_eq!(parent("country:SA").as_deref(), Some("AS"));
        assert_eq!(parent("DE").as_deref(), Some("EU"));
        assert_eq!(parent("JP").as_deref(), Some("AS"));
        assert_eq!(parent("BR").as_deref(), Some("SA"));
    }
}
