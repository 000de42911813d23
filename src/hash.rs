//! A small stable hash (FNV-1a, 64 bit) for fingerprints and ownership markers: unlike std's
//! hasher, its output never changes between Rust releases, so saved plans stay comparable.

pub fn fnv64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// FNV-1a fed as it is written: the hash of everything written equals [`fnv64`] of it in one
/// piece, without holding it (a large document's fingerprint, serialised straight into it).
pub struct Fnv64(pub u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
}

impl std::io::Write for Fnv64 {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        for b in buf {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The first `len` hex digits (at most 16) of the hash of `s`.
pub fn hex(s: &str, len: usize) -> String {
    let full = format!("{:016x}", fnv64(s.as_bytes()));
    full[..len.min(16)].to_string()
}

/// A fresh 16-hex-digit id: the time, the process and `salt`, hashed (plan ids, lock ids,
/// store lineages).
pub fn fresh_id(salt: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hex(&format!("{now}-{}-{salt}", std::process::id()), 16)
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_values() {
        assert_eq!(super::fnv64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(super::fnv64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(super::hex("a", 8), "af63dc4c");
        let mut w = super::Fnv64::default();
        std::io::Write::write_all(&mut w, b"ab").unwrap_or_default();
        std::io::Write::write_all(&mut w, b"c").unwrap_or_default();
        assert_eq!(w.0, super::fnv64(b"abc"));
    }
}
