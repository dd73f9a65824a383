//! The ABI layout, recorded: `abi_layout.txt` holds the size and field offsets of every
//! struct of the header and the value of every constant. The header must list exactly what
//! the record lists and C must lay it out as recorded (tests/zig.rs checks the Zig interface
//! against the same record), so that any change to the ABI is a deliberate edit of the record. `GHOSTSTREAM_WRITE_LAYOUT=1`
//! rewrites the record from what C measures now.

mod support;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::process::Command;

use support::{check, gcc, header_items};

use support::record_path;

/// A C program that prints the layout of everything in the header, in the record's format.
fn measuring_program() -> String {
    let (structs, constants) = header_items();
    let mut c = String::from(
        "#include \"ghoststream.h\"\n#include <stddef.h>\n#include <stdio.h>\nint main(void) {\n",
    );
    for s in &structs {
        writeln!(c, "  printf(\"struct {0} %zu\\n\", sizeof({0}));", s.name).unwrap();
        for f in &s.fields {
            writeln!(
                c,
                "  printf(\"field {0}.{1} %zu\\n\", offsetof({0}, {1}));",
                s.name, f
            )
            .unwrap();
        }
    }
    for k in &constants {
        writeln!(c, "  printf(\"const {k} %lld\\n\", (long long)({k}));").unwrap();
    }
    c.push_str("  return 0;\n}\n");
    c
}

fn measured() -> String {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("measure.c");
    std::fs::write(&src, measuring_program()).unwrap();
    let exe = dir.path().join("measure");
    check(
        "building the layout probe",
        &gcc().arg(&src).arg("-o").arg(&exe).output().unwrap(),
    );
    let run = Command::new(&exe).output().unwrap();
    check("the layout probe", &run);
    String::from_utf8(run.stdout).unwrap()
}

#[test]
fn c_lays_out_every_struct_and_constant_as_recorded() {
    let now = measured();
    if std::env::var_os("GHOSTSTREAM_WRITE_LAYOUT").is_some() {
        std::fs::write(record_path(), &now).unwrap();
    }
    let recorded = std::fs::read_to_string(record_path()).unwrap();
    let now_lines: BTreeSet<&str> = now.lines().collect();
    let recorded_lines: BTreeSet<&str> = recorded.lines().collect();
    let changed: Vec<_> = now_lines.symmetric_difference(&recorded_lines).collect();
    assert!(
        changed.is_empty(),
        "the ABI differs from ffi/tests/abi_layout.txt (lines only in one of them: {changed:?}); an ABI change must be deliberate: rerun with GHOSTSTREAM_WRITE_LAYOUT=1 and commit the record"
    );
}

#[test]
fn the_record_covers_a_known_layout() {
    // Spot checks a reader can verify by hand, so the record cannot drift silently with the
    // generator: the size field first everywhere, and the options' recorded size.
    let recorded = std::fs::read_to_string(record_path()).unwrap();
    let (structs, _) = header_items();
    assert!(structs.len() >= 10, "{structs:?}");
    for s in &structs {
        assert_eq!(
            s.fields.first().map(String::as_str),
            Some("size"),
            "{}",
            s.name
        );
        assert!(
            recorded.contains(&format!("field {}.size 0\n", s.name)),
            "{} not recorded",
            s.name
        );
    }
    // ABI 0.2's GsSessionOptions was 112 bytes (engine last, at 104); ABI 0.3's fields begin
    // where it ended, so that a 0.2 caller's struct is a prefix of this one (the library reads
    // a size down to 112 with the defaults for the rest).
    assert!(recorded.contains("struct GsSessionOptions 200\n"));
    assert!(recorded.contains("field GsSessionOptions.engine 104\n"));
    assert!(recorded.contains("field GsSessionOptions.color_matrix 112\n"));
    assert!(recorded.contains("field GsSessionOptions.quality 192\n"));
    assert!(recorded.contains("struct GsRecorderOptions 160\n"));
    // ABI 0.2's and 0.3's GsFrameStats was 88 bytes (gpu_end_ns last, at 80); ABI 0.4's fields
    // begin where it ended, so that an older caller's struct is a prefix that the library
    // fills to its size.
    assert!(recorded.contains("struct GsFrameStats 120\n"));
    assert!(recorded.contains("field GsFrameStats.gpu_end_ns 80\n"));
    assert!(recorded.contains("field GsFrameStats.encode_gpu_time_ns 88\n"));
    assert!(recorded.contains("field GsFrameStats.cpu_copy_bytes 112\n"));
    assert!(recorded.contains("const GS_ERR_BAD_HANDLE -22\n"));
}

#[test]
fn the_header_compiles_as_cpp_and_as_c99_without_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("include.cc");
    std::fs::write(
        &src,
        "#include \"ghoststream.h\"\nint main() { return gs_version() < 0; }\n",
    )
    .unwrap();
    let include = support::crate_dir().join("include");
    for (compiler, language, standard) in [("g++", "c++", "-std=c++17"), ("gcc", "c", "-std=c99")] {
        let out = Command::new(compiler)
            .args([
                "-x",
                language,
                standard,
                "-Wall",
                "-Wextra",
                "-Werror",
                "-pedantic",
            ])
            .arg("-fsyntax-only")
            .arg("-I")
            .arg(&include)
            .arg(&src)
            .output()
            .unwrap();
        check(&format!("the header as {standard}"), &out);
    }
}
