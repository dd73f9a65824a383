//! A deterministic animated test pattern with fine detail and motion.
//!
//! Each frame is a scrolling texture (a zone plate whose rings get finer outwards, a grid, and
//! hashed noise: detail that costs bits) plus a bouncing box (local motion) and, in the top-left
//! corner, the frame number written as a row of black and white cells that survive lossy coding
//! ([`read_frame_code`] reads it back from a decoded frame). The same frame number always gives
//! the same pixels.

use std::sync::Arc;

use super::{FrameSource, SourceError, SourceInfo};
use crate::format::PixelFormat;
use crate::frame::{BufferPool, CpuImage, Frame};
use crate::time::{Rational, Timestamp};

/// Bits of the frame-number code.
pub const CODE_BITS: u32 = 16;
/// Side of one code cell in luma pixels.
pub const CODE_CELL: u32 = 16;

/// The animated test pattern.
#[derive(Debug)]
pub struct TestPattern {
    info: SourceInfo,
    frames: Option<u64>,
    next: u64,
    luma: Vec<u8>,
    chroma_u: Vec<u8>,
    chroma_v: Vec<u8>,
    pool: Arc<BufferPool>,
}

fn hash(x: u32, y: u32) -> u32 {
    let mut h = x.wrapping_mul(0x9e37_79b1) ^ y.wrapping_mul(0x85eb_ca77);
    h ^= h >> 15;
    h = h.wrapping_mul(0x2c1b_3c6d);
    h ^= h >> 12;
    h
}

