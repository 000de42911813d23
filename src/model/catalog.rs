//! Fixed AWS facts the validator checks against (see `docs/aws-facts.md`).

/// AWS regions a Route 53 latency record or an ECR registry can name (commercial partition and
/// GovCloud).
pub const AWS_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-west-1",
    "us-west-2",
];

/// The regions Route 53 health checkers run from (R53API `HealthCheckConfig.Regions`).
pub const CHECKER_REGIONS: &[&str] = &[
    "ap-northeast-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "eu-west-1",
    "sa-east-1",
    "us-east-1",
    "us-west-1",
    "us-west-2",
];

/// Geolocation continent codes.
pub const CONTINENTS: &[&str] = &["AF", "AN", "AS", "EU", "NA", "OC", "SA"];

/// ISO 3166-1 alpha-2 country codes.
pub const COUNTRIES: &[&str] = &[
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// Route 53's own continent of each country code it accepts for geolocation records: the
/// table of the Route 53 Developer Guide, "Values specific for geolocation records" (as read
/// for `../shared/reference/aws-facts.md`, 2026-12-07). It is Route 53's, not a GeoIP vendor's:
/// TR and CY are in Europe (TR moved there from Asia), TL in Oceania, Antarctica is AQ, GS and
/// TF. Validation, the analysis's geolocation fallback and anything else that needs a continent
/// read this one table.
pub const ROUTE53_CONTINENTS: &[(&str, &[&str])] = &[
    (
        "AF",
        &[
            "AO", "BF", "BI", "BJ", "BW", "CD", "CF", "CG", "CI", "CM", "CV", "DJ", "DZ", "EG",
            "ER", "ET", "GA", "GH", "GM", "GN", "GQ", "GW", "KE", "KM", "LR", "LS", "LY", "MA",
            "MG", "ML", "MR", "MU", "MW", "MZ", "NA", "NE", "NG", "RE", "RW", "SC", "SD", "SH",
            "SL", "SN", "SO", "SS", "ST", "SZ", "TD", "TG", "TN", "TZ", "UG", "YT", "ZA", "ZM",
            "ZW",
        ],
    ),
    ("AN", &["AQ", "GS", "TF"]),
    (
        "AS",
        &[
            "AE", "AF", "AM", "AZ", "BD", "BH", "BN", "BT", "CC", "CN", "GE", "HK", "ID", "IL",
            "IN", "IO", "IQ", "IR", "JO", "JP", "KG", "KH", "KP", "KR", "KW", "KZ", "LA", "LB",
            "LK", "MM", "MN", "MO", "MV", "MY", "NP", "OM", "PH", "PK", "PS", "QA", "SA", "SG",
            "SY", "TH", "TJ", "TM", "TW", "UZ", "VN", "YE",
        ],
    ),
    (
        "EU",
        &[
            "AD", "AL", "AT", "AX", "BA", "BE", "BG", "BY", "CH", "CZ", "DE", "DK", "EE", "ES",
            "FI", "FO", "FR", "GB", "GG", "GI", "GR", "HR", "HU", "IE", "IM", "IS", "IT", "JE",
            "LI", "LT", "LU", "LV", "MC", "MD", "ME", "MK", "MT", "NL", "NO", "PL", "PT", "RO",
            "RS", "RU", "SE", "SI", "SJ", "SK", "SM", "UA", "VA", "CY", "TR",
        ],
    ),
    (
        "NA",
        &[
            "AG", "AI", "AW", "BB", "BL", "BM", "BQ", "BS", "BZ", "CA", "CR", "CU", "CW", "DM",
            "DO", "GD", "GL", "GP", "GT", "HN", "HT", "JM", "KN", "KY", "LC", "MF", "MQ", "MS",
            "MX", "NI", "PA", "PM", "PR", "SV", "SX", "TC", "TT", "US", "VC", "VG", "VI",
        ],
    ),
    (
        "OC",
        &[
            "AS", "AU", "CK", "FJ", "FM", "GU", "KI", "MH", "MP", "NC", "NF", "NR", "NU", "NZ",
            "PF", "PG", "PN", "PW", "SB", "TK", "TL", "TO", "TV", "UM", "VU", "WF", "WS",
        ],
    ),
    (
        "SA",
        &[
            "AR", "BO", "BR", "CL", "CO", "EC", "FK", "GF", "GY", "PE", "PY", "SR", "UY", "VE",
        ],
    ),
];

/// ISO 3166-1 codes Route 53 does not accept in geolocation records, with their names (the
/// same page: "Route 53 doesn't support creating geolocation records for the following
/// countries").
pub const UNSUPPORTED_COUNTRIES: &[(&str, &str)] = &[
    ("BV", "Bouvet Island"),
    ("CX", "Christmas Island"),
    ("EH", "Western Sahara"),
    ("HM", "Heard Island and McDonald Islands"),
];

/// Route 53's continent of a country code, when it has one.
pub fn continent_of(country: &str) -> Option<&'static str> {
    ROUTE53_CONTINENTS
        .iter()
        .find(|(_, countries)| countries.contains(&country))
        .map(|(c, _)| *c)
}

