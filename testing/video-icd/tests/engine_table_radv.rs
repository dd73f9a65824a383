//! GhostStream's encoder on the driver's Mesa RADV table (RX 7900 XTX, VCN 4). RADV offers
//! separate reference images for encode from VCN 5 only, so on this table the encoder keeps
//! its DPB as one image with a layer per slot (the driver refuses reference slots bound from
//! several images, VUID-VkVideoBeginCodingInfoKHR-flags-07244): 300-picture H.264 and H.265
//! sessions FFmpeg decodes to exactly the input, and a 300-frame AV1 session (see
//! `common/tables.rs`). One test in this binary: the table is named before any Vulkan call.

mod common;

#[test]
fn the_engine_encodes_on_the_radv_vcn4_table_with_a_layered_dpb() {
    let Some(report) = common::tables::run("radv") else {
        return;
    };
    eprintln!("radv: {report:?}");
    let codecs: Vec<&str> = report.iter().map(|r| r.0).collect();
    assert_eq!(codecs, ["h264", "hevc", "av1"]);
    assert!(
        report
            .iter()
            .all(|&(_, pictures, bytes)| pictures == 300 && bytes > 0),
        "{report:?}"
    );
}
