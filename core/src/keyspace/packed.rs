//! The packed form of a small collection, as Redis's listpack: one buffer of items,
//! each a varint length and its bytes, searched by a walk. A handful of items cost a
//! byte or two each where a table costs an allocation and a slot per item.

/// Append a varint length and the bytes.
pub fn put(bytes: &mut Vec<u8>, item: &[u8]) {
    let mut len = item.len();
    loop {
        let low = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            bytes.push(low);
            break;
        }
        bytes.push(low | 0x80);
    }
    bytes.extend_from_slice(item);
}

/// The bytes `put` writes for an item.
pub fn encoded(item: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(item.len() + 2);
    put(&mut bytes, item);
    bytes
}

/// The item at `at` of a packed buffer and where the next one starts. The buffer is
/// only ever written by `put`, so it is well formed.
pub fn take(bytes: &[u8], mut at: usize) -> (&[u8], usize) {
    let mut len = 0usize;
    let mut shift = 0;
    loop {
        let byte = bytes[at];
        at += 1;
        len |= usize::from(byte & 0x7f) << shift;
        shift += 7;
        if byte & 0x80 == 0 {
            break;
        }
    }
    (&bytes[at..at + len], at + len)
}

/// The items of a packed buffer, from the first, with where each starts.
pub fn items(bytes: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let mut at = 0;
    std::iter::from_fn(move || {
        if at == bytes.len() {
            return None;
        }
        let start = at;
        let (item, next) = take(bytes, at);
        at = next;
        Some((start, item))
    })
}

/// The items of a packed buffer taken two by two (a hash's field and value, a sorted
/// set's member and score), with where each pair starts.
pub fn pairs(bytes: &[u8]) -> impl Iterator<Item = (usize, &[u8], &[u8])> {
    let mut at = 0;
    std::iter::from_fn(move || {
        if at == bytes.len() {
            return None;
        }
        let start = at;
        let (first, next) = take(bytes, at);
        let (second, next) = take(bytes, next);
        at = next;
        Some((start, first, second))
    })
}

/// Where the pair that starts at `start` ends.
pub fn pair_end(bytes: &[u8], start: usize) -> usize {
    let (_, second) = take(bytes, start);
    take(bytes, second).1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_round_trip_with_one_and_two_byte_lengths() {
        let long = vec![b'x'; 200];
        let mut bytes = Vec::new();
        put(&mut bytes, b"");
        put(&mut bytes, b"ab");
        bytes.extend(encoded(&long));
        assert_eq!(bytes.len(), 1 + 3 + 2 + 200);
        let got: Vec<_> = items(&bytes).collect();
        assert_eq!(got, [(0, &b""[..]), (1, &b"ab"[..]), (4, &long[..])]);
    }
}
