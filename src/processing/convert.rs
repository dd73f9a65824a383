//! RGB to YUV colour conversion: the parameters (computed once on the CPU and handed to the
//! shader) and the float64 reference the shader is tested against.

use crate::color::{ColorMatrix, ColorRange};
use crate::format::PixelFormat;

/// Where 4:2:0 chroma samples sit relative to luma.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum ChromaSiting {
    /// Horizontally with the left luma sample, vertically between the rows (MPEG-2, H.264 and
    /// HEVC default): filtered by `[1 2 1]/4` across, `[1 1]/2` down.
    Left = 0,
    /// Centred in the 2x2 luma block (JPEG, MPEG-1): a 2x2 box filter.
    Centre = 1,
}

/// The luma weights `(Kr, Kb)` of a matrix (ITU-R BT.601, BT.709, BT.2020).
pub const fn luma_weights(m: ColorMatrix) -> (f64, f64) {
    match m {
        ColorMatrix::Bt601 => (0.299, 0.114),
        ColorMatrix::Bt709 => (0.2126, 0.0722),
        ColorMatrix::Bt2020Ncl => (0.2627, 0.0593),
    }
}

/// RGB weights of Y', Cb and Cr for a matrix: `Y' = Kr R + Kg G + Kb B`,
/// `Cb = (B - Y') / (2 (1 - Kb))`, `Cr = (R - Y') / (2 (1 - Kr))`.
pub fn rgb_to_ycbcr_rows(m: ColorMatrix) -> [[f64; 3]; 3] {
    let (kr, kb) = luma_weights(m);
    let kg = 1.0 - kr - kb;
    let y = [kr, kg, kb];
    let cb = [-kr / (2.0 * (1.0 - kb)), -kg / (2.0 * (1.0 - kb)), 0.5];
    let cr = [0.5, -kg / (2.0 * (1.0 - kr)), -kb / (2.0 * (1.0 - kr))];
    [y, cb, cr]
}

/// The inverse of [`rgb_to_ycbcr_rows`]: the weights of `(Y', Cb, Cr)` in R, G and B.
pub fn ycbcr_to_rgb_rows(m: ColorMatrix) -> [[f64; 3]; 3] {
    let (kr, kb) = luma_weights(m);
    let kg = 1.0 - kr - kb;
    let (cr_r, cb_b) = (2.0 * (1.0 - kr), 2.0 * (1.0 - kb));
    [
        [1.0, 0.0, cr_r],
        [1.0, -kb * cb_b / kg, -kr * cr_r / kg],
        [1.0, cb_b, 0.0],
    ]
}

/// The YUV input formats the GPU processes (scales, tone maps, sharpens) besides RGB.
pub const GPU_YUV_INPUTS: [PixelFormat; 4] = [
    PixelFormat::Nv12,
    PixelFormat::I420,
    PixelFormat::P010,
    PixelFormat::I444,
];

/// The float64 reference of how the processing pass reads a YUV input: the RGB of each pixel
/// of a tightly packed NV12, I420, P010 or I444 frame (`width * height`, row by row). Codes
/// become Y' and Cb/Cr with `range` at the format's depth; a 4:2:0 pixel takes the chroma
/// sample of its 2x2 block; `matrix`'s inverse gives RGB, clamped to 0..1. `None` for another
/// format or a length that is not the frame's.
pub fn yuv_to_rgb(
    input: &[u8],
    format: PixelFormat,
    width: u32,
    height: u32,
    matrix: ColorMatrix,
    range: ColorRange,
) -> Option<Vec<[f64; 3]>> {
    if !GPU_YUV_INPUTS.contains(&format) || input.len() != format.frame_bytes(width, height) {
        return None;
    }
    let (w, h) = (width as usize, height as usize);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let wide = format == PixelFormat::P010;
    let sample = |i: usize| -> f64 {
        if wide {
            f64::from(u16::from_le_bytes([input[2 * i], input[2 * i + 1]]) >> 6)
        } else {
            f64::from(input[i])
        }
    };
    let (ys, yo, cs, co) = range_scale(range, if wide { 10 } else { 8 });
    let rows = ycbcr_to_rgb_rows(matrix);
    let mut out = Vec::with_capacity(w * h);
    for y in 0..h {
        for x in 0..w {
            let (cx, cy) = (x / 2, y / 2);
            let (cb, cr) = match format {
                PixelFormat::I444 => (sample((h + y) * w + x), sample((2 * h + y) * w + x)),
                PixelFormat::I420 => (
                    sample(w * h + cy * cw + cx),
                    sample(w * h + cw * ch + cy * cw + cx),
                ),
                // NV12, P010: Cb Cr pairs after the luma plane.
                _ => (
                    sample(w * h + cy * 2 * cw + 2 * cx),
                    sample(w * h + cy * 2 * cw + 2 * cx + 1),
                ),
            };
            let ycc = [
                (sample(y * w + x) - yo) / ys,
                (cb - co) / cs,
                (cr - co) / cs,
            ];
            out.push(rows.map(|r| (r[0] * ycc[0] + r[1] * ycc[1] + r[2] * ycc[2]).clamp(0.0, 1.0)));
        }
    }
    Some(out)
}

