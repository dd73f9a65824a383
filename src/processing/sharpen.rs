//! Contrast-adaptive sharpening (after AMD's FidelityFX CAS, written here from its
//! description): each channel is pushed away from its four cross neighbours by a negative-lobe
//! weight that shrinks where the neighbourhood already spans the whole range, so flat areas
//! and hard edges are left alone and soft detail is lifted without halos or clipping.
//!
//! For a channel value `e` with cross neighbours `b d f h`: `mn`/`mx` are their minimum and
//! maximum with `e`, `amp = sqrt(clamp(min(mn, 1 - mx) / mx, 0, 1))` (0 when `mx` is 0),
//! `w = -amp * strength / 5`, and the result is `(e + w (b + d + f + h)) / (1 + 4 w)`, clamped
//! to 0..1. Strength 0 is the identity; strength 1 is CAS's strongest setting.

/// The largest sharpening weight per unit strength.
pub const PEAK_WEIGHT: f64 = 0.2;

/// Sharpens one channel value given its four cross neighbours.
pub fn cas_channel(e: f64, cross: [f64; 4], strength: f64) -> f64 {
    let mn = cross.iter().fold(e, |a, &v| a.min(v));
    let mx = cross.iter().fold(e, |a, &v| a.max(v));
    let amp = if mx > 0.0 {
        (mn.min(1.0 - mx) / mx).clamp(0.0, 1.0).sqrt()
    } else {
        0.0
    };
    let w = -amp * strength * PEAK_WEIGHT;
    let sum: f64 = cross.iter().sum();
    ((e + w * sum) / (1.0 + 4.0 * w)).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_areas_and_zero_strength_are_untouched() {
        assert!((cas_channel(0.4, [0.4; 4], 1.0) - 0.4).abs() < 1e-12);
        assert_eq!(cas_channel(0.3, [0.1, 0.5, 0.2, 0.6], 0.0), 0.3);
        assert_eq!(cas_channel(0.0, [0.0; 4], 1.0), 0.0);
    }

    #[test]
    fn a_soft_peak_is_lifted_and_stays_in_range() {
        let e = 0.6;
        let out = cas_channel(e, [0.5; 4], 1.0);
        assert!(out > e && out <= 1.0, "{out}");
        // Stronger sharpening lifts more.
        assert!(cas_channel(e, [0.5; 4], 0.5) < out);
        // A full-range edge (0 next to 1) has no headroom: amp 0, untouched.
        assert_eq!(cas_channel(1.0, [0.0, 1.0, 1.0, 1.0], 1.0), 1.0);
    }
}
