//! IVF: the 32-byte file header and 12-byte frame headers of the simple AV1 test container.

use super::BitstreamError;

/// Size of the file header.
pub const FILE_HEADER_LEN: usize = 32;
/// Size of each frame header.
pub const FRAME_HEADER_LEN: usize = 12;
/// Byte offset of the frame count in the file header.
pub const FRAME_COUNT_OFFSET: u64 = 24;

/// The fields of an IVF file header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IvfHeader {
    /// Codec FourCC (`AV01`).
    pub fourcc: [u8; 4],
    /// Width in pixels.
    pub width: u16,
    /// Height in pixels.
    pub height: u16,
    /// Time base denominator (ticks per second).
    pub timebase_den: u32,
    /// Time base numerator.
    pub timebase_num: u32,
    /// Number of frames.
    pub frame_count: u32,
}

impl IvfHeader {
    /// The 32 header bytes.
    pub fn to_bytes(&self) -> [u8; FILE_HEADER_LEN] {
        let mut b = [0u8; FILE_HEADER_LEN];
        b[0..4].copy_from_slice(b"DKIF");
        b[4..6].copy_from_slice(&0u16.to_le_bytes());
        #[expect(clippy::cast_possible_truncation, reason = "the header is 32 bytes")]
        b[6..8].copy_from_slice(&(FILE_HEADER_LEN as u16).to_le_bytes());
        b[8..12].copy_from_slice(&self.fourcc);
        b[12..14].copy_from_slice(&self.width.to_le_bytes());
        b[14..16].copy_from_slice(&self.height.to_le_bytes());
        b[16..20].copy_from_slice(&self.timebase_den.to_le_bytes());
        b[20..24].copy_from_slice(&self.timebase_num.to_le_bytes());
        b[24..28].copy_from_slice(&self.frame_count.to_le_bytes());
        b
    }

    /// Parses a file header.
    pub fn parse(b: &[u8]) -> Result<Self, BitstreamError> {
        if b.len() < FILE_HEADER_LEN {
            return Err(BitstreamError::Truncated {
                what: "IVF header",
                needed: 256,
                at: b.len() * 8,
            });
        }
        if &b[0..4] != b"DKIF" {
            return Err(BitstreamError::Invalid {
                what: "IVF file does not start with DKIF".into(),
            });
        }
        let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        Ok(Self {
            fourcc: [b[8], b[9], b[10], b[11]],
            width: u16_at(12),
            height: u16_at(14),
            timebase_den: u32_at(16),
            timebase_num: u32_at(20),
            frame_count: u32_at(24),
        })
    }
}

/// A frame header: payload size and timestamp.
pub fn frame_header(size: u32, pts: i64) -> [u8; FRAME_HEADER_LEN] {
    let mut b = [0u8; FRAME_HEADER_LEN];
    b[0..4].copy_from_slice(&size.to_le_bytes());
    b[4..12].copy_from_slice(&pts.to_le_bytes());
    b
}

/// Iterates over the frames of a whole IVF file: `(pts, payload)`.
pub fn frames(file: &[u8]) -> Result<Vec<(i64, &[u8])>, BitstreamError> {
    IvfHeader::parse(file)?;
    let mut out = Vec::new();
    let mut pos = FILE_HEADER_LEN;
    while pos < file.len() {
        if pos + FRAME_HEADER_LEN > file.len() {
            return Err(BitstreamError::Truncated {
                what: "IVF frame header",
                needed: 96,
                at: pos * 8,
            });
        }
        let size = u32::from_le_bytes(file[pos..pos + 4].try_into().unwrap_or_default()) as usize;
        let pts = i64::from_le_bytes(file[pos + 4..pos + 12].try_into().unwrap_or_default());
        let start = pos + FRAME_HEADER_LEN;
        if start + size > file.len() {
            return Err(BitstreamError::Truncated {
                what: "IVF frame",
                needed: size * 8,
                at: start * 8,
            });
        }
        out.push((pts, &file[start..start + size]));
        pos = start + size;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_frames_are_walked() {
        let h = IvfHeader {
            fourcc: *b"AV01",
            width: 640,
            height: 360,
            timebase_den: 60,
            timebase_num: 1,
            frame_count: 2,
        };
        let mut file = h.to_bytes().to_vec();
        file.extend_from_slice(&frame_header(2, 0));
        file.extend_from_slice(&[1, 2]);
        file.extend_from_slice(&frame_header(1, 1));
        file.push(3);
        assert_eq!(IvfHeader::parse(&file).unwrap(), h);
        assert_eq!(
            frames(&file).unwrap(),
            vec![(0, &[1u8, 2][..]), (1, &[3u8][..])]
        );
        assert!(frames(&file[..file.len() - 1]).is_err());
    }
}
