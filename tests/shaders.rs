//! The compiled SPIR-V the library embeds is committed (`shaders/spirv/`), so that building the
//! crate needs no shader compiler (a downstream crate, a docs builder, the lent H200). These
//! tests hold it to the GLSL: each `shaders/NAME.comp` compiled by shaderc's `glslc` with the
//! flags below must give exactly the committed `shaders/spirv/NAME.spv`, and each module must
//! pass `spirv-val` for Vulkan 1.2. After editing a shader, `make shaders` rewrites the SPIR-V
//! (this test with `GHOSTSTREAM_WRITE_SPIRV=1`).
//!
//! Without `glslc` or `spirv-val` the tests are skipped with a printed reason, unless
//! `GHOSTSTREAM_REQUIRE_GLSLC=1` (set by `make test`) makes that a failure.

use std::path::{Path, PathBuf};
use std::process::Command;

/// glslc's flags: Vulkan 1.2 SPIR-V, optimised, warnings are errors.
const GLSLC_FLAGS: &[&str] = &[
    "--target-env=vulkan1.2",
    "-O",
    "-Werror",
    "-fshader-stage=compute",
];

fn shaders_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders")
}

/// The files in `dir` ending in `.ext`, sorted, by stem.
fn stems(dir: &Path, ext: &str) -> Vec<String> {
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    found.sort();
    found
}

/// False (with the reason printed) when `tool` cannot run and the run does not require it.
fn have(tool: &str) -> bool {
    if Command::new(tool).arg("--version").output().is_ok() {
        return true;
    }
    assert!(
        std::env::var_os("GHOSTSTREAM_REQUIRE_GLSLC").is_none(),
        "{tool} does not run, and GHOSTSTREAM_REQUIRE_GLSLC is set (bash .ci/setup installs it)"
    );
    eprintln!("SKIPPED: {tool} does not run here (Debian: glslc, spirv-tools); set GHOSTSTREAM_REQUIRE_GLSLC=1 to make this a failure");
    false
}

#[test]
fn committed_spirv_is_what_glslc_makes_of_the_glsl() {
    let dir = shaders_dir();
    let spirv_dir = dir.join("spirv");
    let sources = stems(&dir, "comp");
    assert!(sources.len() >= 3, "read too few shaders: {sources:?}");
    assert_eq!(
        sources,
        stems(&spirv_dir, "spv"),
        "every shaders/NAME.comp has its shaders/spirv/NAME.spv and nothing else is there (run make shaders)"
    );
    if !have("glslc") {
        return;
    }
    let write = std::env::var_os("GHOSTSTREAM_WRITE_SPIRV").is_some();
    let out_dir = tempfile::tempdir().unwrap();
    let mut stale = Vec::new();
    for stem in &sources {
        let fresh = out_dir.path().join(format!("{stem}.spv"));
        let out = Command::new("glslc")
            .args(GLSLC_FLAGS)
            .arg("-o")
            .arg(&fresh)
            .arg(dir.join(format!("{stem}.comp")))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{stem}.comp does not compile:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let fresh = std::fs::read(&fresh).unwrap();
        let committed_path = spirv_dir.join(format!("{stem}.spv"));
        if std::fs::read(&committed_path).ok().as_ref() != Some(&fresh) {
            if write {
                std::fs::write(&committed_path, &fresh).unwrap();
            } else {
                stale.push(stem.clone());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "shaders/spirv/ is not what glslc makes of {stale:?}: run `make shaders` and commit the result"
    );
}

#[test]
fn committed_spirv_passes_spirv_val() {
    if !have("spirv-val") {
        return;
    }
    let spirv_dir = shaders_dir().join("spirv");
    let modules = stems(&spirv_dir, "spv");
    assert!(modules.len() >= 3, "read too few modules: {modules:?}");
    for stem in modules {
        let out = Command::new("spirv-val")
            .args(["--target-env", "vulkan1.2"])
            .arg(spirv_dir.join(format!("{stem}.spv")))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{stem}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
