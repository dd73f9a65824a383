//! SEI NAL units an encoder writes beside the driver's pictures (H.264 7.3.2.3 / H.265 7.3.5
//! `sei_message()`, Annex D payloads): the framing of any payload, and the recovery point that
//! marks where a decoder joining an intra-refresh stream has a whole picture again.

use super::nal::escape_rbsp;

/// `payloadType` of the recovery point SEI message (H.264 D.1.8, H.265 D.2.8).
pub const RECOVERY_POINT: u32 = 6;

/// Which NAL syntax an SEI unit is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeiSyntax {
    /// H.264: `nal_unit_type` 6, one header byte.
    H264,
    /// H.265: a prefix SEI (`nal_unit_type` 39), two header bytes, layer 0, temporal id 0.
    H265,
}

/// One SEI NAL unit (Annex-B, start code first) carrying `messages` (`payloadType`, payload
/// bytes), in order: each message's type and size coded as runs of 0xFF then the rest, the
/// payload, then the RBSP's stop bit; emulation prevention applied.
pub fn sei_nal(syntax: SeiSyntax, messages: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let mut rbsp = Vec::with_capacity(messages.iter().map(|(_, b)| b.len() + 4).sum());
    let ff_coded = |mut v: usize, out: &mut Vec<u8>| {
        while v >= 255 {
            out.push(0xFF);
            v -= 255;
        }
        out.push(u8::try_from(v).unwrap_or(0));
    };
    for (kind, bytes) in messages {
        ff_coded(*kind as usize, &mut rbsp);
        ff_coded(bytes.len(), &mut rbsp);
        rbsp.extend_from_slice(bytes);
    }
    // rbsp_trailing_bits: the stop bit, byte-aligned.
    rbsp.push(0x80);
    let mut nal = match syntax {
        // nal_ref_idc 0, nal_unit_type 6 (SEI).
        SeiSyntax::H264 => vec![0, 0, 0, 1, 6],
        // nal_unit_type 39 (PREFIX_SEI_NUT), nuh_layer_id 0, nuh_temporal_id_plus1 1.
        SeiSyntax::H265 => vec![0, 0, 0, 1, 39 << 1, 1],
    };
    escape_rbsp(&rbsp, &mut nal);
    nal
}

/// The recovery point payload: decoding from the picture that carries it, every picture from
/// `pictures_to_recovery` pictures later on (in output order) is correct, though not promised
/// to match bit for bit what a decoder that started earlier shows (`exact_match_flag` 0: the
/// encoder keeps refreshed regions from predicting out of unrefreshed ones, but in-loop
/// filtering across their border is the encoder's own choice); no broken link. H.264 counts in
/// `frame_num` steps (`recovery_frame_cnt`, ue(v), then `changing_slice_group_idc` 0), H.265 in
/// picture order counts (`recovery_poc_cnt`, se(v)): one a picture in streams where every
/// picture is a reference picture and the POC steps by one, as GhostStream's low-latency ones.
pub fn recovery_point_payload(syntax: SeiSyntax, pictures_to_recovery: u32) -> Vec<u8> {
    let mut w = BitWriter::default();
    match syntax {
        SeiSyntax::H264 => {
            w.ue(pictures_to_recovery);
            w.bits(0, 1); // exact_match_flag
            w.bits(0, 1); // broken_link_flag
            w.bits(0, 2); // changing_slice_group_idc
        }
        SeiSyntax::H265 => {
            w.se(i64::from(pictures_to_recovery));
            w.bits(0, 1); // exact_match_flag
            w.bits(0, 1); // broken_link_flag
        }
    }
    // A payload that ends inside a byte is closed with a 1 and then 0s (H.264 D.1,
    // H.265 7.3.5: bit_equal_to_one, bit_equal_to_zero / payload_bit_equal_to_one...).
    w.close_payload()
}

/// An MSB-first bit writer for the few exp-Golomb fields of SEI payloads.
#[derive(Default)]
struct BitWriter {
    bytes: Vec<u8>,
    /// Bits used in the last byte (0: none is open).
    used: u8,
}

impl BitWriter {
    /// The low `n` bits of `value`, most significant first.
    fn bits(&mut self, value: u64, n: u32) {
        for i in (0..n).rev() {
            if self.used == 0 {
                self.bytes.push(0);
            }
            let bit = u8::from((value >> i) & 1 == 1);
            if let Some(last) = self.bytes.last_mut() {
                *last |= bit << (7 - self.used);
            }
            self.used = (self.used + 1) % 8;
        }
    }

    /// ue(v): `value + 1` in binary, after as many 0s as it has bits less one.
    fn ue(&mut self, value: u32) {
        let v = u64::from(value) + 1;
        let len = 64 - v.leading_zeros();
        self.bits(0, len - 1);
        self.bits(v, len);
    }

    /// se(v): positive k as 2k − 1, negative and zero as −2k.
    fn se(&mut self, value: i64) {
        let mapped = if value > 0 { 2 * value - 1 } else { -2 * value };
        self.ue(u32::try_from(mapped).unwrap_or(u32::MAX));
    }

    /// The bytes, a payload ending inside a byte closed with a 1 bit and 0 bits.
    fn close_payload(mut self) -> Vec<u8> {
        if self.used != 0 {
            self.bits(1, 1);
            if self.used != 0 {
                let pad = 8 - u32::from(self.used);
                self.bits(0, pad);
            }
        }
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_points_code_their_counts_flags_and_alignment() {
        // H.264, 29: ue(29) = 0000 11110, exact 0, broken 0, group 00 (13 bits), then the
        // closing 1 and two 0s: 0000_1111 | 0 0 0 00 1 00.
        assert_eq!(
            recovery_point_payload(SeiSyntax::H264, 29),
            vec![0b0000_1111, 0b0000_0100]
        );
        // H.264, 0: ue(0) = 1, exact 0, broken 0, group 00 -> 1000 0 + stop 1 + 00.
        assert_eq!(
            recovery_point_payload(SeiSyntax::H264, 0),
            vec![0b1000_0100]
        );
        // H.265, 59: se(59) = ue(117) = 000000 1110110, exact 0, broken 0 -> 15 bits, stop 1.
        assert_eq!(
            recovery_point_payload(SeiSyntax::H265, 59),
            vec![0b0000_0011, 0b1011_0001]
        );
    }

    #[test]
    fn sei_units_frame_their_messages_and_escape_start_codes() {
        let nal = sei_nal(SeiSyntax::H264, &[(RECOVERY_POINT, vec![0x84])]);
        assert_eq!(nal, vec![0, 0, 0, 1, 6, 6, 1, 0x84, 0x80]);
        let nal = sei_nal(SeiSyntax::H265, &[(RECOVERY_POINT, vec![0x84])]);
        assert_eq!(nal, vec![0, 0, 0, 1, 78, 1, 6, 1, 0x84, 0x80]);
        // A payload of 300 bytes: its size as 0xFF then 45; zeros escaped.
        let nal = sei_nal(SeiSyntax::H264, &[(5, vec![0; 300])]);
        assert_eq!(&nal[5..9], &[5, 0xFF, 45, 0]);
        assert!(nal.windows(3).skip(2).all(|w| w != [0, 0, 0]));
    }
}
