//! The whole processing chain of one frame — scale, tone map, sharpen, convert — as one
//! specification, with the float64 reference of the chain.
//!
//! The order, which the shader follows: the source signal is resampled (in the signal domain,
//! as every video scaler does) into the placement rectangle; each resampled pixel is tone
//! mapped when asked and clamped to 0..1; the rectangle is sharpened (its edges clamp to the
//! rectangle, so bars never bleed into the picture); bars are black; the frame is converted to
//! YUV with the chroma filter of [`crate::processing::convert`].

use super::convert::{reference_rgb_to_yuv, ConvertSpec, YuvLayout, GPU_OUTPUTS};
use super::scale::{placement, Fit, Rect, ScaleFilter, Taps, MAX_DOWNSCALE};
use super::sharpen::cas_channel;
use super::tonemap::{ToneMapSpec, ToneMapper};

/// One frame's processing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProcessSpec {
    /// Width of the frames that come in.
    pub input_width: u32,
    /// Height of the frames that come in.
    pub input_height: u32,
    /// Width of the frames that go out.
    pub output_width: u32,
    /// Height of the frames that go out.
    pub output_height: u32,
    /// The resampling kernel (unused when the sizes match).
    pub filter: ScaleFilter,
    /// Stretch or letterbox when the aspect ratios differ.
    pub fit: Fit,
    /// HDR to SDR tone mapping, or none (SDR, or HDR passed through).
    pub tonemap: Option<ToneMapSpec>,
    /// Contrast-adaptive sharpening strength, 0 (off) to 1.
    pub sharpen: f64,
    /// The YUV conversion.
    pub convert: ConvertSpec,
}

impl ProcessSpec {
    /// Only a conversion: same size, no tone mapping, no sharpening.
    pub fn convert_only(width: u32, height: u32, convert: ConvertSpec) -> Self {
        Self {
            input_width: width,
            input_height: height,
            output_width: width,
            output_height: height,
            filter: ScaleFilter::default(),
            fit: Fit::default(),
            tonemap: None,
            sharpen: 0.0,
            convert,
        }
    }

    /// Where the picture lands in the output frame.
    pub fn rect(&self) -> Rect {
        placement(
            self.input_width,
            self.input_height,
            self.output_width,
            self.output_height,
            self.fit,
        )
    }

    /// True when only a conversion is asked for (the plain conversion shader does it, 4:2:0
    /// and 4:4:4 alike).
    pub fn is_convert_only(&self) -> bool {
        (self.input_width, self.input_height) == (self.output_width, self.output_height)
            && self.tonemap.is_none()
            && self.sharpen == 0.0
    }

    /// Checks the combination; the message names the value and the fix.
    pub fn check(&self) -> Result<(), String> {
        let out = self.convert.output;
        if !GPU_OUTPUTS.contains(&out) {
            return Err(format!(
                "output format {out} is not one the GPU writes (nv12, p010, i420, i420p10, i444, i444p10, i444p16)"
            ));
        }
        if self.input_width == 0 || self.input_height == 0 {
            return Err(format!(
                "input size {}x{} is empty",
                self.input_width, self.input_height
            ));
        }
        out.check_size(self.output_width, self.output_height)
            .map_err(|e| e.to_string())?;
        for (axis, src, dst) in [
            ("width", self.input_width, self.output_width),
            ("height", self.input_height, self.output_height),
        ] {
            if f64::from(src) > f64::from(dst) * MAX_DOWNSCALE {
                return Err(format!(
                    "downscaling the {axis} from {src} to {dst} is more than {MAX_DOWNSCALE}x in one pass; scale to at least {} first",
                    (f64::from(src) / MAX_DOWNSCALE).ceil()
                ));
            }
        }
        if !(0.0..=1.0).contains(&self.sharpen) || self.sharpen.is_nan() {
            return Err(format!(
                "sharpening strength {} is outside 0..=1",
                self.sharpen
            ));
        }
        if let Some(t) = &self.tonemap {
            t.check()?;
        }
        Ok(())
    }
}

