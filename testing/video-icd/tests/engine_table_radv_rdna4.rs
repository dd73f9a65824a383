//! GhostStream's encoder on the driver's Mesa RADV RDNA4 table (RX 9070 XT, VCN 5, separate
//! reference images): 300-picture H.264, H.265 and AV1 sessions (see `common/tables.rs`). One
//! test in this binary: the table is named before any Vulkan call.

mod common;

#[test]
fn the_engine_encodes_on_the_radv_rdna4_table() {
    let Some(report) = common::tables::run("radv-rdna4") else {
        return;
    };
    eprintln!("radv-rdna4: {report:?}");
    let codecs: Vec<&str> = report.iter().map(|r| r.0).collect();
    assert_eq!(codecs, ["h264", "hevc", "av1"]);
}
