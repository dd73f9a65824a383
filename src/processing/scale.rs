//! Resampling: the four kernels, the per-output-pixel tap tables the shader reads, and the
//! letterbox rectangle.
//!
//! Every output pixel `o` of a `src` → `dst` resize samples around the source position
//! `c = (o + 0.5) * src / dst - 0.5` (pixel centres line up). When downscaling, the kernel is
//! stretched by the ratio `src / dst` so that it low-passes before decimating (no aliasing);
//! when upscaling it keeps its natural width. Weights are normalised to sum to one, and source
//! indices outside the image are clamped to its edge.

use std::fmt;
use std::str::FromStr;

use crate::color::named_enum;

/// A resampling kernel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScaleFilter {
    /// The tent (triangle) filter: bilinear interpolation when upscaling, an area-like average
    /// when downscaling. Radius 1.
    Bilinear,
    /// The Catmull-Rom cubic (B = 0, C = 0.5): sharp, slight overshoot. Radius 2.
    Bicubic,
    /// Lanczos windowed sinc with three lobes: the sharpest, with ringing on hard edges.
    /// Radius 3.
    #[default]
    Lanczos3,
    /// Area averaging (a box over each output pixel's footprint, as FFmpeg's `area`): each
    /// source pixel weighs as much as it overlaps the output pixel. The cheapest downscale
    /// (2 taps a pixel across at 2:1), sharp and without ringing; blocky when upscaling.
    /// Radius 1/2.
    Area,
}

named_enum!(ScaleFilter, "scale filter", [Bilinear => "bilinear", Bicubic => "bicubic", Lanczos3 => "lanczos", Area => "area"]);

/// The largest downscale ratio per axis that one pass takes (the shader's tile of filtered
/// rows is sized for it). 4 takes 4K to 960x540; scale further in two steps.
pub const MAX_DOWNSCALE: f64 = 4.0;

impl ScaleFilter {
    /// The kernel's radius in source pixels at a ratio of one.
    pub const fn radius(self) -> f64 {
        match self {
            ScaleFilter::Bilinear => 1.0,
            ScaleFilter::Bicubic => 2.0,
            ScaleFilter::Lanczos3 => 3.0,
            ScaleFilter::Area => 0.5,
        }
    }

    /// The kernel's value at distance `x` (in kernel units). (The area filter's taps are the
    /// box's overlap with each source pixel, not its value at the pixel's centre:
    /// [`Taps::new`].)
    pub fn weight(self, x: f64) -> f64 {
        let a = x.abs();
        match self {
            ScaleFilter::Area => f64::from(u8::from(a < 0.5)),
            ScaleFilter::Bilinear => (1.0 - a).max(0.0),
            ScaleFilter::Bicubic => {
                if a < 1.0 {
                    1.5 * a * a * a - 2.5 * a * a + 1.0
                } else if a < 2.0 {
                    -0.5 * a * a * a + 2.5 * a * a - 4.0 * a + 2.0
                } else {
                    0.0
                }
            }
            ScaleFilter::Lanczos3 => {
                if a < 1e-12 {
                    1.0
                } else if a < 3.0 {
                    let px = std::f64::consts::PI * a;
                    3.0 * px.sin() * (px / 3.0).sin() / (px * px)
                } else {
                    0.0
                }
            }
        }
    }
}

/// The taps of a one-dimensional resize: for each output pixel the first source index and
/// `count` weights (zero where the kernel has fewer taps there).
#[derive(Clone, Debug, PartialEq)]
pub struct Taps {
    /// Taps per output pixel.
    pub count: usize,
    /// First source index of each output pixel (may be negative or past the end: clamp).
    pub start: Vec<i32>,
    /// `count` weights per output pixel, summing to one.
    pub weights: Vec<f64>,
}