impl TestPattern {
    /// A pattern of `frames` frames (`None`: endless) in `format`, which must be one of I420,
    /// NV12, I420P10, P010 or I444.
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "x, y index the u32 width and height; the samples are clamped, or 128 +- 56"
    )]
    pub fn new(
        format: PixelFormat,
        width: u32,
        height: u32,
        frame_rate: Rational,
        frames: Option<u64>,
    ) -> Result<Self, SourceError> {
        if !matches!(
            format,
            PixelFormat::I420
                | PixelFormat::Nv12
                | PixelFormat::I420P10
                | PixelFormat::P010
                | PixelFormat::I444
        ) {
            return Err(SourceError::UnsupportedFormat { format });
        }
        format.check_size(width, height)?;
        let (w, h) = (width as usize, height as usize);
        let mut luma = vec![0u8; w * h];
        let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
        let k = std::f64::consts::PI / (w.max(h) as f64 * 1.5);
        for y in 0..h {
            for x in 0..w {
                let (dx, dy) = (x as f64 - cx, y as f64 - cy);
                let ring = (k * (dx * dx + dy * dy)).sin() * 48.0;
                let grid = if x % 64 == 0 || y % 64 == 0 {
                    40.0
                } else {
                    0.0
                };
                let noise = f64::from(hash(x as u32, y as u32) & 31) - 16.0;
                luma[y * w + x] = (126.0 + ring + grid + noise).clamp(16.0, 235.0) as u8;
            }
        }
        let mut chroma_u = vec![0u8; w * h];
        let mut chroma_v = vec![0u8; w * h];
        for y in 0..h {
            for x in 0..w {
                let u = 128.0 + 56.0 * (x as f64 / w as f64 * std::f64::consts::TAU).sin();
                let v = 128.0 + 56.0 * (y as f64 / h as f64 * std::f64::consts::TAU).cos();
                chroma_u[y * w + x] = u.round() as u8;
                chroma_v[y * w + x] = v.round() as u8;
            }
        }
        Ok(Self {
            info: SourceInfo {
                format,
                width,
                height,
                frame_rate,
            },
            frames,
            next: 0,
            luma,
            chroma_u,
            chroma_v,
            pool: BufferPool::new(),
        })
    }

    /// The 8-bit luma of frame `n` at (x, y) for the full-resolution planes, before the box and
    /// the code are drawn. Chroma planes sample the chroma textures.
    #[expect(
        clippy::cast_possible_truncation,
        reason = "remainders modulo the u32 width and height"
    )]
    fn render(&self, n: u64, img: &mut CpuImage) {
        let (w, h) = (self.info.width, self.info.height);
        let ox = (n * 3 % u64::from(w)) as usize;
        let oy = (n * 2 % u64::from(h)) as usize;
        let (bw, bh) = ((w / 8).max(2), (h / 8).max(2));
        let bx = bounce(n * 7, w - bw);
        let by = bounce(n * 5, h - bh);
        let code_cells = (w / CODE_CELL).min(CODE_BITS);
        let code_rows = if h >= CODE_CELL { CODE_CELL } else { 0 };
        let luma_at = |x: u32, y: u32| -> u8 {
            if y < code_rows && x / CODE_CELL < code_cells {
                let bit = CODE_BITS - 1 - x / CODE_CELL;
                return if (n >> bit) & 1 == 1 { 235 } else { 16 };
            }
            if x >= bx && x < bx + bw && y >= by && y < by + bh {
                return 220;
            }
            let sx = (x as usize + ox) % w as usize;
            let sy = (y as usize + oy) % h as usize;
            self.luma[sy * w as usize + sx]
        };
        let chroma_at = |x: u32, y: u32, plane: &[u8], boxed: u8| -> u8 {
            if x >= bx && x < bx + bw && y >= by && y < by + bh {
                return boxed;
            }
            let sx = (x as usize + ox / 2) % w as usize;
            plane[(y as usize % h as usize) * w as usize + sx]
        };
        let format = self.info.format;
        let deep = format.bit_depth() > 8;
        // Luma.
        for y in 0..h {
            let row = img.row_mut(0, y);
            for x in 0..w {
                let v = luma_at(x, y);
                if deep {
                    let v16 = u16::from(v) << 2;
                    let v16 = if format == PixelFormat::P010 {
                        v16 << 6
                    } else {
                        v16
                    };
                    row[2 * x as usize..2 * x as usize + 2].copy_from_slice(&v16.to_le_bytes());
                } else {
                    row[x as usize] = v;
                }
            }
        }
        // Chroma: (cw, ch) samples, each taken at the top-left luma position it covers.
        let (step, cw, ch) = match format {
            PixelFormat::I444 => (1, w, h),
            _ => (2, w.div_ceil(2), h.div_ceil(2)),
        };
        for cy in 0..ch {
            for cx in 0..cw {
                let (lx, ly) = (cx * step, cy * step);
                let u = chroma_at(lx, ly, &self.chroma_u, 90);
                let v = chroma_at(lx, ly, &self.chroma_v, 200);
                match format {
                    PixelFormat::Nv12 => {
                        let row = img.row_mut(1, cy);
                        row[2 * cx as usize] = u;
                        row[2 * cx as usize + 1] = v;
                    }
                    PixelFormat::P010 => {
                        let row = img.row_mut(1, cy);
                        let i = 4 * cx as usize;
                        row[i..i + 2].copy_from_slice(&((u16::from(u) << 2) << 6).to_le_bytes());
                        row[i + 2..i + 4]
                            .copy_from_slice(&((u16::from(v) << 2) << 6).to_le_bytes());
                    }
                    PixelFormat::I420P10 => {
                        let i = 2 * cx as usize;
                        img.row_mut(1, cy)[i..i + 2]
                            .copy_from_slice(&(u16::from(u) << 2).to_le_bytes());
                        img.row_mut(2, cy)[i..i + 2]
                            .copy_from_slice(&(u16::from(v) << 2).to_le_bytes());
                    }
                    _ => {
                        img.row_mut(1, cy)[cx as usize] = u;
                        img.row_mut(2, cy)[cx as usize] = v;
                    }
                }
            }
        }
    }

    /// Renders frame `n` into a new image (buffers come from the pattern's pool).
    pub fn frame(&self, n: u64) -> Result<CpuImage, SourceError> {
        let mut img = CpuImage::new(
            self.info.format,
            self.info.width,
            self.info.height,
            Some(&self.pool),
        )?;
        self.render(n, &mut img);
        Ok(img)
    }
}

