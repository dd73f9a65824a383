//! H.264/HEVC: the Annex-B walker, emulation prevention, length-prefixed framing both ways, the
//! SPS parsers and the avcC/hvcC record builders, over arbitrary bytes.
#![no_main]

use ghoststream::bitstream::nal::{
    annexb_to_length_prefixed, length_prefixed_nals, length_prefixed_to_annexb, unescape_rbsp,
    validate_annexb, AnnexBNals,
};
use ghoststream::bitstream::{avc, hevc};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = validate_annexb(data);
    let nals: Vec<&[u8]> = AnnexBNals::new(data).collect();
    for nal in &nals {
        assert!(!nal.is_empty() && nal.last() != Some(&0));
        assert!(unescape_rbsp(nal).len() <= nal.len());
        let _ = avc::parse_sps(nal);
        if let Ok(info) = hevc::parse_sps(nal) {
            assert!((8..=16).contains(&info.bit_depth_luma), "{info:?}");
            assert!((1..=8).contains(&info.sub_layers), "{info:?}");
        }
    }
    let _ = avc::avcc_record(data);
    let _ = hevc::hvcc_record(data);
    // Annex-B to length-prefixed and back gives the same NAL units.
    let mut lp = Vec::new();
    if annexb_to_length_prefixed(data, &mut lp).is_ok() {
        let back: Vec<&[u8]> = length_prefixed_nals(&lp).map(|n| n.unwrap()).collect();
        assert_eq!(back, nals);
        let mut annexb = Vec::new();
        length_prefixed_to_annexb(&lp, &mut annexb).unwrap();
        assert_eq!(AnnexBNals::new(&annexb).collect::<Vec<_>>(), nals);
    }
    // The input read as length-prefixed data.
    let _ = length_prefixed_nals(data).count();
    let _ = length_prefixed_to_annexb(data, &mut Vec::new());
});