/// Scale and offset turning Y' in 0..1 and Cb/Cr in -0.5..0.5 into code values at `bits`:
/// `(y_scale, y_offset, c_scale, c_offset)`. Limited range: Y 16..235 and C 16..240 at 8 bits
/// (scaled by 2^(bits-8)); full range: 0..2^bits-1 with chroma centred on 2^(bits-1).
pub fn range_scale(range: ColorRange, bits: u32) -> (f64, f64, f64, f64) {
    let k = f64::from(1u32 << (bits - 8));
    match range {
        ColorRange::Limited => (219.0 * k, 16.0 * k, 224.0 * k, 128.0 * k),
        ColorRange::Full => {
            let max = ((1u64 << bits) - 1) as f64;
            (max, 0.0, max, (1u64 << (bits - 1)) as f64)
        }
    }
}

/// A conversion request: matrix, range, siting, output layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvertSpec {
    /// YUV matrix.
    pub matrix: ColorMatrix,
    /// Output range.
    pub range: ColorRange,
    /// Chroma siting.
    pub siting: ChromaSiting,
    /// Output format (NV12 or I420 in this release).
    pub output: PixelFormat,
}

/// The pitch-linear layout of a converted frame in one buffer (4:2:0 or 4:4:4; chroma
/// interleaved as in NV12/P010, or in separate U and V planes): rows padded to the pitch
/// (256 bytes, NVENC's and most hardware's alignment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct YuvLayout {
    /// The format (NV12, P010, I420, I420P10, I444, I444P10 or I444P16).
    pub format: PixelFormat,
    /// Bytes per sample: 1 for 8-bit formats, 2 for the deeper ones.
    pub bytes_per_sample: u32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Chroma samples per row.
    pub chroma_width: u32,
    /// Chroma rows.
    pub chroma_height: u32,
    /// Bytes per luma row.
    pub luma_pitch: u32,
    /// Bytes per chroma row (the UV row for NV12, each of U and V for planar formats).
    pub chroma_pitch: u32,
    /// Offset of the first chroma plane (UV for NV12, U for planar formats).
    pub chroma_offset: u32,
    /// Offset of the V plane (planar formats), 0 for NV12/P010.
    pub v_offset: u32,
    /// Total bytes.
    pub size: u32,
}

/// Row alignment of converted frames.
pub const PITCH_ALIGN: u32 = 256;

fn align(v: u32, a: u32) -> u32 {
    v.div_ceil(a) * a
}

/// The output formats the GPU writes.
pub const GPU_OUTPUTS: [PixelFormat; 7] = [
    PixelFormat::Nv12,
    PixelFormat::P010,
    PixelFormat::I420,
    PixelFormat::I420P10,
    PixelFormat::I444,
    PixelFormat::I444P10,
    PixelFormat::I444P16,
];

impl YuvLayout {
    /// The layout of a `width` x `height` frame in `format` (one of [`GPU_OUTPUTS`]).
    pub fn new(format: PixelFormat, width: u32, height: u32) -> Self {
        let bps = if format.bit_depth() > 8 { 2 } else { 1 };
        let luma_pitch = align(width * bps, PITCH_ALIGN);
        let full = matches!(
            format,
            PixelFormat::I444 | PixelFormat::I444P10 | PixelFormat::I444P16
        );
        let (chroma_width, chroma_height) = if full {
            (width, height)
        } else {
            (width.div_ceil(2), height.div_ceil(2))
        };
        let chroma_offset = luma_pitch * height;
        let interleaved = matches!(format, PixelFormat::Nv12 | PixelFormat::P010);
        let (chroma_pitch, v_offset, size) = if interleaved {
            (luma_pitch, 0, chroma_offset + luma_pitch * chroma_height)
        } else {
            let chroma_pitch = align(chroma_width * bps, PITCH_ALIGN);
            let v_offset = chroma_offset + chroma_pitch * chroma_height;
            (
                chroma_pitch,
                v_offset,
                v_offset + chroma_pitch * chroma_height,
            )
        };
        Self {
            format,
            bytes_per_sample: bps,
            width,
            height,
            chroma_width,
            chroma_height,
            luma_pitch,
            chroma_pitch,
            chroma_offset,
            v_offset,
            size,
        }
    }

