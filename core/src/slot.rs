//! Redis Cluster key slots: CRC16 (XMODEM) of the key, or of its hash tag, mod 16384.
//! Bucket is one shard owning every slot, but `-MOVED` replies carry the key's real slot
//! so that cluster clients update their slot tables correctly.

pub const SLOT_COUNT: u16 = 16384;

/// CRC16-CCITT (XMODEM), the variant Redis Cluster uses: polynomial 0x1021, init 0.
pub fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in bytes {
        crc ^= (byte as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// The part of the key that is hashed: the text between the first `{` and the next `}`,
/// if that is non-empty; otherwise the whole key.
pub fn hash_tag(key: &[u8]) -> &[u8] {
    let Some(open) = key.iter().position(|&b| b == b'{') else {
        return key;
    };
    let rest = &key[open + 1..];
    match rest.iter().position(|&b| b == b'}') {
        Some(close) if close > 0 => &rest[..close],
        _ => key,
    }
}

pub fn key_slot(key: &[u8]) -> u16 {
    let slot = crc16(hash_tag(key)) % SLOT_COUNT;
    debug_assert!(slot < SLOT_COUNT);
    slot
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc16_matches_the_redis_cluster_reference_vector() {
        // The check value from the Redis Cluster specification.
        assert_eq!(crc16(b"123456789"), 0x31C3);
    }

    #[test]
    fn slots_match_redis() {
        let cases: &[(&[u8], u16)] = &[
            (b"foo", 12182),
            (b"bar", 5061),
            (b"{user1000}.following", 3443),
            (b"{user1000}.followers", 3443),
            (b"foo{}{bar}", 8363),
            (b"foo{{bar}}zap", 4015),
            (b"foo{bar}{zap}", 5061),
            (b"", 0),
        ];
        for (i, (key, want)) in cases.iter().enumerate() {
            let got = key_slot(key);
            assert_eq!(got, *want, "#{i}: key {:?}", String::from_utf8_lossy(key));
        }
    }
}
