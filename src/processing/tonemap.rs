//! HDR to SDR: the ST 2084 (PQ) and ARIB STD-B67 (HLG) curves, the ITU-R BT.2390 EETF, gamut
//! conversion between primaries, and the whole per-pixel mapping in float64 (the reference the
//! shader is held to; the shader computes the same steps in float32).
//!
//! The mapping, for a source signal `E'` (R'G'B' in 0..1):
//! 1. to display light in nits: PQ EOTF (`10000 * eotf(E')`); for HLG, the inverse OETF then
//!    the OOTF of a 1000-nit display (`1000 * Ys^(1.2 - 1) * E`, `Ys` the BT.2020 luminance);
//! 2. the BT.2390 EETF on the largest channel (`maxRGB`) in the PQ domain, from the source peak
//!    to the SDR peak, and every channel scaled by the same ratio (hue kept);
//! 3. the primaries converted in linear light (BT.2020 to BT.709), then colours outside
//!    BT.709 pulled toward their own luminance just far enough to fit (no hue shift, no clip
//!    skew);
//! 4. divided by the SDR peak (1.0 = SDR white) and encoded with the output transfer: the
//!    inverse of BT.1886 (power 1/2.4) for BT.709, the sRGB curve for sRGB.

use crate::color::{ColorPrimaries, TransferFunction};

/// ST 2084 constants.
const M1: f64 = 2610.0 / 16384.0;
const M2: f64 = 2523.0 / 4096.0 * 128.0;
const C1: f64 = 3424.0 / 4096.0;
const C2: f64 = 2413.0 / 4096.0 * 32.0;
const C3: f64 = 2392.0 / 4096.0 * 32.0;

/// HLG constants (ARIB STD-B67 / BT.2100).
const HLG_A: f64 = 0.178_832_77;
const HLG_B: f64 = 0.284_668_92;
const HLG_C: f64 = 0.559_910_73;

/// The nominal peak of an HLG display, and the system gamma at that peak (BT.2100).
pub const HLG_PEAK_NITS: f64 = 1000.0;
/// The HLG system gamma at 1000 nits.
pub const HLG_GAMMA: f64 = 1.2;
/// The peak of an SDR display the mapping targets: 100 nits (BT.2390's reference SDR white).
pub const SDR_PEAK_NITS: f64 = 100.0;

/// PQ EOTF: signal 0..1 to light, normalised so that 1.0 is 10000 nits.
pub fn pq_eotf(e: f64) -> f64 {
    let p = e.clamp(0.0, 1.0).powf(1.0 / M2);
    ((p - C1).max(0.0) / (C2 - C3 * p)).powf(1.0 / M1)
}

/// Inverse PQ EOTF: light (1.0 = 10000 nits) to signal 0..1.
pub fn pq_inverse_eotf(y: f64) -> f64 {
    let p = y.clamp(0.0, 1.0).powf(M1);
    ((C1 + C2 * p) / (1.0 + C3 * p)).powf(M2)
}

/// HLG inverse OETF: signal 0..1 to scene light 0..1.
pub fn hlg_inverse_oetf(e: f64) -> f64 {
    let e = e.clamp(0.0, 1.0);
    if e <= 0.5 {
        e * e / 3.0
    } else {
        (((e - HLG_C) / HLG_A).exp() + HLG_B) / 12.0
    }
}