    /// True for 4:2:0 (chroma halved both ways), false for 4:4:4.
    pub fn subsampled(&self) -> bool {
        self.format.needs_even_size()
    }

    /// True when U and V are separate planes (I420, I420P10).
    pub fn planar(&self) -> bool {
        self.v_offset != 0
    }

    /// Bits per sample and the left shift of the stored value (6 for P010, whose 10 bits sit
    /// in the high bits of each 16-bit word).
    pub fn depth(&self) -> (u32, u32) {
        match self.format {
            PixelFormat::P010 => (10, 6),
            f => (f.bit_depth(), 0),
        }
    }

    #[expect(
        clippy::cast_possible_truncation,
        reason = "a code of the layout's depth, shifted into place, fits its sample size"
    )]
    fn store(&self, out: &mut [u8], offset: usize, value: u32) {
        let (_, shift) = self.depth();
        let v = value << shift;
        if self.bytes_per_sample == 2 {
            out[offset..offset + 2].copy_from_slice(&(v as u16).to_le_bytes());
        } else {
            out[offset] = v as u8;
        }
    }
}

/// The value of an IEEE 754 half-precision float.
pub fn half_to_f64(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((bits >> 10) & 0x1f);
    let frac = f64::from(bits & 0x3ff);
    sign * match exp {
        0 => frac * 2f64.powi(-24),
        31 if frac == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        e => (1.0 + frac / 1024.0) * 2f64.powi(e - 15),
    }
}

/// RGB of each pixel of a tightly packed RGBA8, BGRA8, RGB10A2 (normalised to 0..1) or
/// RGBA16F (the float values) frame.
pub fn normalized_rgb(input: &[u8], format: PixelFormat) -> Option<Vec<[f64; 3]>> {
    if format == PixelFormat::Rgba16f {
        let h = |p: &[u8], i: usize| half_to_f64(u16::from_le_bytes([p[2 * i], p[2 * i + 1]]));
        return Some(
            input
                .chunks_exact(8)
                .map(|p| [h(p, 0), h(p, 1), h(p, 2)])
                .collect(),
        );
    }
    let px = input.chunks_exact(4);
    Some(match format {
        PixelFormat::Rgba8 => px
            .map(|p| {
                [
                    f64::from(p[0]) / 255.0,
                    f64::from(p[1]) / 255.0,
                    f64::from(p[2]) / 255.0,
                ]
            })
            .collect(),
        PixelFormat::Bgra8 => px
            .map(|p| {
                [
                    f64::from(p[2]) / 255.0,
                    f64::from(p[1]) / 255.0,
                    f64::from(p[0]) / 255.0,
                ]
            })
            .collect(),
        PixelFormat::Rgb10a2 => px
            .map(|p| {
                let w = u32::from_le_bytes([p[0], p[1], p[2], p[3]]);
                let c = |shift: u32| f64::from((w >> shift) & 0x3ff) / 1023.0;
                [c(0), c(10), c(20)]
            })
            .collect(),
        _ => return None,
    })
}

#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "clamped into 0..=2^bits - 1 (bits <= 16)"
)]
fn code(v: f64, bits: u32) -> u32 {
    (v + 0.5).floor().clamp(0.0, ((1u64 << bits) - 1) as f64) as u32
}

