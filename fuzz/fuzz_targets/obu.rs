//! AV1: the OBU walker, leb128, the sequence header parser, the av1C builder, and IVF framing,
//! over arbitrary bytes.
#![no_main]

use ghoststream::bitstream::{ivf, obu};
use libfuzzer_sys::fuzz_target;

fn walk(data: &[u8]) {
    let _ = obu::read_leb128(data);
    for o in obu::obus(data) {
        let Ok(o) = o else { break };
        assert!(o.payload.len() < o.raw.len());
        if o.obu_type == obu::obu_type::SEQUENCE_HEADER {
            if let Ok(sh) = obu::parse_sequence_header(o.payload) {
                assert!(matches!(sh.bit_depth(), 8 | 10 | 12));
                assert!(sh.max_width >= 1 && sh.max_height >= 1);
            }
        }
    }
    let _ = obu::find_sequence_header(data);
    if let Ok(record) = obu::av1c_record(data) {
        assert_eq!(record[0], 0x81);
    }
    let _ = obu::starts_with_temporal_delimiter(data);
}

fuzz_target!(|data: &[u8]| {
    walk(data);
    // The bytes as a sequence header payload, without the OBU around it.
    let _ = obu::parse_sequence_header(data);
    // And as an IVF file whose frames are temporal units.
    if let Ok(frames) = ivf::frames(data) {
        for (_, tu) in frames {
            walk(tu);
        }
    }
});
