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
/// the record's data as one string (names absolute, without the final dot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RrSet {
    pub name: String,
    pub record_type: RecordType,
    pub ttl: u32,
    pub values: Vec<String>,
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
        origin: zone.trim_end_matches('.').to_ascii_lowercase(),
        ttl: None,
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
    origin: String,
    ttl: Option<u32>,
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
        let record_type = RecordType::parse(&ty.to_ascii_uppercase());
        let ttl = ttl_given
            .or(self.ttl)
            .ok_or("a record with no TTL, and no $TTL before it")?;
        if data.is_empty() {
            return Err(format!("a {record_type} record with no data"));
        }
        let value = self.value(&record_type, data);
        self.add(owner, record_type, ttl, value);
        Ok(())
    }

    fn add(&mut self, name: String, record_type: RecordType, ttl: u32, value: String) {
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

    /// A name made absolute against the origin, lower-cased, without the final dot.
    fn absolute(&self, name: &str) -> String {
        if name == "@" {
            return self.origin.clone();
        }
        if let Some(abs) = name.strip_suffix('.') {
            return abs.to_ascii_lowercase();
        }
        if self.origin.is_empty() {
            return name.to_ascii_lowercase();
        }
        format!("{}.{}", name.to_ascii_lowercase(), self.origin)
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

/// The zone as a master file: `$ORIGIN`, the SOA, the apex NS, then every other record set
/// sorted by name and type, one record per line, names absolute with their final dot.
pub fn write(zone: &str, sets: &[RrSet]) -> String {
    let zone = zone.trim_end_matches('.');
    let mut out = format!(
        "; Zone {zone}, written by meridian's zone-file provider. Comments are not kept.\n$ORIGIN {zone}.\n"
    );
    let rank = |s: &RrSet| match (s.name == zone, s.record_type.as_str()) {
        (true, "SOA") => 0,
        (true, "NS") => 1,
        _ => 2,
    };
    let mut sorted: Vec<&RrSet> = sets.iter().collect();
    sorted.sort_by(|a, b| {
        (rank(a), &a.name, a.record_type.as_str()).cmp(&(rank(b), &b.name, b.record_type.as_str()))
    });
    for s in sorted {
        for v in &s.values {
            out.push_str(&format!(
                "{}. {} IN {} {}\n",
                s.name,
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
    fn the_serial_moves_on_and_wraps() {
        let mut soa = RrSet {
            name: "example.com".into(),
            record_type: RecordType::Other("SOA".into()),
            ttl: 60,
            values: vec!["ns hm 4294967295 1 2 3 4".into()],
        };
        bump_serial(&mut soa);
        assert_eq!(soa.values, ["ns hm 1 1 2 3 4"]);
    }
}