/// The BT.2390 EETF between a source peak and a target peak, both in nits, with black at 0
/// on both sides: maps light `l` (nits) to light. Below the knee (`1.5 * target - 0.5` in the
/// normalised PQ domain) it is the identity; above it a Hermite spline rolls off to land the
/// source peak exactly on the target peak. When the source peak is at or under the target,
/// nothing needs compressing and it is the identity.
pub fn bt2390_eetf(l: f64, source_peak: f64, target_peak: f64) -> f64 {
    if source_peak <= target_peak {
        return l;
    }
    let sw = pq_inverse_eotf(source_peak / 10000.0);
    let e1 = (pq_inverse_eotf(l / 10000.0) / sw).min(1.0);
    let max_lum = pq_inverse_eotf(target_peak / 10000.0) / sw;
    let ks = 1.5 * max_lum - 0.5;
    let e2 = if e1 < ks {
        e1
    } else {
        let t = (e1 - ks) / (1.0 - ks);
        let (t2, t3) = (t * t, t * t * t);
        (2.0 * t3 - 3.0 * t2 + 1.0) * ks
            + (t3 - 2.0 * t2 + t) * (1.0 - ks)
            + (-2.0 * t3 + 3.0 * t2) * max_lum
    };
    pq_eotf(e2 * sw) * 10000.0
}

/// CIE xy chromaticities of the red, green and blue primaries; every set here uses D65.
fn chromaticities(p: ColorPrimaries) -> [[f64; 2]; 3] {
    match p {
        ColorPrimaries::Bt709 => [[0.64, 0.33], [0.30, 0.60], [0.15, 0.06]],
        ColorPrimaries::Bt601Pal => [[0.64, 0.33], [0.29, 0.60], [0.15, 0.06]],
        ColorPrimaries::Bt601Ntsc => [[0.630, 0.340], [0.310, 0.595], [0.155, 0.070]],
        ColorPrimaries::Bt2020 => [[0.708, 0.292], [0.170, 0.797], [0.131, 0.046]],
        ColorPrimaries::DisplayP3 => [[0.680, 0.320], [0.265, 0.690], [0.150, 0.060]],
    }
}

const D65: [f64; 2] = [0.3127, 0.3290];

type Mat3 = [[f64; 3]; 3];

fn mul(a: &Mat3, b: &Mat3) -> Mat3 {
    let mut m = [[0.0; 3]; 3];
    for (i, row) in m.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    m
}

fn invert(m: &Mat3) -> Mat3 {
    let det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    let c =
        |r0: usize, c0: usize, r1: usize, c1: usize| m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0];
    [
        [
            c(1, 1, 2, 2) / det,
            -c(0, 1, 2, 2) / det,
            c(0, 1, 1, 2) / det,
        ],
        [
            -c(1, 0, 2, 2) / det,
            c(0, 0, 2, 2) / det,
            -c(0, 0, 1, 2) / det,
        ],
        [
            c(1, 0, 2, 1) / det,
            -c(0, 0, 2, 1) / det,
            c(0, 0, 1, 1) / det,
        ],
    ]
}

/// The linear RGB to CIE XYZ matrix of a set of primaries (white D65 at Y = 1).
pub fn rgb_to_xyz(p: ColorPrimaries) -> Mat3 {
    let xyz = |[x, y]: [f64; 2]| [x / y, 1.0, (1.0 - x - y) / y];
    let prim = chromaticities(p).map(xyz);
    let columns: Mat3 = [
        [prim[0][0], prim[1][0], prim[2][0]],
        [prim[0][1], prim[1][1], prim[2][1]],
        [prim[0][2], prim[1][2], prim[2][2]],
    ];
    let w = xyz(D65);
    let inv = invert(&columns);
    let s: Vec<f64> = (0..3)
        .map(|i| (0..3).map(|k| inv[i][k] * w[k]).sum())
        .collect();
    let mut m = columns;
    for row in m.iter_mut() {
        for (j, v) in row.iter_mut().enumerate() {
            *v *= s[j];
        }
    }
    m
}

/// The matrix taking linear RGB in `from` primaries to linear RGB in `to` primaries.
pub fn gamut_matrix(from: ColorPrimaries, to: ColorPrimaries) -> Mat3 {
    mul(&invert(&rgb_to_xyz(to)), &rgb_to_xyz(from))
}

/// The luminance (Y) weights of linear RGB in a set of primaries.
pub fn luminance_weights(p: ColorPrimaries) -> [f64; 3] {
    rgb_to_xyz(p)[1]
}