/// The float64 reference: converts normalised RGB pixels (`width * height`, row by row; see
/// [`normalized_rgb`]) into `layout`, exactly as the shader specifies, writing only the
/// picture's samples.
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "coordinates are clamped into, or loop over, the layout's u32 width and height"
)]
pub fn reference_rgb_to_yuv(
    rgb: &[[f64; 3]],
    spec: &ConvertSpec,
    layout: &YuvLayout,
    out: &mut [u8],
) {
    let (w, h) = (i64::from(layout.width), i64::from(layout.height));
    let rows = rgb_to_ycbcr_rows(spec.matrix);
    let (bits, _) = layout.depth();
    let (ys, yo, cs, co) = range_scale(spec.range, bits);
    let bps = layout.bytes_per_sample as usize;
    // Clamped to 0..1 as the shaders do (float input may leave that range).
    let at = |x: i64, y: i64| -> [f64; 3] {
        rgb[(y.clamp(0, h - 1) * w + x.clamp(0, w - 1)) as usize].map(|v| v.clamp(0.0, 1.0))
    };
    let dot = |k: &[f64; 3], v: [f64; 3]| k[0] * v[0] + k[1] * v[1] + k[2] * v[2];
    for y in 0..h {
        for x in 0..w {
            let offset = (y as u32 * layout.luma_pitch) as usize + x as usize * bps;
            layout.store(out, offset, code(yo + ys * dot(&rows[0], at(x, y)), bits));
        }
    }
    let (cw, ch) = (
        i64::from(layout.chroma_width),
        i64::from(layout.chroma_height),
    );
    let sub = layout.subsampled();
    let taps: &[(i64, f64)] = match (sub, spec.siting) {
        (false, _) => &[(0, 0.5)],
        (true, ChromaSiting::Left) => &[(-1, 0.125), (0, 0.25), (1, 0.125)],
        (true, ChromaSiting::Centre) => &[(0, 0.25), (1, 0.25)],
    };
    let step = if sub { 2 } else { 1 };
    for cy in 0..ch {
        for cx in 0..cw {
            let (x, y0, y1) = (step * cx, step * cy, step * cy + step - 1);
            let mut s = [0.0; 3];
            for &(dx, wgt) in taps {
                for yy in [y0, y1] {
                    let v = at(x + dx, yy);
                    for c in 0..3 {
                        s[c] += wgt * v[c];
                    }
                }
            }
            let u = code(co + cs * dot(&rows[1], s), bits);
            let v = code(co + cs * dot(&rows[2], s), bits);
            let row = (layout.chroma_offset + cy as u32 * layout.chroma_pitch) as usize;
            if layout.planar() {
                let vrow = (layout.v_offset + cy as u32 * layout.chroma_pitch) as usize;
                layout.store(out, row + cx as usize * bps, u);
                layout.store(out, vrow + cx as usize * bps, v);
            } else {
                layout.store(out, row + 2 * cx as usize * bps, u);
                layout.store(out, row + (2 * cx as usize + 1) * bps, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert_one(rgb: [u8; 3], matrix: ColorMatrix, range: ColorRange) -> (u8, u8, u8) {
        let spec = ConvertSpec {
            matrix,
            range,
            siting: ChromaSiting::Centre,
            output: PixelFormat::Nv12,
        };
        let layout = YuvLayout::new(PixelFormat::Nv12, 2, 2);
        let rgba: Vec<u8> = (0..4).flat_map(|_| [rgb[0], rgb[1], rgb[2], 255]).collect();
        let mut out = vec![0u8; layout.size as usize];
        reference_rgb_to_yuv(
            &normalized_rgb(&rgba, PixelFormat::Rgba8).unwrap(),
            &spec,
            &layout,
            &mut out,
        );
        let c = layout.chroma_offset as usize;
        (out[0], out[c], out[c + 1])
    }

    #[test]
    fn ten_bit_white_and_black_in_p010_and_i420p10() {
        let rgb = vec![
            [1.0, 1.0, 1.0],
            [0.0, 0.0, 0.0],
            [1.0, 1.0, 1.0],
            [0.0, 0.0, 0.0],
        ];
        for (format, shift) in [(PixelFormat::P010, 6), (PixelFormat::I420P10, 0)] {
            let spec = ConvertSpec {
                matrix: ColorMatrix::Bt2020Ncl,
                range: ColorRange::Limited,
                siting: ChromaSiting::Centre,
                output: format,
            };
            let layout = YuvLayout::new(format, 2, 2);
            let mut out = vec![0u8; layout.size as usize];
            reference_rgb_to_yuv(&rgb, &spec, &layout, &mut out);
            let sample = |i: usize| u16::from_le_bytes([out[i], out[i + 1]]) >> shift;
            // 10-bit limited range: white 940, black 64; grey chroma 512.
            assert_eq!((sample(0), sample(2)), (940, 64), "{format}");
            assert_eq!(sample(layout.chroma_offset as usize), 512, "{format}");
        }
    }

    #[test]
    fn published_code_values() {
        // 100% white and black, BT.709 limited: Y 235 / 16, chroma 128.
        assert_eq!(
            convert_one([255, 255, 255], ColorMatrix::Bt709, ColorRange::Limited),
            (235, 128, 128)
        );
        assert_eq!(
            convert_one([0, 0, 0], ColorMatrix::Bt709, ColorRange::Limited),
            (16, 128, 128)
        );
        // Full range white and black.
        assert_eq!(
            convert_one([255, 255, 255], ColorMatrix::Bt709, ColorRange::Full),
            (255, 128, 128)
        );
        // 100% red, BT.709 limited: Y 63, Cb 102, Cr 240 (ITU-R BT.709 colour bars).
        assert_eq!(
            convert_one([255, 0, 0], ColorMatrix::Bt709, ColorRange::Limited),
            (63, 102, 240)
        );
        // 100% red, BT.601 limited: Y 81, Cb 90, Cr 240.
        assert_eq!(
            convert_one([255, 0, 0], ColorMatrix::Bt601, ColorRange::Limited),
            (81, 90, 240)
        );
        // 100% blue, BT.2020 limited: Y = 16 + 219 x 0.0593 = 29, Cb 240.
        assert_eq!(
            convert_one([0, 0, 255], ColorMatrix::Bt2020Ncl, ColorRange::Limited).0,
            29
        );
        assert_eq!(
            convert_one([0, 0, 255], ColorMatrix::Bt2020Ncl, ColorRange::Limited).1,
            240
        );
    }

    #[test]
    fn the_inverse_matrix_undoes_the_forward_one() {
        for m in [
            ColorMatrix::Bt601,
            ColorMatrix::Bt709,
            ColorMatrix::Bt2020Ncl,
        ] {
            let (f, i) = (rgb_to_ycbcr_rows(m), ycbcr_to_rgb_rows(m));
            for (r, row) in i.iter().enumerate() {
                for c in 0..3 {
                    let v: f64 = row.iter().zip(&f).map(|(a, b)| a * b[c]).sum();
                    let want = if r == c { 1.0 } else { 0.0 };
                    assert!((v - want).abs() < 1e-12, "{m:?} [{r}][{c}] = {v}");
                }
            }
        }
        // NV12 limited-range BT.709 of 100% red (Y 63, Cb 102, Cr 240) reads back as red.
        let layout_bytes = PixelFormat::Nv12.frame_bytes(2, 2);
        let mut frame = vec![63u8; layout_bytes];
        frame[4] = 102;
        frame[5] = 240;
        let rgb = yuv_to_rgb(
            &frame,
            PixelFormat::Nv12,
            2,
            2,
            ColorMatrix::Bt709,
            ColorRange::Limited,
        )
        .unwrap();
        for px in rgb {
            assert!(
                (px[0] - 1.0).abs() < 0.01 && px[1] < 0.01 && px[2] < 0.01,
                "{px:?}"
            );
        }
    }

    #[test]
    fn halves_decode() {
        assert_eq!(half_to_f64(0x3c00), 1.0);
        assert_eq!(half_to_f64(0x3800), 0.5);
        assert_eq!(half_to_f64(0xc000), -2.0);
        assert_eq!(half_to_f64(0x0001), 2f64.powi(-24));
        assert_eq!(half_to_f64(0x7bff), 65504.0);
        assert!(half_to_f64(0x7c01).is_nan());
    }

    #[test]
    fn layouts_are_pitch_aligned() {
        let p = YuvLayout::new(PixelFormat::P010, 1920, 1080);
        assert_eq!(
            (p.luma_pitch, p.size, p.depth()),
            (3840, 3840 * 1620, (10, 6))
        );
        let l = YuvLayout::new(PixelFormat::Nv12, 1920, 1080);
        assert_eq!(
            (l.luma_pitch, l.chroma_offset, l.size),
            (2048, 2048 * 1080, 2048 * 1620)
        );
        let i = YuvLayout::new(PixelFormat::I420, 2, 2);
        assert_eq!(
            (
                i.luma_pitch,
                i.chroma_pitch,
                i.chroma_offset,
                i.v_offset,
                i.size
            ),
            (256, 256, 512, 768, 1024)
        );
    }
}