/// The float64 reference of everything before the YUV conversion: resampled, tone mapped,
/// clamped and sharpened RGB of the whole output frame (bars black), row by row.
/// `input` is the source signal, `input_width * input_height` pixels row by row;
/// `source_peak` is the tone mapping's source peak in nits for this frame.
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    reason = "indices are clamped into the picture; sizes and tap counts are u32 dimensions"
)]
pub fn reference_rgb(input: &[[f64; 3]], spec: &ProcessSpec, source_peak: f64) -> Vec<[f64; 3]> {
    let (iw, ih) = (i64::from(spec.input_width), i64::from(spec.input_height));
    let (ow, oh) = (spec.output_width as usize, spec.output_height as usize);
    let rect = spec.rect();
    let tx = Taps::new(spec.input_width, rect.width, spec.filter);
    let ty = Taps::new(spec.input_height, rect.height, spec.filter);
    // Horizontal pass: every source row, rect.width columns.
    let mut h = vec![[0.0f64; 3]; rect.width as usize * ih as usize];
    for y in 0..ih {
        for x in 0..rect.width as usize {
            let mut s = [0.0; 3];
            for (k, w) in tx.of(x).iter().enumerate() {
                let sx = (i64::from(tx.start[x]) + k as i64).clamp(0, iw - 1);
                let v = input[(y * iw + sx) as usize];
                for c in 0..3 {
                    s[c] += w * v[c];
                }
            }
            h[y as usize * rect.width as usize + x] = s;
        }
    }
    // Vertical pass, tone mapping, clamp: the picture inside the rectangle.
    let (rw, rh) = (rect.width as usize, rect.height as usize);
    let mut pic = vec![[0.0f64; 3]; rw * rh];
    let mapper = spec
        .tonemap
        .as_ref()
        .map(|t| ToneMapper::new(t, source_peak));
    for y in 0..rh {
        for x in 0..rw {
            let mut s = [0.0; 3];
            for (k, w) in ty.of(y).iter().enumerate() {
                let sy = (i64::from(ty.start[y]) + k as i64).clamp(0, ih - 1);
                let v = h[sy as usize * rw + x];
                for c in 0..3 {
                    s[c] += w * v[c];
                }
            }
            if let Some(m) = &mapper {
                s = m.map(s);
            }
            pic[y * rw + x] = s.map(|v| v.clamp(0.0, 1.0));
        }
    }
    // Sharpening inside the rectangle, then the frame with its bars.
    let at = |x: i64, y: i64| {
        pic[(y.clamp(0, rh as i64 - 1) as usize) * rw + x.clamp(0, rw as i64 - 1) as usize]
    };
    let mut out = vec![[0.0f64; 3]; ow * oh];
    for y in 0..rh as i64 {
        for x in 0..rw as i64 {
            let e = at(x, y);
            let v = if spec.sharpen > 0.0 {
                let n = [at(x, y - 1), at(x - 1, y), at(x + 1, y), at(x, y + 1)];
                [0, 1, 2].map(|c| cas_channel(e[c], n.map(|p| p[c]), spec.sharpen))
            } else {
                e
            };
            out[(y as usize + rect.y as usize) * ow + x as usize + rect.x as usize] = v;
        }
    }
    out
}

/// The float64 reference of the whole chain into `layout` (which must be the layout of
/// `spec.convert.output` at the output size).
pub fn reference_process(
    input: &[[f64; 3]],
    spec: &ProcessSpec,
    source_peak: f64,
    layout: &YuvLayout,
    out: &mut [u8],
) {
    let rgb = reference_rgb(input, spec, source_peak);
    reference_rgb_to_yuv(&rgb, &spec.convert, layout, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::color::{ColorMatrix, ColorRange};
    use crate::format::PixelFormat;
    use crate::processing::convert::ChromaSiting;

    fn spec(iw: u32, ih: u32, ow: u32, oh: u32) -> ProcessSpec {
        ProcessSpec {
            input_width: iw,
            input_height: ih,
            output_width: ow,
            output_height: oh,
            ..ProcessSpec::convert_only(
                ow,
                oh,
                ConvertSpec {
                    matrix: ColorMatrix::Bt709,
                    range: ColorRange::Limited,
                    siting: ChromaSiting::Left,
                    output: PixelFormat::Nv12,
                },
            )
        }
    }

    #[test]
    fn letterbox_bars_are_black_and_a_flat_picture_stays_flat() {
        let s = spec(64, 48, 128, 72);
        let input = vec![[0.5, 0.25, 0.75]; 64 * 48];
        let rgb = reference_rgb(&input, &s, 100.0);
        let r = s.rect();
        assert_eq!(
            r,
            Rect {
                x: 16,
                y: 0,
                width: 96,
                height: 72
            }
        );
        for y in 0..72 {
            for x in 0..128 {
                let v = rgb[y * 128 + x];
                if r.contains(u32::try_from(x).unwrap(), u32::try_from(y).unwrap()) {
                    for (c, want) in [0.5, 0.25, 0.75].iter().enumerate() {
                        assert!((v[c] - want).abs() < 1e-12, "{x},{y}");
                    }
                } else {
                    assert_eq!(v, [0.0; 3], "bar at {x},{y}");
                }
            }
        }
    }

    #[test]
    fn checks_name_the_bad_value() {
        assert!(spec(64, 48, 64, 48).check().is_ok());
        let e = spec(3840, 2160, 640, 360).check().unwrap_err();
        assert!(e.contains("3840") && e.contains("960"), "{e}");
        let mut s = spec(64, 48, 64, 48);
        s.sharpen = 1.5;
        assert!(s.check().unwrap_err().contains("1.5"));
        let e = spec(64, 48, 63, 48).check().unwrap_err();
        assert!(e.contains("63"), "{e}");
    }
}
