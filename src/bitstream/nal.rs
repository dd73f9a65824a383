//! H.264/HEVC NAL units: the Annex-B walker, emulation prevention, and length-prefixed framing.

use super::BitstreamError;

/// Iterates over the NAL units of an Annex-B byte stream, yielding each NAL without its start
/// code and without trailing zero bytes.
#[derive(Clone, Debug)]
pub struct AnnexBNals<'a> {
    data: &'a [u8],
    pos: usize,
}

/// The position just past the next `00 00 01` start code at or after `from`, if any.
fn next_start_code_end(data: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i + 3 <= data.len() {
        if data[i + 2] > 1 {
            i += 3;
        } else if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            return Some(i + 3);
        } else {
            i += 1;
        }
    }
    None
}

impl<'a> AnnexBNals<'a> {
    /// A walker over `data`. Bytes before the first start code are ignored (an encoder writes
    /// none; a file that has them is checked by [`validate_annexb`]).
    pub fn new(data: &'a [u8]) -> Self {
        let pos = next_start_code_end(data, 0).unwrap_or(data.len());
        Self { data, pos }
    }
}

impl<'a> Iterator for AnnexBNals<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        while self.pos < self.data.len() {
            let start = self.pos;
            let (end, next) = match next_start_code_end(self.data, start) {
                Some(n) => (n - 3, n),
                None => (self.data.len(), self.data.len()),
            };
            self.pos = next;
            let mut nal = &self.data[start..end];
            while let [rest @ .., 0] = nal {
                nal = rest;
            }
            if !nal.is_empty() {
                return Some(nal);
            }
        }
        None
    }
}

/// Checks that `data` is a well-formed Annex-B stream: it starts with a start code, and every
/// NAL unit has a header with the forbidden bit clear. Returns the number of NAL units.
pub fn validate_annexb(data: &[u8]) -> Result<usize, BitstreamError> {
    if !(data.starts_with(&[0, 0, 1]) || data.starts_with(&[0, 0, 0, 1])) {
        return Err(BitstreamError::Invalid {
            what: "Annex-B data does not begin with a start code".into(),
        });
    }
    let mut n = 0;
    for nal in AnnexBNals::new(data) {
        if nal[0] & 0x80 != 0 {
            return Err(BitstreamError::Invalid {
                what: format!("NAL unit {n} has forbidden_zero_bit set"),
            });
        }
        n += 1;
    }
    Ok(n)
}

/// The H.264 `nal_unit_type` of a NAL (5 bits).
pub fn h264_nal_type(nal: &[u8]) -> u8 {
    nal.first().map_or(0, |b| b & 0x1f)
}

/// The HEVC `nal_unit_type` of a NAL (6 bits).
pub fn hevc_nal_type(nal: &[u8]) -> u8 {
    nal.first().map_or(0, |b| (b >> 1) & 0x3f)
}

/// H.264 NAL unit types used here.
pub mod h264 {
    /// Coded slice of an IDR picture.
    pub const IDR: u8 = 5;
    /// Sequence parameter set.
    pub const SPS: u8 = 7;
    /// Picture parameter set.
    pub const PPS: u8 = 8;
    /// Access unit delimiter.
    pub const AUD: u8 = 9;
}

/// HEVC NAL unit types used here.
pub mod hevc {
    /// First IRAP type (BLA_W_LP).
    pub const IRAP_FIRST: u8 = 16;
    /// Last IRAP type (reserved IRAP 23).
    pub const IRAP_LAST: u8 = 23;
    /// IDR_W_RADL.
    pub const IDR_W_RADL: u8 = 19;
    /// IDR_N_LP.
    pub const IDR_N_LP: u8 = 20;
    /// Video parameter set.
    pub const VPS: u8 = 32;
    /// Sequence parameter set.
    pub const SPS: u8 = 33;
    /// Picture parameter set.
    pub const PPS: u8 = 34;
}