/// Where the source peak of the EETF comes from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PeakSource {
    /// The stream's metadata (MaxCLL, or the mastering display's peak), in nits.
    Metadata(f64),
    /// Measured on the GPU: each frame is mapped with the largest channel of the previous
    /// frame (no stall waiting for the current one); the first frame uses the given nits.
    Measured {
        /// The peak used until a frame has been measured.
        first_frame: f64,
    },
}

/// An HDR to SDR tone mapping.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ToneMapSpec {
    /// The source transfer: PQ or HLG.
    pub source: TransferFunction,
    /// The source primaries (BT.2020 for HDR10 and HLG).
    pub source_primaries: ColorPrimaries,
    /// The output primaries (BT.709 for SDR).
    pub output_primaries: ColorPrimaries,
    /// The output transfer: BT.709 (encoded with the inverse of BT.1886) or sRGB.
    pub output_transfer: TransferFunction,
    /// Where the source peak comes from (PQ; HLG always uses its nominal 1000 nits).
    pub peak: PeakSource,
}

impl ToneMapSpec {
    /// HDR10 (PQ, BT.2020) to SDR BT.709 with the peak from metadata.
    pub fn hdr10_to_sdr(peak_nits: f64) -> Self {
        Self {
            source: TransferFunction::Pq,
            source_primaries: ColorPrimaries::Bt2020,
            output_primaries: ColorPrimaries::Bt709,
            output_transfer: TransferFunction::Bt709,
            peak: PeakSource::Metadata(peak_nits),
        }
    }

    /// Checks the combination: an HDR source, an SDR output, a peak in 1..=10000 nits.
    pub fn check(&self) -> Result<(), String> {
        if !self.source.is_hdr() {
            return Err(format!(
                "tone mapping needs an HDR source (pq or hlg), not {}",
                self.source
            ));
        }
        if self.output_transfer.is_hdr() {
            return Err(format!(
                "tone mapping writes SDR (bt709 or srgb), not {}; for HDR output leave tone mapping off (HDR passthrough)",
                self.output_transfer
            ));
        }
        let nits = match self.peak {
            PeakSource::Metadata(n) => n,
            PeakSource::Measured { first_frame } => first_frame,
        };
        if !(1.0..=10000.0).contains(&nits) {
            return Err(format!("source peak {nits} nits is outside 1..=10000"));
        }
        Ok(())
    }

    /// The source peak in nits for the transfer, given what was measured (signal 0..1 of the
    /// previous frame's largest channel) when the peak is measured.
    pub fn source_peak(&self, measured_signal: Option<f64>) -> f64 {
        if self.source == TransferFunction::Hlg {
            return HLG_PEAK_NITS;
        }
        match (self.peak, measured_signal) {
            (PeakSource::Metadata(n), _) => n,
            (PeakSource::Measured { .. }, Some(s)) => (pq_eotf(s) * 10000.0).max(1.0),
            (PeakSource::Measured { first_frame }, None) => first_frame,
        }
    }
}

/// sRGB encoding of linear light 0..1.
fn srgb_oetf(l: f64) -> f64 {
    if l <= 0.003_130_8 {
        12.92 * l
    } else {
        1.055 * l.powf(1.0 / 2.4) - 0.055
    }
}

/// Maps one source pixel (R'G'B' signal) to the SDR output signal, as the module text says.
/// For many pixels, build a [`ToneMapper`] once.
pub fn tone_map_pixel(e: [f64; 3], spec: &ToneMapSpec, source_peak: f64) -> [f64; 3] {
    ToneMapper::new(spec, source_peak).map(e)
}

/// A tone mapping with its per-frame constants (gamut matrix, luminance weights) computed once.
#[derive(Clone, Debug)]
pub struct ToneMapper {
    spec: ToneMapSpec,
    source_peak: f64,
    gamut: Mat3,
    luma_src: [f64; 3],
    luma_dst: [f64; 3],
}

