//! A list of byte strings inside an AOF record or a base entry: the fields and values
//! of `HSET`, the members of `SADD`, a whole collection in a base.
//!
//! Encoded as `[count u32 LE][body_len u32 LE][body]`, where the body is `count` byte
//! strings, each `[len u32 LE][bytes]`. [`Elems`] borrows the body of a decoded record
//! (records borrow their buffer, so effects stay `Copy`); [`ElemsBuf`] builds one.
//! A score of a sorted set travels as an 8-byte element (`f64::to_le_bytes`).

use crate::bytes::{FieldError, Reader};

/// Encoded elements, borrowed. Always well formed: only [`Elems::decode`] and
/// [`ElemsBuf::as_elems`] make one, and both check or build the framing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elems<'a> {
    count: u32,
    body: &'a [u8],
}

impl<'a> Elems<'a> {
    pub const EMPTY: Elems<'static> = Elems {
        count: 0,
        body: &[],
    };

    pub fn len(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn iter(&self) -> ElemsIter<'a> {
        ElemsIter {
            reader: Reader::new(self.body),
            left: self.count,
        }
    }

    /// The elements two by two (field and value, score and member). Decoders of
    /// paired lists check the count is even.
    pub fn pairs(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> {
        let mut items = self.iter();
        std::iter::from_fn(move || Some((items.next()?, items.next()?)))
    }

    /// The encoded length: the two counts and the body.
    pub fn encoded_len(&self) -> usize {
        8 + self.body.len()
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.count.to_le_bytes());
        let body_len = u32::try_from(self.body.len()).expect("bodies are bounded by records");
        out.extend_from_slice(&body_len.to_le_bytes());
        out.extend_from_slice(self.body);
    }

    /// Decode from a record or base entry. Every element must fit its body exactly.
    pub(crate) fn decode(reader: &mut Reader<'a>) -> Result<Elems<'a>, FieldError> {
        let count = reader.u32()?;
        let body = reader.bytes(usize::MAX)?;
        let mut check = Reader::new(body);
        for _ in 0..count {
            check.bytes(usize::MAX)?;
        }
        if !check.rest.is_empty() {
            return Err("trailing bytes after the elements");
        }
        Ok(Elems { count, body })
    }

    /// Decode a list of pairs: an even count.
    pub(crate) fn decode_pairs(reader: &mut Reader<'a>) -> Result<Elems<'a>, FieldError> {
        let elems = Elems::decode(reader)?;
        if elems.count % 2 != 0 {
            return Err("an odd count of paired elements");
        }
        Ok(elems)
    }
}

pub struct ElemsIter<'a> {
    reader: Reader<'a>,
    left: u32,
}

impl<'a> Iterator for ElemsIter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        Some(
            self.reader
                .bytes(usize::MAX)
                .expect("elements are well formed"),
        )
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left as usize, Some(self.left as usize))
    }
}

/// Builds elements to log.
#[derive(Clone, Debug, Default)]
pub struct ElemsBuf {
    count: u32,
    body: Vec<u8>,
}

impl ElemsBuf {
    pub fn new() -> ElemsBuf {
        ElemsBuf::default()
    }

    pub fn push(&mut self, bytes: &[u8]) {
        let len = u32::try_from(bytes.len()).expect("request arguments are bounded");
        self.body.extend_from_slice(&len.to_le_bytes());
        self.body.extend_from_slice(bytes);
        self.count = self.count.checked_add(1).expect("element count fits u32");
    }

    /// A sorted set's score, as an 8-byte element.
    pub fn push_score(&mut self, score: f64) {
        self.push(&score.to_le_bytes());
    }

    pub fn len(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes the elements take in a record.
    pub fn encoded_len(&self) -> usize {
        8 + self.body.len()
    }

    pub fn as_elems(&self) -> Elems<'_> {
        Elems {
            count: self.count,
            body: &self.body,
        }
    }
}

/// A score element back as a number: exactly 8 bytes, never NaN.
pub fn score_of(element: &[u8]) -> Result<f64, FieldError> {
    let bytes: [u8; 8] = element.try_into().map_err(|_| "a score is not 8 bytes")?;
    let score = f64::from_le_bytes(bytes);
    if score.is_nan() {
        return Err("a score is NaN");
    }
    Ok(score)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_round_trip_and_bad_framing_is_refused() {
        let mut buf = ElemsBuf::new();
        for item in [&b"a"[..], b"", b"\r\n\0"] {
            buf.push(item);
        }
        let mut encoded = Vec::new();
        buf.as_elems().encode(&mut encoded);
        assert_eq!(encoded.len(), buf.encoded_len());
        let mut reader = Reader::new(&encoded);
        let elems = Elems::decode(&mut reader).unwrap();
        assert!(reader.rest.is_empty());
        assert_eq!(
            elems.iter().collect::<Vec<_>>(),
            [&b"a"[..], b"", b"\r\n\0"]
        );
        assert_eq!(
            Elems::decode_pairs(&mut Reader::new(&encoded)),
            Err("an odd count of paired elements")
        );
        // A count that claims more elements than the body holds.
        let mut lying = encoded.clone();
        lying[0] = 4;
        assert!(Elems::decode(&mut Reader::new(&lying)).is_err());
        // A count that claims fewer leaves trailing bytes.
        lying[0] = 2;
        assert_eq!(
            Elems::decode(&mut Reader::new(&lying)),
            Err("trailing bytes after the elements")
        );
    }

    #[test]
    fn scores_are_eight_bytes_and_never_nan() {
        assert_eq!(score_of(&1.5f64.to_le_bytes()), Ok(1.5));
        assert!(score_of(&f64::NAN.to_le_bytes()).is_err());
        assert!(score_of(b"1234567").is_err());
        let mut buf = ElemsBuf::new();
        buf.push_score(f64::NEG_INFINITY);
        buf.push(b"m");
        let pairs: Vec<_> = buf.as_elems().pairs().collect();
        assert_eq!(score_of(pairs[0].0), Ok(f64::NEG_INFINITY));
        assert_eq!(pairs[0].1, b"m");
    }
}
