//! GhostStream's encoder on the driver's Mesa ANV table (Arc A770): 300-picture H.264 and
//! H.265 sessions at constant QP, the only rate control ANV offers (no AV1 encode there; see
//! `common/tables.rs`). One test in this binary: the table is named before any Vulkan call.

mod common;

#[test]
fn the_engine_encodes_on_the_anv_table() {
    let Some(report) = common::tables::run("anv") else {
        return;
    };
    eprintln!("anv: {report:?}");
    let codecs: Vec<&str> = report.iter().map(|r| r.0).collect();
    assert_eq!(codecs, ["h264", "hevc"]);
}