impl ToneMapper {
    /// The mapping of `spec` for a frame whose source peak is `source_peak` nits.
    pub fn new(spec: &ToneMapSpec, source_peak: f64) -> Self {
        Self {
            spec: *spec,
            source_peak,
            gamut: gamut_matrix(spec.source_primaries, spec.output_primaries),
            luma_src: luminance_weights(spec.source_primaries),
            luma_dst: luminance_weights(spec.output_primaries),
        }
    }

    /// Maps one source pixel (R'G'B' signal) to the SDR output signal.
    pub fn map(&self, e: [f64; 3]) -> [f64; 3] {
        let e = e.map(|v| v.clamp(0.0, 1.0));
        let lin: [f64; 3] = match self.spec.source {
            TransferFunction::Hlg => {
                let scene = e.map(hlg_inverse_oetf);
                let w = self.luma_src;
                let ys = w[0] * scene[0] + w[1] * scene[1] + w[2] * scene[2];
                let gain = if ys > 0.0 {
                    HLG_PEAK_NITS * ys.powf(HLG_GAMMA - 1.0)
                } else {
                    0.0
                };
                scene.map(|s| s * gain)
            }
            _ => e.map(|v| pq_eotf(v) * 10000.0),
        };
        let m = lin[0].max(lin[1]).max(lin[2]);
        let lin = if m > 0.0 {
            let k = bt2390_eetf(m, self.source_peak, SDR_PEAK_NITS) / m;
            lin.map(|v| v * k)
        } else {
            lin
        };
        let g = &self.gamut;
        let rel = [0, 1, 2]
            .map(|i| (g[i][0] * lin[0] + g[i][1] * lin[1] + g[i][2] * lin[2]) / SDR_PEAK_NITS);
        let srgb = self.spec.output_transfer == TransferFunction::Srgb;
        fit_gamut(rel, self.luma_dst).map(|l| {
            let l = l.clamp(0.0, 1.0);
            if srgb {
                srgb_oetf(l)
            } else {
                l.powf(1.0 / 2.4)
            }
        })
    }
}