impl Taps {
    /// The taps of resizing `src` pixels to `dst` with `filter`.
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_possible_wrap,
        reason = "sizes are u32 dimensions; a tap's first index is within a kernel's reach of 0..src"
    )]
    pub fn new(src: u32, dst: u32, filter: ScaleFilter) -> Self {
        if src == dst {
            // Every kernel interpolates (1 at 0, 0 at the other integers): one tap of 1.
            return Self {
                count: 1,
                start: (0..dst as i32).collect(),
                weights: vec![1.0; dst as usize],
            };
        }
        let ratio = f64::from(src) / f64::from(dst);
        if filter == ScaleFilter::Area {
            return Self::area(dst, ratio);
        }
        let stretch = ratio.max(1.0);
        let support = filter.radius() * stretch;
        let count = (2.0 * support).ceil() as usize;
        Self::normalised(
            count,
            (0..dst).map(|o| {
                let centre = (f64::from(o) + 0.5) * ratio - 0.5;
                let first = (centre - support).floor() as i64 + 1;
                let row = (0..count)
                    .map(|k| filter.weight(((first + k as i64) as f64 - centre) / stretch))
                    .collect();
                (first as i32, row)
            }),
        )
    }

    /// Taps of `count` weights a pixel from each output pixel's first source index and raw
    /// weights, the weights scaled to sum to one.
    fn normalised(count: usize, rows: impl Iterator<Item = (i32, Vec<f64>)>) -> Self {
        let mut start = Vec::new();
        let mut weights = Vec::new();
        for (first, row) in rows {
            let sum: f64 = row.iter().sum();
            start.push(first);
            weights.extend(row.iter().map(|w| w / sum));
        }
        Self {
            count,
            start,
            weights,
        }
    }

    /// Area averaging: output pixel `o` covers the source span `ratio` wide around its centre
    /// (one source pixel wide when upscaling); each source pixel `k` (the span k - 1/2 ..
    /// k + 1/2) weighs its overlap with it.
    #[expect(
        clippy::cast_possible_truncation,
        reason = "a tap's first index is within a span of 0..src, a u32 size"
    )]
    fn area(dst: u32, ratio: f64) -> Self {
        let width = ratio.max(1.0);
        let span = |o: u32| {
            let centre = (f64::from(o) + 0.5) * ratio - 0.5;
            let (lo, hi) = (centre - width / 2.0, centre + width / 2.0);
            // The pixels lo and hi fall in (hi on a boundary: the one before it).
            ((lo + 0.5).floor() as i64, (hi - 0.5).ceil() as i64, lo, hi)
        };
        let count = (0..dst)
            .map(|o| {
                let (first, last, _, _) = span(o);
                usize::try_from(last - first + 1).unwrap_or(1)
            })
            .max()
            .unwrap_or(1);
        let taps = i64::try_from(count).unwrap_or(1);
        Self::normalised(
            count,
            (0..dst).map(|o| {
                let (first, _, lo, hi) = span(o);
                #[expect(
                    clippy::cast_precision_loss,
                    reason = "source indices are far below 2^52"
                )]
                let row = (first..first + taps)
                    .map(|k| (hi.min(k as f64 + 0.5) - lo.max(k as f64 - 0.5)).max(0.0))
                    .collect();
                (first as i32, row)
            }),
        )
    }

    /// The weights of output pixel `o`.
    pub fn of(&self, o: usize) -> &[f64] {
        &self.weights[o * self.count..(o + 1) * self.count]
    }
}

/// How the picture is fitted into a frame of another shape.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Fit {
    /// Fill the whole frame, changing the aspect ratio if they differ.
    Stretch,
    /// Keep the aspect ratio: scale to fit inside and fill the rest with black bars.
    #[default]
    Letterbox,
}

named_enum!(Fit, "fit", [Stretch => "stretch", Letterbox => "letterbox"]);

/// A rectangle of the output frame, in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rect {
    /// Left column.
    pub x: u32,
    /// Top row.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

impl Rect {
    /// True when `(x, y)` lies inside.
    pub fn contains(&self, x: u32, y: u32) -> bool {
        x >= self.x && y >= self.y && x < self.x + self.width && y < self.y + self.height
    }
}

/// Where a `src_w` x `src_h` picture lands in a `dst_w` x `dst_h` frame. With
/// [`Fit::Letterbox`] the picture keeps its aspect ratio, with even size and offsets (whole
/// 4:2:0 chroma samples on both sides of each bar) and the bars split evenly.
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "a non-negative size at most `max` (a u32) before rounding"
)]
pub fn placement(src_w: u32, src_h: u32, dst_w: u32, dst_h: u32, fit: Fit) -> Rect {
    let whole = Rect {
        x: 0,
        y: 0,
        width: dst_w,
        height: dst_h,
    };
    if fit == Fit::Stretch
        || (u64::from(src_w) * u64::from(dst_h) == u64::from(src_h) * u64::from(dst_w))
    {
        return whole;
    }
    let even = |v: f64, max: u32| (((v / 2.0).round() as u32) * 2).clamp(2.min(max), max);
    if u64::from(src_w) * u64::from(dst_h) > u64::from(src_h) * u64::from(dst_w) {
        // Wider than the frame: bars above and below.
        let h = even(
            f64::from(dst_w) * f64::from(src_h) / f64::from(src_w),
            dst_h,
        );
        Rect {
            x: 0,
            y: (dst_h - h) / 2 / 2 * 2,
            width: dst_w,
            height: h,
        }
    } else {
        let w = even(
            f64::from(dst_h) * f64::from(src_w) / f64::from(src_h),
            dst_w,
        );
        Rect {
            x: (dst_w - w) / 2 / 2 * 2,
            y: 0,
            width: w,
            height: dst_h,
        }
    }
}

