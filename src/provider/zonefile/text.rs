//! RFC 1035 master files (section 5): read into record sets, written back in one canonical
//! form that `named-checkzone` accepts.
//!
//! Read: `$ORIGIN`, `$TTL`, comments, parentheses across lines, a blank owner (the previous
//! one), `@`, relative and absolute names, TTL and class in either order, TTL units (`1h`).
//! Names inside the data of CNAME, NS, PTR, MX, SRV and SOA records are made absolute, as the
//! record sets Meridian compares hold them (no final dot). `$INCLUDE` and `$GENERATE` are
//! refused. Written: `$ORIGIN`, then the SOA, the apex NS and every other record set sorted by
//! name and type, each name absolute with its final dot. Comments are not kept.

use crate::dns::RecordType;

/// One resource record set of a zone file: a name, a type, a TTL and the values, each value
/// the record's data as one string (the names of CNAME, NS, PTR, DNAME, MX, SRV and SOA data
/// absolute, without the final dot; other data as written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RrSet {
    /// Lower case, absolute, without the final dot: what record sets are matched by.
    pub name: String,
    pub record_type: RecordType,
    pub ttl: u32,
    pub values: Vec<String>,
    /// The origin the data was read under (relative names in data of other types are
    /// relative to it), written back before the set; empty: the zone.
    pub origin: String,
    /// The owner as written (absolute, its case kept), for a set read from the file.
    pub spelled: Option<String>,
}

impl RrSet {
    /// A set Meridian writes: absolute names, the zone's origin.
    pub fn new(name: &str, record_type: RecordType, ttl: u32, values: Vec<String>) -> RrSet {
        RrSet {
            name: name.to_ascii_lowercase(),
            record_type,
            ttl,
            values,
            origin: String::new(),
            spelled: None,
        }
    }

    /// The same records (name, type, TTL and values), however written.
    pub fn same_records(&self, other: &RrSet) -> bool {
        self.name == other.name
            && self.record_type == other.record_type
            && self.ttl == other.ttl
            && self.values == other.values
    }
}

/// Why a zone file cannot be read, with the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub why: String,
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.why)
    }
}

/// Reads a master file of `zone` (its default origin) into record sets, in the file's order;
/// the records of one name and type are one set (its TTL the first one's).
pub fn read(zone: &str, text: &str) -> Result<Vec<RrSet>, SyntaxError> {
    let mut r = Reader {
        origin: zone.trim_end_matches('.').to_string(),
        ttl: None,
        last_ttl: None,
        owner: None,
        sets: Vec::new(),
    };
    for (line, entry) in entries(text)? {
        r.entry(&entry, line)
            .map_err(|why| SyntaxError { line, why })?;
    }
    Ok(r.sets)
}

struct Reader {
    /// As written (its case kept), absolute, without the final dot.
    origin: String,
    /// `$TTL`.
    ttl: Option<u32>,
    /// The last TTL a record stated (RFC 1035's default when there is no `$TTL`).
    last_ttl: Option<u32>,
    /// The last owner, as written (absolute).
    owner: Option<String>,
    sets: Vec<RrSet>,
}

/// One entry: its tokens, and whether it began with blank space (the previous owner).
struct Entry {
    tokens: Vec<String>,
    blank_owner: bool,
}

impl Reader {
    fn entry(&mut self, e: &Entry, _line: usize) -> Result<(), String> {
        let Some(first) = e.tokens.first() else {
            return Ok(());
        };
        match first.to_ascii_uppercase().as_str() {
            "$ORIGIN" => {
                let o = e.tokens.get(1).ok_or("$ORIGIN without a name")?;
                self.origin = self.absolute(o);
                return Ok(());
            }
            "$TTL" => {
                let t = e.tokens.get(1).ok_or("$TTL without a value")?;
                self.ttl = Some(ttl(t).ok_or_else(|| format!("bad $TTL {t}"))?);
                return Ok(());
            }
            d if d.starts_with('$') => return Err(format!("{d} is not supported")),
            _ => {}
        }
        let mut rest = e.tokens.as_slice();
        if !e.blank_owner {
            self.owner = Some(self.absolute(&rest[0]));
            rest = &rest[1..];
        }
        let owner = self.owner.clone().ok_or("a record with no owner name")?;
        let (ttl_given, rest) = ttl_and_class(rest)?;
        let (ty, data) = rest.split_first().ok_or("a record with no type")?;
        let record_type = record_type(ty)?;
        if data.is_empty() {
            return Err(format!("a {record_type} record with no data"));
        }
        // No TTL stated: `$TTL`, else the last one stated (RFC 1035), else an SOA's minimum.
        let soa_minimum = (record_type.as_str() == "SOA")
            .then(|| data.get(6).and_then(|m| ttl(m)))
            .flatten();
        let ttl = ttl_given
            .or(self.ttl)
            .or(self.last_ttl)
            .or(soa_minimum)
            .ok_or("a record with no TTL, and no $TTL or earlier TTL before it")?;
        if ttl_given.is_some() {
            self.last_ttl = ttl_given;
        }
        let value = self.value(&record_type, data);
        self.add(owner, record_type, ttl, value);
        Ok(())
    }