/// Pulls a linear colour toward its luminance until every channel is within 0..1 (a colour
/// brighter than white becomes white).
pub fn fit_gamut(rgb: [f64; 3], weights: [f64; 3]) -> [f64; 3] {
    let y = weights[0] * rgb[0] + weights[1] * rgb[1] + weights[2] * rgb[2];
    if y >= 1.0 {
        return [1.0; 3];
    }
    let y = y.max(0.0);
    let lo = rgb[0].min(rgb[1]).min(rgb[2]);
    let hi = rgb[0].max(rgb[1]).max(rgb[2]);
    let mut t: f64 = 1.0;
    if lo < 0.0 {
        t = t.min(y / (y - lo));
    }
    if hi > 1.0 {
        t = t.min((1.0 - y) / (hi - y));
    }
    rgb.map(|v| y + t * (v - y))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pq_round_trips_and_hits_published_points() {
        // ST 2084: 100 nits is signal 0.5081, 1000 nits 0.7518, 10000 nits 1.0.
        assert!((pq_inverse_eotf(0.01) - 0.508_078).abs() < 1e-5);
        assert!((pq_inverse_eotf(0.1) - 0.751_827).abs() < 1e-5);
        assert!((pq_inverse_eotf(1.0) - 1.0).abs() < 1e-12);
        for v in [0.0, 0.1, 0.5, 0.75, 1.0] {
            assert!((pq_inverse_eotf(pq_eotf(v)) - v).abs() < 1e-6, "{v}");
        }
    }

    #[test]
    fn hlg_inverse_oetf_is_continuous_and_reaches_one() {
        assert!((hlg_inverse_oetf(0.5) - 1.0 / 12.0).abs() < 1e-9);
        assert!((hlg_inverse_oetf(0.500_001) - 1.0 / 12.0).abs() < 1e-5);
        assert!((hlg_inverse_oetf(1.0) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn eetf_lands_the_peak_on_the_target_and_keeps_the_shadows() {
        for peak in [400.0, 1000.0, 4000.0, 10000.0] {
            assert!(
                (bt2390_eetf(peak, peak, 100.0) - 100.0).abs() < 1e-6,
                "{peak}"
            );
            // Deep shadows sit below the knee: unchanged.
            assert!((bt2390_eetf(1.0, peak, 100.0) - 1.0).abs() < 1e-9);
            // Monotonic.
            let mut last = 0.0;
            for i in 1..=100 {
                let v = bt2390_eetf(peak * f64::from(i) / 100.0, peak, 100.0);
                assert!(v >= last, "{peak} {i}");
                last = v;
            }
        }
        assert_eq!(bt2390_eetf(80.0, 100.0, 100.0), 80.0);
    }

    #[test]
    fn bt2020_to_bt709_matrix_matches_bt2087() {
        // ITU-R BT.2087 gives the first row as 1.6605, -0.5876, -0.0728.
        let m = gamut_matrix(ColorPrimaries::Bt2020, ColorPrimaries::Bt709);
        let want = [
            [1.6605, -0.5876, -0.0728],
            [-0.1246, 1.1329, -0.0083],
            [-0.0182, -0.1006, 1.1187],
        ];
        for i in 0..3 {
            for j in 0..3 {
                assert!((m[i][j] - want[i][j]).abs() < 1e-3, "{i},{j} {}", m[i][j]);
            }
        }
        // BT.709 luminance weights.
        let w = luminance_weights(ColorPrimaries::Bt709);
        assert!((w[0] - 0.2126).abs() < 1e-4 && (w[2] - 0.0722).abs() < 1e-4);
    }

    #[test]
    fn pq_1000_nit_white_with_a_1000_nit_peak_is_sdr_white() {
        let spec = ToneMapSpec::hdr10_to_sdr(1000.0);
        let e = pq_inverse_eotf(0.1);
        let out = tone_map_pixel([e; 3], &spec, 1000.0);
        for v in out {
            assert!((v - 1.0).abs() < 1e-9, "{out:?}");
        }
        // 100-nit grey with a 1000-nit peak sits below the knee... but not unchanged: the
        // knee is at 1.5 * 0.676 - 0.5 = 0.51 of the PQ range, 100 nits is 0.676 of it.
        let grey = tone_map_pixel([pq_inverse_eotf(0.001); 3], &spec, 1000.0);
        // 10 nits is below the knee: 0.1 of SDR white, encoded with 1/2.4.
        assert!((grey[0] - 0.1f64.powf(1.0 / 2.4)).abs() < 1e-9, "{grey:?}");
        // Saturated BT.2020 green is out of BT.709: it stays in range and stays green.
        let g = tone_map_pixel([0.0, 0.6, 0.0], &spec, 1000.0);
        assert!(g.iter().all(|v| (0.0..=1.0).contains(v)) && g[1] > g[0] && g[1] > g[2]);
    }

    #[test]
    fn hlg_peak_white_is_sdr_white() {
        let spec = ToneMapSpec {
            source: TransferFunction::Hlg,
            ..ToneMapSpec::hdr10_to_sdr(1000.0)
        };
        let out = tone_map_pixel([1.0; 3], &spec, spec.source_peak(None));
        for v in out {
            assert!((v - 1.0).abs() < 1e-9, "{out:?}");
        }
    }

    #[test]
    fn combinations_are_checked() {
        let mut s = ToneMapSpec::hdr10_to_sdr(1000.0);
        assert!(s.check().is_ok());
        s.peak = PeakSource::Metadata(0.0);
        assert!(s.check().unwrap_err().contains("0 nits"));
        s = ToneMapSpec::hdr10_to_sdr(1000.0);
        s.source = TransferFunction::Bt709;
        assert!(s.check().unwrap_err().contains("bt709"));
        s = ToneMapSpec::hdr10_to_sdr(1000.0);
        s.output_transfer = TransferFunction::Pq;
        assert!(s.check().unwrap_err().contains("passthrough"));
    }
}
