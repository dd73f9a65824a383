//! Compiles the GLSL compute shaders in shaders/ to SPIR-V with shaderc's compiler, `glslc`
//! (Debian package `glslc`, built from the same shaderc as libshaderc-dev), into OUT_DIR, where
//! src/gpu embeds them with include_bytes!. Warnings are errors.
//!
//! The `shaderc` crate is not used: Debian's libshaderc_combined.a leaves glslang out, so the
//! crate cannot link against the system library without a from-source build.

use std::path::Path;
use std::process::Command;

fn main() {
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let glslc = std::env::var("GLSLC").unwrap_or_else(|_| "glslc".into());
    println!("cargo:rerun-if-changed=shaders");
    println!("cargo:rerun-if-env-changed=GLSLC");
    let mut entries: Vec<_> = std::fs::read_dir("shaders")
        .expect("shaders/")
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("comp") {
            continue;
        }
        println!("cargo:rerun-if-changed={}", path.display());
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let spv = Path::new(&out).join(format!("{stem}.spv"));
        let result = Command::new(&glslc)
            .args([
                "--target-env=vulkan1.2",
                "-O",
                "-Werror",
                "-fshader-stage=compute",
                "-o",
            ])
            .arg(&spv)
            .arg(&path)
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run {glslc} ({e}): install Debian's glslc package (bash .ci/setup)")
            });
        if !result.status.success() {
            panic!(
                "{} failed to compile:\n{}",
                path.display(),
                String::from_utf8_lossy(&result.stderr)
            );
        }
    }
}