impl fmt::Display for Rect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}+{}+{}", self.width, self.height, self.x, self.y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_have_their_published_values() {
        for f in [
            ScaleFilter::Bilinear,
            ScaleFilter::Bicubic,
            ScaleFilter::Lanczos3,
        ] {
            assert_eq!(f.weight(0.0), 1.0, "{f}");
            assert!(f.weight(1.0).abs() < 1e-12, "{f} is interpolating");
            assert_eq!(f.weight(f.radius()), 0.0, "{f}");
        }
        // Catmull-Rom at 0.5: 1.5/8 - 2.5/4 + 1 = 0.5625; at 1.5: -0.0625.
        assert!((ScaleFilter::Bicubic.weight(0.5) - 0.5625).abs() < 1e-12);
        assert!((ScaleFilter::Bicubic.weight(1.5) + 0.0625).abs() < 1e-12);
        // Lanczos-3 at 0.5: 3 sin(pi/2) sin(pi/6) / (pi/2)^2 = 6 / pi^2.
        let l = 6.0 / (std::f64::consts::PI * std::f64::consts::PI);
        assert!((ScaleFilter::Lanczos3.weight(0.5) - l).abs() < 1e-12);
        assert_eq!(ScaleFilter::Bilinear.weight(0.25), 0.75);
    }

    /// Area averaging: at 2:1 each output pixel is the mean of its two source pixels; at 3:2
    /// the middle source pixel is shared half and half; upscaling 1:2 gives 3/4 and 1/4 except
    /// at the edges (clamped); every row sums to one.
    #[test]
    fn area_taps_are_the_overlaps() {
        let half = Taps::new(8, 4, ScaleFilter::Area);
        assert_eq!(half.count, 2);
        assert_eq!(half.start, [0, 2, 4, 6]);
        assert!(half.weights.iter().all(|&w| (w - 0.5).abs() < 1e-12));
        let third = Taps::new(3, 2, ScaleFilter::Area);
        assert_eq!(third.start, [0, 1]);
        let w = |t: &Taps, o: usize| t.of(o).to_vec();
        let close = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12);
        assert!(
            close(&w(&third, 0), &[2.0 / 3.0, 1.0 / 3.0]),
            "{:?}",
            w(&third, 0)
        );
        assert!(
            close(&w(&third, 1), &[1.0 / 3.0, 2.0 / 3.0]),
            "{:?}",
            w(&third, 1)
        );
        let up = Taps::new(4, 8, ScaleFilter::Area);
        assert!(close(&w(&up, 3), &[0.75, 0.25]) || close(&w(&up, 3), &[0.25, 0.75]));
        for t in [half, third, up] {
            for o in 0..t.start.len() {
                assert!((t.of(o).iter().sum::<f64>() - 1.0).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn same_size_is_the_identity() {
        for f in [
            ScaleFilter::Bilinear,
            ScaleFilter::Bicubic,
            ScaleFilter::Lanczos3,
        ] {
            let t = Taps::new(7, 7, f);
            assert_eq!(t.count, 1);
            for o in 0..7 {
                let w = t.of(o);
                let centre = usize::try_from(i32::try_from(o).unwrap() - t.start[o]).unwrap();
                for (k, v) in w.iter().enumerate() {
                    let want = if k == centre { 1.0 } else { 0.0 };
                    assert!((v - want).abs() < 1e-12, "{f} o={o} k={k} {v}");
                }
            }
        }
    }

    #[test]
    fn downscaling_widens_the_kernel() {
        let one = Taps::new(100, 100, ScaleFilter::Lanczos3);
        let half = Taps::new(200, 100, ScaleFilter::Lanczos3);
        let quarter = Taps::new(400, 100, ScaleFilter::Lanczos3);
        assert_eq!((one.count, half.count, quarter.count), (1, 12, 24));
        // Upscaling keeps the kernel's own width: 6 taps for Lanczos-3.
        assert_eq!(Taps::new(100, 150, ScaleFilter::Lanczos3).count, 6);
        // 2:1 with the tent: output 0 centres on 0.5 and averages pixels -1..2 as 1 3 3 1.
        let t = Taps::new(4, 2, ScaleFilter::Bilinear);
        assert_eq!(t.start[0], -1);
        let w: Vec<f64> = t.of(0).iter().map(|w| w * 8.0).collect();
        assert_eq!(w, vec![1.0, 3.0, 3.0, 1.0]);
        for o in 0..100 {
            let s: f64 = quarter.of(o).iter().sum();
            assert!((s - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn letterbox_keeps_the_aspect_ratio() {
        // 4:3 into 16:9: pillar-boxed, even width, centred.
        let r = placement(640, 480, 1920, 1080, Fit::Letterbox);
        assert_eq!(
            r,
            Rect {
                x: 240,
                y: 0,
                width: 1440,
                height: 1080
            }
        );
        // 21:9 into 16:9: bars above and below.
        let r = placement(2560, 1080, 1920, 1080, Fit::Letterbox);
        assert_eq!(
            (r.width, r.height, r.y % 2, r.height % 2),
            (1920, 810, 0, 0)
        );
        assert_eq!(r.y, 134);
        // Same shape, or stretch: the whole frame.
        let whole = Rect {
            x: 0,
            y: 0,
            width: 1280,
            height: 720,
        };
        assert_eq!(placement(3840, 2160, 1280, 720, Fit::Letterbox), whole);
        assert_eq!(placement(640, 480, 1280, 720, Fit::Stretch), whole);
    }
}