/// Removes emulation-prevention bytes (`00 00 03` -> `00 00`), giving the RBSP.
pub fn unescape_rbsp(nal: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(nal.len());
    let mut zeros = 0;
    for &b in nal {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

/// Appends `rbsp` to `out` with emulation prevention (`00 00 0x` with x <= 3 -> `00 00 03 0x`),
/// as a NAL unit's payload must be written; [`unescape_rbsp`] undoes it.
pub fn escape_rbsp(rbsp: &[u8], out: &mut Vec<u8>) {
    let mut zeros = 0;
    for &b in rbsp {
        if zeros >= 2 && b <= 3 {
            out.push(3);
            zeros = 0;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
}

/// Appends `annexb` to `out` with each NAL behind a 4-byte big-endian length (AVCC/HVCC framing).
pub fn annexb_to_length_prefixed(annexb: &[u8], out: &mut Vec<u8>) -> Result<(), BitstreamError> {
    for nal in AnnexBNals::new(annexb) {
        let len = u32::try_from(nal.len()).map_err(|_| BitstreamError::Invalid {
            what: format!("NAL of {} bytes", nal.len()),
        })?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(nal);
    }
    Ok(())
}

/// Iterates over the NALs of a 4-byte length-prefixed buffer.
pub fn length_prefixed_nals(data: &[u8]) -> impl Iterator<Item = Result<&[u8], BitstreamError>> {
    let mut pos = 0;
    std::iter::from_fn(move || {
        if pos >= data.len() {
            return None;
        }
        if pos + 4 > data.len() {
            pos = data.len();
            return Some(Err(BitstreamError::Truncated {
                what: "NAL length",
                needed: 32,
                at: pos * 8,
            }));
        }
        let len =
            u32::from_be_bytes([data[pos], data[pos + 1], data[pos + 2], data[pos + 3]]) as usize;
        let start = pos + 4;
        if len == 0 || start + len > data.len() {
            pos = data.len();
            return Some(Err(BitstreamError::Truncated {
                what: "NAL unit",
                needed: len * 8,
                at: start * 8,
            }));
        }
        pos = start + len;
        Some(Ok(&data[start..start + len]))
    })
}

/// Appends a length-prefixed buffer to `out` as Annex-B with 4-byte start codes.
pub fn length_prefixed_to_annexb(data: &[u8], out: &mut Vec<u8>) -> Result<(), BitstreamError> {
    for nal in length_prefixed_nals(data) {
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(nal?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walker_splits_three_and_four_byte_start_codes() {
        let data = [
            0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 0, 0, 3, 1, 0,
        ];
        let nals: Vec<&[u8]> = AnnexBNals::new(&data).collect();
        assert_eq!(
            nals,
            vec![&[0x67, 1, 2][..], &[0x68, 3][..], &[0x65, 0, 0, 3, 1][..]]
        );
        assert_eq!(h264_nal_type(nals[0]), h264::SPS);
        assert_eq!(validate_annexb(&data).unwrap(), 3);
    }

    #[test]
    fn emulation_prevention_is_inserted_where_the_rbsp_needs_it() {
        let mut out = Vec::new();
        escape_rbsp(&[0, 0, 1, 0, 0, 0, 0, 0, 4, 0, 0], &mut out);
        assert_eq!(out, [0, 0, 3, 1, 0, 0, 3, 0, 0, 3, 0, 4, 0, 0]);
        assert_eq!(unescape_rbsp(&out), [0, 0, 1, 0, 0, 0, 0, 0, 4, 0, 0]);
    }

    #[test]
    fn emulation_prevention_is_removed() {
        assert_eq!(
            unescape_rbsp(&[0, 0, 3, 1, 0, 0, 3, 0, 0, 3]),
            vec![0, 0, 1, 0, 0, 0, 0]
        );
    }

    #[test]
    fn length_prefixed_round_trips() {
        let data = [0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3];
        let mut lp = Vec::new();
        annexb_to_length_prefixed(&data, &mut lp).unwrap();
        assert_eq!(lp, [0, 0, 0, 3, 0x67, 1, 2, 0, 0, 0, 2, 0x68, 3]);
        let mut back = Vec::new();
        length_prefixed_to_annexb(&lp, &mut back).unwrap();
        assert_eq!(back, [0, 0, 0, 1, 0x67, 1, 2, 0, 0, 0, 1, 0x68, 3]);
        assert!(length_prefixed_to_annexb(&lp[..lp.len() - 1], &mut Vec::new()).is_err());
    }

    #[test]
    fn garbage_is_rejected() {
        assert!(validate_annexb(&[1, 2, 3]).is_err());
        assert!(validate_annexb(&[0, 0, 1, 0x80]).is_err());
    }
}