/// The name of a country code Route 53 refuses in geolocation records.
pub fn unsupported_country(code: &str) -> Option<&'static str> {
    let code = code.strip_prefix("country:").unwrap_or(code);
    UNSUPPORTED_COUNTRIES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, name)| *name)
}

/// DynamoDB multi-Region strong consistency: the replicas and the witness of a global table
/// are in one of these Region sets (API CreateGlobalTableWitnessGroupMemberAction; aws-facts.md,
/// 2026-12-07).
pub const DYNAMODB_REGION_SETS: &[(&str, &[&str])] = &[
    ("US", &["us-east-1", "us-east-2", "us-west-2"]),
    (
        "EU",
        &["eu-central-1", "eu-west-1", "eu-west-2", "eu-west-3"],
    ),
    (
        "AP",
        &["ap-northeast-1", "ap-northeast-2", "ap-northeast-3"],
    ),
];

/// The DynamoDB Region set an AWS region belongs to.
pub fn dynamodb_region_set(region: &str) -> Option<&'static str> {
    DYNAMODB_REGION_SETS
        .iter()
        .find(|(_, rs)| rs.contains(&region))
        .map(|(name, _)| *name)
}

/// One spelling per location: `country:DE` is `DE`; `country:XX` stays only where XX is also
/// a continent's code (AF, AN, AS, EU, NA, OC, SA).
pub fn canonical_location(l: &str) -> String {
    match l.strip_prefix("country:") {
        Some(c) if !CONTINENTS.contains(&c) => c.to_string(),
        _ => l.to_string(),
    }
}

/// How Meridian writes a country code (`country:XX` where XX is also a continent code).
pub fn country_code_of(country: &str) -> String {
    if CONTINENTS.contains(&country) {
        format!("country:{country}")
    } else {
        country.to_string()
    }
}

/// US subdivisions Route 53 geolocation accepts, written `US-CA`.
pub const US_STATES: &[&str] = &[
    "AK", "AL", "AR", "AZ", "CA", "CO", "CT", "DC", "DE", "FL", "GA", "HI", "IA", "ID", "IL", "IN",
    "KS", "KY", "LA", "MA", "MD", "ME", "MI", "MN", "MO", "MS", "MT", "NC", "ND", "NE", "NH", "NJ",
    "NM", "NV", "NY", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VA", "VT", "WA",
    "WI", "WV", "WY",
];

/// The hosted zone id of every CloudFront alias target.
pub const CLOUDFRONT_ZONE_ID: &str = "Z2FDTNDATAQYW2";

pub fn is_aws_region(s: &str) -> bool {
    AWS_REGIONS.binary_search(&s).is_ok()
}

pub fn is_checker_region(s: &str) -> bool {
    CHECKER_REGIONS.binary_search(&s).is_ok()
}

/// A geolocation code: `*`, a continent, a country, `US-XX`, or `country:XX` for the countries
/// whose codes are also continents' (AF, AS, NA, SA: plain `SA` is South America).
pub fn is_geo_location(s: &str) -> bool {
    if unsupported_country(s).is_some() {
        return false;
    }
    if let Some(c) = s.strip_prefix("country:") {
        return COUNTRIES.binary_search(&c).is_ok();
    }
    if s == "*" || CONTINENTS.binary_search(&s).is_ok() || COUNTRIES.binary_search(&s).is_ok() {
        return true;
    }
    s.strip_prefix("US-")
        .is_some_and(|st| US_STATES.binary_search(&st).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_for_binary_search() {
        for t in [
            AWS_REGIONS,
            CHECKER_REGIONS,
            CONTINENTS,
            COUNTRIES,
            US_STATES,
        ] {
            assert!(t.windows(2).all(|w| w[0] < w[1]), "{t:?}");
        }
    }

    #[test]
    fn geo_codes() {
        assert!(is_geo_location("*"));
        assert!(is_geo_location("EU"));
        assert!(is_geo_location("DE"));
        assert!(is_geo_location("US-CA"));
        assert!(!is_geo_location("XX"));
        assert!(!is_geo_location("US-XX"));
        assert!(is_geo_location("country:SA"));
        assert!(!is_geo_location("country:XX"));
    }

    /// Route 53's table, not a GeoIP vendor's (aws-facts.md, 2026-12-07).
    #[test]
    fn route53_continents_and_refused_codes() {
        assert_eq!(continent_of("TR"), Some("EU"));
        assert_eq!(continent_of("CY"), Some("EU"));
        assert_eq!(continent_of("TL"), Some("OC"));
        assert_eq!(continent_of("AQ"), Some("AN"));
        for code in ["BV", "CX", "EH", "HM"] {
            assert!(!is_geo_location(code), "{code}");
            assert_eq!(continent_of(code), None, "{code}");
        }
        // Every country Route 53 accepts has exactly one continent; a refused one has none.
        for c in COUNTRIES {
            let n = ROUTE53_CONTINENTS
                .iter()
                .filter(|(_, cs)| cs.contains(c))
                .count();
            let refused = unsupported_country(c).is_some();
            assert_eq!(n, usize::from(!refused), "{c} is in {n} continents");
        }
    }
}
