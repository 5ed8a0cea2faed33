//! A cursor over bytes from outside (an AOF record body, a peer message, the metadata
//! file): a field that runs past the end is an error, never a panic. Each decoder turns
//! the error text into its own error type.

/// What went wrong, in words for the decoder's error.
pub(crate) type FieldError = &'static str;

pub(crate) const FIELD_PAST_END: FieldError = "field runs past the end";
pub(crate) const LENGTH_OVER_BOUND: FieldError = "length over its bound";

pub(crate) struct Reader<'a> {
    pub rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { rest: bytes }
    }

    pub fn take(&mut self, len: usize) -> Result<&'a [u8], FieldError> {
        if len > self.rest.len() {
            return Err(FIELD_PAST_END);
        }
        let (field, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(field)
    }

    pub fn u8(&mut self) -> Result<u8, FieldError> {
        Ok(self.take(1)?[0])
    }

    pub fn u32(&mut self) -> Result<u32, FieldError> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    pub fn u64(&mut self) -> Result<u64, FieldError> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    /// A u32-length-prefixed byte string of at most `max` bytes.
    pub fn bytes(&mut self, max: usize) -> Result<&'a [u8], FieldError> {
        let len = self.u32()? as usize;
        if len > max {
            return Err(LENGTH_OVER_BOUND);
        }
        self.take(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_past_the_end_are_errors() {
        let mut reader = Reader::new(&[1, 2, 0, 0, 0, 9]);
        assert_eq!(reader.u8(), Ok(1));
        assert_eq!(reader.u64(), Err(FIELD_PAST_END));
        assert_eq!(reader.take(0), Ok(&[][..]));
        let mut reader = Reader::new(&[3, 0, 0, 0, b'a', b'b']);
        assert_eq!(reader.bytes(2), Err(LENGTH_OVER_BOUND));
        let mut reader = Reader::new(&[3, 0, 0, 0, b'a', b'b']);
        assert_eq!(reader.bytes(8), Err(FIELD_PAST_END));
    }
}