    fn add(&mut self, spelled: String, record_type: RecordType, ttl: u32, value: String) {
        let name = spelled.to_ascii_lowercase();
        if let Some(s) = self
            .sets
            .iter_mut()
            .find(|s| s.name == name && s.record_type == record_type)
        {
            if !s.values.contains(&value) {
                s.values.push(value);
            }
            return;
        }
        self.sets.push(RrSet {
            name,
            record_type,
            ttl,
            values: vec![value],
            origin: self.origin.clone(),
            spelled: Some(spelled),
        });
    }

    /// The record's data as one string, its names made absolute.
    fn value(&self, t: &RecordType, data: &[String]) -> String {
        let names: &[usize] = match t.as_str() {
            "CNAME" | "NS" | "PTR" | "DNAME" => &[0],
            "MX" => &[1],
            "SRV" => &[3],
            "SOA" => &[0, 1],
            _ => &[],
        };
        data.iter()
            .enumerate()
            .map(|(i, d)| {
                if names.contains(&i) {
                    self.absolute(d)
                } else {
                    d.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// A name made absolute against the origin, without the final dot (its case kept).
    fn absolute(&self, name: &str) -> String {
        if name == "@" {
            return self.origin.clone();
        }
        if let Some(abs) = name.strip_suffix('.').filter(|a| !a.ends_with('\\')) {
            return abs.to_string();
        }
        if self.origin.is_empty() {
            return name.to_string();
        }
        format!("{name}.{}", self.origin)
    }
}

/// Record types a zone file may name (IANA's registry, as BIND reads them), besides
/// `TYPEnnn`.
const TYPES: &[&str] = &[
    "A",
    "A6",
    "AAAA",
    "AFSDB",
    "AMTRELAY",
    "APL",
    "ATMA",
    "AVC",
    "CAA",
    "CDNSKEY",
    "CDS",
    "CERT",
    "CNAME",
    "CSYNC",
    "DHCID",
    "DLV",
    "DNAME",
    "DNSKEY",
    "DOA",
    "DS",
    "EID",
    "EUI48",
    "EUI64",
    "GID",
    "GPOS",
    "HINFO",
    "HIP",
    "HTTPS",
    "IPSECKEY",
    "ISDN",
    "KEY",
    "KX",
    "L32",
    "L64",
    "LOC",
    "LP",
    "MB",
    "MD",
    "MF",
    "MG",
    "MINFO",
    "MR",
    "MX",
    "NAPTR",
    "NID",
    "NIMLOC",
    "NINFO",
    "NS",
    "NSAP",
    "NSAP-PTR",
    "NSEC",
    "NSEC3",
    "NSEC3PARAM",
    "NULL",
    "NXT",
    "OPENPGPKEY",
    "PTR",
    "PX",
    "RESINFO",
    "RKEY",
    "RP",
    "RRSIG",
    "RT",
    "SIG",
    "SINK",
    "SMIMEA",
    "SOA",
    "SPF",
    "SRV",
    "SSHFP",
    "SVCB",
    "TA",
    "TALINK",
    "TLSA",
    "TXT",
    "UID",
    "UINFO",
    "UNSPEC",
    "URI",
    "WALLET",
    "WKS",
    "X25",
    "ZONEMD",
];

/// The record type a word names; other words are refused (never written back as a type).
fn record_type(word: &str) -> Result<RecordType, String> {
    let upper = word.to_ascii_uppercase();
    let generic = upper
        .strip_prefix("TYPE")
        .is_some_and(|n| !n.is_empty() && n.parse::<u16>().is_ok());
    if TYPES.contains(&upper.as_str()) || generic {
        Ok(RecordType::parse(&upper))
    } else {
        Err(format!(
            "{word} is not a record type (or a TTL out of range)"
        ))
    }
}

/// The optional TTL and class before a record's type, in either order.
fn ttl_and_class(mut rest: &[String]) -> Result<(Option<u32>, &[String]), String> {
    let mut given = None;
    for _ in 0..2 {
        let Some(t) = rest.first() else { break };
        if t.eq_ignore_ascii_case("IN") {
            rest = &rest[1..];
        } else if matches!(t.to_ascii_uppercase().as_str(), "CH" | "HS" | "CS") {
            return Err(format!("class {t} is not supported (only IN)"));
        } else if let Some(v) = ttl(t).filter(|_| given.is_none()) {
            given = Some(v);
            rest = &rest[1..];
        }
    }
    Ok((given, rest))
}

/// A TTL: seconds, or BIND's units (`1h30m`, `2d`, `1w`).
fn ttl(t: &str) -> Option<u32> {
    if let Ok(n) = t.parse::<u32>() {
        return Some(n);
    }
    let (mut total, mut n) = (0u64, None::<u64>);
    for c in t.chars() {
        if let Some(d) = c.to_digit(10) {
            n = Some(n.unwrap_or(0).checked_mul(10)?.checked_add(u64::from(d))?);
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        total = total.checked_add(n.take()?.checked_mul(unit)?)?;
    }
    if n.is_some() {
        return None;
    }
    u32::try_from(total).ok()
}

/// The file's entries, each with the line it starts on: comments removed, quoted strings
/// kept whole (with their quotes), parenthesised data joined across lines.
fn entries(text: &str) -> Result<Vec<(usize, Entry)>, SyntaxError> {
    let mut out = Vec::new();
    let mut current: Option<(usize, Entry)> = None;
    let mut depth = 0usize;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let fail = |why: &str| SyntaxError {
            line: n,
            why: why.into(),
        };
        if depth == 0 {
            if let Some(done) = current.take() {
                out.push(done);
            }
            let blank_owner = line.starts_with([' ', '\t']);
            current = Some((
                n,
                Entry {
                    tokens: Vec::new(),
                    blank_owner,
                },
            ));
        }
        let Some((_, entry)) = current.as_mut() else {
            return Err(fail("internal: no entry"));
        };
        tokens(line, &mut entry.tokens, &mut depth).map_err(|w| fail(&w))?;
    }
    if depth != 0 {
        return Err(SyntaxError {
            line: text.lines().count(),
            why: "a '(' is never closed".into(),
        });
    }
    out.extend(current);
    Ok(out
        .into_iter()
        .filter(|(_, e)| !e.tokens.is_empty())
        .collect())
}

/// Splits one line into tokens, tracking parentheses; stops at a comment.
fn tokens(line: &str, out: &mut Vec<String>, depth: &mut usize) -> Result<(), String> {
    let mut chars = line.chars().peekable();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut Vec<String>| {
        if !word.is_empty() {
            out.push(std::mem::take(word));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            // An escaped character (`\;`, `\ `, `\(`, `\DDD`) is part of the word, kept as
            // written.
            '\\' => {
                word.push('\\');
                word.push(chars.next().ok_or("a '\\' ends the line")?);
            }
            ';' => break,
            '"' => {
                flush(&mut word, out);
                let mut s = String::from('"');
                loop {
                    match chars.next() {
                        Some('\\') => {
                            s.push('\\');
                            s.extend(chars.next());
                        }
                        Some('"') => break,
                        Some(x) => s.push(x),
                        None => return Err("a quoted string is never closed".into()),
                    }
                }
                s.push('"');
                out.push(s);
            }
            '(' => {
                flush(&mut word, out);
                *depth += 1;
            }
            ')' => {
                flush(&mut word, out);
                *depth = depth.checked_sub(1).ok_or("a ')' with no '('")?;
            }
            c if c.is_whitespace() => flush(&mut word, out),
            c => word.push(c),
        }
    }
    flush(&mut word, out);
    Ok(())
}

/// The zone as a master file: the SOA, the apex NS, then every other record set sorted by
/// name and type, one record per line, owners absolute with their final dot (as spelled when
/// read), each set under the `$ORIGIN` its data was read under.
pub fn write(zone: &str, sets: &[RrSet]) -> String {
    let zone = zone.trim_end_matches('.');
    let mut out = format!(
        "; Zone {zone}, written by meridian's zone-file provider. Comments are not kept.\n"
    );
    let rank = |s: &RrSet| match (s.name == zone.to_ascii_lowercase(), s.record_type.as_str()) {
        (true, "SOA") => 0,
        (true, "NS") => 1,
        _ => 2,
    };
    let mut sorted: Vec<&RrSet> = sets.iter().collect();
    sorted.sort_by(|a, b| {
        (rank(a), &a.name, a.record_type.as_str()).cmp(&(rank(b), &b.name, b.record_type.as_str()))
    });
    let mut origin: Option<&str> = None;
    for s in sorted {
        let here = if s.origin.is_empty() {
            zone
        } else {
            s.origin.as_str()
        };
        if origin != Some(here) {
            out.push_str(&format!("$ORIGIN {here}.\n"));
            origin = Some(here);
        }
        let owner = s.spelled.as_deref().unwrap_or(&s.name);
        for v in &s.values {
            out.push_str(&format!(
                "{owner}. {} IN {} {}\n",
                s.ttl,
                s.record_type,
                data_out(&s.record_type, v)
            ));
        }
    }
    out
}

/// A value's data as written: its names with their final dot.
fn data_out(t: &RecordType, value: &str) -> String {
    let names: &[usize] = match t.as_str() {
        "CNAME" | "NS" | "PTR" | "DNAME" => &[0],
        "MX" => &[1],
        "SRV" => &[3],
        "SOA" => &[0, 1],
        _ => return value.to_string(),
    };
    value
        .split(' ')
        .enumerate()
        .map(|(i, d)| {
            if names.contains(&i) && !d.ends_with('.') {
                format!("{d}.")
            } else {
                d.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The SOA's serial incremented (RFC 1982: it wraps), in its set's one value.
pub fn bump_serial(soa: &mut RrSet) {
    if let Some(v) = soa.values.first_mut() {
        let mut fields: Vec<String> = v.split(' ').map(str::to_string).collect();
        if let Some(serial) = fields.get_mut(2) {
            let n = serial.parse::<u32>().unwrap_or(0).wrapping_add(1).max(1);
            *serial = n.to_string();
        }
        *v = fields.join(" ");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HAND_WRITTEN: &str = r#"
$TTL 1h
@   IN  SOA ns1.example.net. hostmaster ( 2026120701 ; serial
            7200 3600 1209600 300 )
    IN  NS  ns1.example.net.
www 300 IN CNAME web           ; relative
mail    IN 600 MX 10 mx.example.net.
txt  IN TXT "a; b" "c"
a.b.example.com. 60 A 192.0.2.1
a.b.example.com. 60 A 192.0.2.2
"#;

    #[test]
    fn a_hand_written_zone_reads_as_the_record_sets_meridian_compares() {
        let sets = read("example.com", HAND_WRITTEN).unwrap();
        let one = |name: &str, t: &str| {
            sets.iter()
                .find(|s| s.name == name && s.record_type.as_str() == t)
                .unwrap()
                .clone()
        };
        let soa = one("example.com", "SOA");
        assert_eq!(
            soa.values,
            ["ns1.example.net hostmaster.example.com 2026120701 7200 3600 1209600 300"]
        );
        assert_eq!(soa.ttl, 3600);
        assert_eq!(one("example.com", "NS").values, ["ns1.example.net"]);
        let www = one("www.example.com", "CNAME");
        assert_eq!(
            (www.ttl, www.values),
            (300, vec!["web.example.com".to_string()])
        );
        assert_eq!(one("mail.example.com", "MX").values, ["10 mx.example.net"]);
        assert_eq!(one("mail.example.com", "MX").ttl, 600);
        assert_eq!(one("txt.example.com", "TXT").values, [r#""a; b" "c""#]);
        assert_eq!(
            one("a.b.example.com", "A").values,
            ["192.0.2.1", "192.0.2.2"]
        );
    }

    #[test]
    fn what_is_written_reads_back_the_same() {
        let sets = read("example.com", HAND_WRITTEN).unwrap();
        let text = write("example.com", &sets);
        let again = read("example.com", &text).unwrap();
        let key = |v: &[RrSet]| {
            let mut k: Vec<_> = v
                .iter()
                .map(|s| {
                    (
                        s.name.clone(),
                        s.record_type.to_string(),
                        s.ttl,
                        s.values.clone(),
                    )
                })
                .collect();
            k.sort();
            k
        };
        assert_eq!(key(&sets), key(&again));
        assert!(text.contains("www.example.com. 300 IN CNAME web.example.com.\n"));
        assert!(text.lines().nth(2).unwrap().contains(" IN SOA "));
    }

    #[test]
    fn bad_input_is_refused_with_its_line() {
        let e = read("example.com", "$INCLUDE other.zone\n").unwrap_err();
        assert_eq!(e.line, 1);
        let e = read("example.com", "www CNAME web\n").unwrap_err();
        assert!(e.why.contains("no TTL"), "{e}");
        let e = read("example.com", "@ 60 IN SOA a b ( 1 2 3\n").unwrap_err();
        assert!(e.why.contains("never closed"), "{e}");
        assert_eq!(ttl("1h30m"), Some(5400));
        assert_eq!(ttl("1x"), None);
    }

    #[test]
    fn escapes_origins_and_case_are_written_back_as_read() {
        let text = "$TTL 300
@ IN SOA ns1.example.net. hm ( 1 2 3 4 5 )
  IN NS ns1.example.net.
esc IN TXT a\\;b
sp\\ ace IN A 192.0.2.1
Mail IN MX 10 MX.Example.net.
$ORIGIN sub.example.com.
rp2 IN RP admin txtrec
";
        let sets = read("example.com", text).unwrap();
        let out = write("example.com", &sets);
        assert!(out.contains("esc.example.com. 300 IN TXT a\\;b\n"), "{out}");
        assert!(
            out.contains("sp\\ ace.example.com. 300 IN A 192.0.2.1\n"),
            "{out}"
        );
        assert!(
            out.contains("Mail.example.com. 300 IN MX 10 MX.Example.net.\n"),
            "{out}"
        );
        // RP's names are relative to the origin they were read under.
        assert!(
            out.contains("$ORIGIN sub.example.com.\nrp2.sub.example.com. 300 IN RP admin txtrec\n"),
            "{out}"
        );
        let mail = sets
            .iter()
            .find(|s| s.record_type.as_str() == "MX")
            .unwrap();
        assert_eq!(mail.name, "mail.example.com");
    }

    #[test]
    fn a_word_that_is_no_type_is_refused_and_ttls_default_as_rfc_1035_says() {
        let e = read("example.com", "$TTL 60\nwww 99999999999 IN A 192.0.2.1\n").unwrap_err();
        assert!(e.why.contains("not a record type"), "{e}");
        // No $TTL: the last TTL stated, and an SOA with none takes its minimum.
        let sets = read(
            "example.com",
            "@ IN SOA ns hm 1 2 3 4 600\nwww 120 IN A 192.0.2.1\nftp IN A 192.0.2.2\n",
        )
        .unwrap();
        let ttl = |n: &str| sets.iter().find(|s| s.name == n).unwrap().ttl;
        assert_eq!(
            (
                ttl("example.com"),
                ttl("www.example.com"),
                ttl("ftp.example.com")
            ),
            (600, 120, 120)
        );
        assert!(read("example.com", "$TTL 60\nx IN TYPE65280 \\# 0\n").is_ok());
    }

    #[test]
    fn the_serial_moves_on_and_wraps() {
        let mut soa = RrSet::new(
            "example.com",
            RecordType::Other("SOA".into()),
            60,
            vec!["ns hm 4294967295 1 2 3 4".into()],
        );
        bump_serial(&mut soa);
        assert_eq!(soa.values, ["ns hm 1 1 2 3 4"]);
    }
}
