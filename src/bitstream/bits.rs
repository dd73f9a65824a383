//! A big-endian bit reader for parameter sets and sequence headers.

use super::BitstreamError;

/// Reads bits most-significant first from a byte slice (RBSP: emulation prevention removed).
#[derive(Clone, Debug)]
pub struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> BitReader<'a> {
    /// A reader at the first bit of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    /// Bits read so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bits left to read.
    fn remaining(&self) -> usize {
        (self.data.len().saturating_mul(8)).saturating_sub(self.pos)
    }

    /// Reads `n` (at most 64) bits as an unsigned number.
    pub fn bits(&mut self, n: u32) -> Result<u64, BitstreamError> {
        if n > 64 {
            return Err(BitstreamError::Invalid {
                what: format!("a field of {n} bits (at most 64 are read at once)"),
            });
        }
        if n as usize > self.remaining() {
            return Err(BitstreamError::Truncated {
                what: "bit field",
                needed: n as usize,
                at: self.pos,
            });
        }
        let mut v = 0u64;
        for _ in 0..n {
            let byte = self.data[self.pos / 8];
            let bit = (byte >> (7 - (self.pos % 8))) & 1;
            v = (v << 1) | u64::from(bit);
            self.pos += 1;
        }
        Ok(v)
    }

    /// Reads `n` (at most 32) bits.
    pub fn u32(&mut self, n: u32) -> Result<u32, BitstreamError> {
        if n > 32 {
            return Err(BitstreamError::Invalid {
                what: format!("a field of {n} bits read as a 32-bit number"),
            });
        }
        // At most 32 bits: fits.
        Ok(u32::try_from(self.bits(n)?).unwrap_or(u32::MAX))
    }

    /// Reads `n` <= 8 bits as an unsigned byte (a field of at most 8 bits).
    pub fn u8(&mut self, n: u32) -> Result<u8, BitstreamError> {
        if n > 8 {
            return Err(BitstreamError::Invalid {
                what: format!("a field of {n} bits read as an 8-bit number"),
            });
        }
        // At most 8 bits: fits.
        Ok(u8::try_from(self.bits(n)?).unwrap_or(u8::MAX))
    }

    /// Reads one bit as a flag.
    pub fn flag(&mut self) -> Result<bool, BitstreamError> {
        Ok(self.bits(1)? == 1)
    }

    /// Skips `n` bits.
    pub fn skip(&mut self, n: usize) -> Result<(), BitstreamError> {
        if n > self.remaining() {
            return Err(BitstreamError::Truncated {
                what: "skipped bits",
                needed: n,
                at: self.pos,
            });
        }
        self.pos += n;
        Ok(())
    }

    /// Reads an unsigned Exp-Golomb code, `ue(v)` of H.264/H.265.
    pub fn ue(&mut self) -> Result<u32, BitstreamError> {
        let mut zeros = 0;
        while !self.flag()? {
            zeros += 1;
            if zeros > 31 {
                return Err(BitstreamError::Invalid {
                    what: "exp-golomb code longer than 32 bits".into(),
                });
            }
        }
        // zeros <= 31: (2^zeros - 1) + rest < 2^32 - 1.
        let rest = self.bits(zeros)?;
        u32::try_from((1u64 << zeros) - 1 + rest).map_err(|_| BitstreamError::Invalid {
            what: "exp-golomb code above 32 bits".into(),
        })
    }

    /// Reads a signed Exp-Golomb code, `se(v)`.
    pub fn se(&mut self) -> Result<i32, BitstreamError> {
        let k = i64::from(self.ue()?);
        let v = if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) };
        i32::try_from(v).map_err(|_| BitstreamError::Invalid {
            what: format!("signed exp-golomb value {v} (beyond 32 bits)"),
        })
    }

    /// Reads AV1's `uvlc()`.
    pub fn uvlc(&mut self) -> Result<u32, BitstreamError> {
        let mut zeros = 0;
        while !self.flag()? {
            zeros += 1;
            if zeros >= 32 {
                return Ok(u32::MAX);
            }
        }
        // zeros <= 31: the value fits in 32 bits.
        let rest = self.bits(zeros)?;
        Ok(u32::try_from((1u64 << zeros) - 1 + rest).unwrap_or(u32::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_golomb_decodes_the_textbook_values() {
        // 1 | 010 | 011 | 00100 | 00101 -> 0, 1, 2, 3, 4
        let data = [0b1010_0110, 0b0100_0010, 0b1000_0000];
        let mut r = BitReader::new(&data);
        let v: Vec<u32> = (0..5).map(|_| r.ue().unwrap()).collect();
        assert_eq!(v, [0, 1, 2, 3, 4]);
        let mut r = BitReader::new(&data);
        let s: Vec<i32> = (0..5).map(|_| r.se().unwrap()).collect();
        assert_eq!(s, [0, 1, -1, 2, -2]);
    }

    #[test]
    fn reading_past_the_end_is_an_error() {
        let mut r = BitReader::new(&[0xff]);
        assert_eq!(r.bits(8).unwrap(), 0xff);
        assert!(r.flag().is_err());
        assert!(BitReader::new(&[0, 0, 0, 0, 0]).ue().is_err());
    }

    #[test]
    fn over_wide_fields_and_skips_are_errors_not_panics() {
        let data = [0xffu8; 16];
        let mut r = BitReader::new(&data);
        assert!(matches!(r.bits(65), Err(BitstreamError::Invalid { .. })));
        assert!(matches!(r.u32(33), Err(BitstreamError::Invalid { .. })));
        assert!(r.flag().unwrap());
        assert!(matches!(
            r.skip(usize::MAX),
            Err(BitstreamError::Truncated { .. })
        ));
        assert_eq!(r.position(), 1);
        assert_eq!(r.bits(64).unwrap(), u64::MAX);
    }
}