#[expect(
    clippy::cast_possible_truncation,
    reason = "p < 2 * range, and each branch is at most range (a u32)"
)]
fn bounce(t: u64, range: u32) -> u32 {
    if range == 0 {
        return 0;
    }
    let period = 2 * u64::from(range);
    let p = t % period;
    if p < u64::from(range) {
        p as u32
    } else {
        (period - p) as u32
    }
}

impl FrameSource for TestPattern {
    fn info(&self) -> SourceInfo {
        self.info
    }

    fn next_frame(&mut self) -> Result<Option<Frame>, SourceError> {
        if self.frames.is_some_and(|f| self.next >= f) {
            return Ok(None);
        }
        let n = self.next;
        self.next += 1;
        let img = self.frame(n)?;
        let pts = Timestamp::from_nanos(
            self.info
                .frame_rate
                .frames_to_nanos(i64::try_from(n).unwrap_or(i64::MAX)),
        );
        Ok(Some(Frame::from_cpu(img, pts)))
    }

    fn remaining(&self) -> Option<u64> {
        self.frames.map(|f| f.saturating_sub(self.next))
    }
}

/// Reads the frame number from the code cells of a decoded 8-bit luma plane (`stride` bytes a
/// row), thresholding the mean of each cell's centre. `None` when the frame is too small to
/// carry the code. A test fixture (feature `test-support`).
#[cfg(any(test, feature = "test-support"))]
pub fn read_frame_code(luma: &[u8], stride: usize, width: u32, height: u32) -> Option<u64> {
    if width < CODE_CELL * CODE_BITS || height < CODE_CELL {
        return None;
    }
    let mut n = 0u64;
    for cell in 0..CODE_BITS {
        let mut sum = 0u32;
        let mut count = 0u32;
        for y in 4..CODE_CELL - 4 {
            for x in 4..CODE_CELL - 4 {
                sum += u32::from(luma[y as usize * stride + (cell * CODE_CELL + x) as usize]);
                count += 1;
            }
        }
        n = (n << 1) | u64::from(sum / count > 125);
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_deterministic_and_move() {
        let p =
            TestPattern::new(PixelFormat::I420, 320, 240, Rational::new(30, 1), Some(3)).unwrap();
        let a = p.frame(1).unwrap();
        let b = p.frame(1).unwrap();
        let c = p.frame(2).unwrap();
        assert_eq!(a.data(), b.data());
        let differing = a
            .data()
            .iter()
            .zip(c.data())
            .filter(|(x, y)| x != y)
            .count();
        assert!(
            differing > a.data().len() / 4,
            "consecutive frames differ in {differing} bytes"
        );
    }

    #[test]
    fn the_frame_code_reads_back() {
        let p = TestPattern::new(PixelFormat::I420, 320, 64, Rational::new(30, 1), None).unwrap();
        for n in [0, 1, 2, 0x1234, 0xffff] {
            let img = p.frame(n).unwrap();
            assert_eq!(read_frame_code(img.data(), 320, 320, 64), Some(n));
        }
    }

    #[test]
    fn ten_bit_formats_carry_the_same_picture() {
        let p8 = TestPattern::new(PixelFormat::I420, 64, 32, Rational::new(30, 1), None).unwrap();
        let p10 = TestPattern::new(PixelFormat::P010, 64, 32, Rational::new(30, 1), None).unwrap();
        let (a, b) = (p8.frame(5).unwrap(), p10.frame(5).unwrap());
        for x in 0..64 {
            let v10 = u16::from_le_bytes([b.row(0, 7)[2 * x], b.row(0, 7)[2 * x + 1]]);
            assert_eq!(v10 >> 6, u16::from(a.row(0, 7)[x]) << 2);
        }
    }

    #[test]
    fn rgb_is_refused_with_the_alternatives() {
        let e =
            TestPattern::new(PixelFormat::Bgra8, 64, 32, Rational::new(30, 1), None).unwrap_err();
        assert!(e.to_string().contains("bgra8"));
    }
}
