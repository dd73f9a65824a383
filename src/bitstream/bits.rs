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

    /// Reads `n` (at most 64) bits as an unsigned number.
    pub fn bits(&mut self, n: u32) -> Result<u64, BitstreamError> {
        debug_assert!(n <= 64);
        if self.pos + n as usize > self.data.len() * 8 {
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
            v = (v << 1) | bit as u64;
            self.pos += 1;
        }
        Ok(v)
    }

    /// Reads `n` (at most 32) bits.
    pub fn u32(&mut self, n: u32) -> Result<u32, BitstreamError> {
        Ok(self.bits(n)? as u32)
    }

    /// Reads one bit as a flag.
    pub fn flag(&mut self) -> Result<bool, BitstreamError> {
        Ok(self.bits(1)? == 1)
    }

    /// Skips `n` bits.
    pub fn skip(&mut self, n: usize) -> Result<(), BitstreamError> {
        if self.pos + n > self.data.len() * 8 {
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
        let rest = self.bits(zeros)?;
        Ok(((1u64 << zeros) - 1 + rest) as u32)
    }

    /// Reads a signed Exp-Golomb code, `se(v)`.
    pub fn se(&mut self) -> Result<i32, BitstreamError> {
        let k = self.ue()? as i64;
        Ok(if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) } as i32)
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
        Ok(((1u64 << zeros) - 1 + self.bits(zeros)?) as u32)
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
}
