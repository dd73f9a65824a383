//! GhostStream's encoder on the driver's Mesa RADV table (RX 7900 XTX, VCN 4). RADV offers
//! separate reference images for encode from VCN 5 only, so on this table the encoder (one
//! image per DPB slot) refuses H.264, H.265 and AV1 by name before making a session, and the
//! layer stays silent (see `common/tables.rs`). One test in this binary: the table is named
//! before any Vulkan call.

mod common;

#[test]
fn the_engine_refuses_the_radv_vcn4_table_by_name() {
    let Some(report) = common::tables::run("radv") else {
        return;
    };
    eprintln!("radv: {report:?}");
    assert_eq!(report, [("h264", 0, 0), ("hevc", 0, 0), ("av1", 0, 0)]);
}
