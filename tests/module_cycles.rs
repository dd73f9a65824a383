//! No module of the library imports one that imports it back (issue 19), at any level: the
//! top-level modules among themselves, and the modules inside each folder among themselves.
//! This test reads `src/` as text and takes every `crate::a::b`, `super::x` and `self::x` path
//! outside comments and test modules (with `{...}` groups) as an edge from the importing file's
//! module to the module it names, cut at the first level where the two differ: `output::raw`
//! importing `crate::output::path::create` is the edge `output::raw -> output::path`, and
//! `encode::software` importing `crate::ffmpeg::codec` is `encode -> ffmpeg`. A child naming an
//! item of its own parent (`super::EncodeError`) is not an edge: the parent's `mod.rs` holds
//! what its children share. Any group of modules that reach each other fails the test.
//!
//! The top-level modules also sit in layers (`LAYERS`, the picture in docs/DESIGN.md), and an
//! import may only point to the module's own layer or one below it: core types import no
//! device layer, devices import no source, output or encoder, and nothing imports the engine
//! but the facade. A new top-level module must be given its layer here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Graph = BTreeMap<String, BTreeSet<String>>;

/// The library's layers, bottom first, and the top-level modules in each.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "core types",
        &[
            "time",
            "codec",
            "color",
            "format",
            "hdr",
            "units",
            "frame",
            "packet",
            "config",
            "bitstream",
            "processing",
            "report",
        ],
    ),
    ("devices", &["gpu", "cuda", "ffmpeg"]),
    ("sources and outputs", &["source", "output"]),
    ("encoders", &["encode"]),
    (
        "engine",
        &["session", "probe", "stats", "control", "recorder", "bench"],
    ),
    ("facade", &["error"]),
];

/// The layer index of a top-level module.
fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, ms)| ms.contains(&module))
}

/// The text of a source file without its line comments and its trailing test module.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod ") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .map(|l| l.find("//").map_or(l, |i| &l[..i]))
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The module paths a file at module path `me` names, each as its segments: `crate::` paths
/// from the root, `super::`/`self::` paths from `me`. Lower-case segments only (types and
/// functions end a path; a trailing function name is harmless, it never matches a module).
fn imported_paths(code: &str, me: &[String]) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let bytes = code.as_bytes();
    for (i, _) in code.match_indices("::") {
        // The path's first segment: the identifier just before this `::`, if it is a root.
        let start = code[..i].rfind(|c: char| !is_ident(c)).map_or(0, |s| s + 1);
        let root = &code[start..i];
        if start > 0 && bytes[start - 1] == b':' {
            continue; // not the first segment of its path
        }
        let mut base: Vec<String> = match root {
            "crate" => Vec::new(),
            "self" => me.to_vec(),
            "super" => me[..me.len().saturating_sub(1)].to_vec(),
            _ => continue,
        };
        let mut rest = &code[i + 2..];
        while let Some(r) = rest.strip_prefix("super::") {
            base.pop();
            rest = r;
        }
        let mut segments = base;
        loop {
            let name: String = rest.chars().take_while(|c| is_ident(*c)).collect();
            if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_lowercase()) {
                break;
            }
            segments.push(name.clone());
            match rest[name.len()..].strip_prefix("::") {
                Some(r) => rest = r,
                None => break,
            }
        }
        if let Some(group) = rest.strip_prefix('{') {
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            for part in inner.split(',') {
                let name: String = part.trim().chars().take_while(|c| is_ident(*c)).collect();
                if name.starts_with(|c: char| c.is_ascii_lowercase()) {
                    let mut s = segments.clone();
                    s.push(name);
                    found.push(s);
                }
            }
        }
        found.push(segments);
    }
    found
}

/// The module path of a source file: `src/output/raw.rs` is `output::raw`, `src/gpu/mod.rs` is
/// `gpu`, `src/lib.rs` is the root (empty).
fn module_path(rel: &Path) -> Vec<String> {
    let mut segments: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(segments.last().map(String::as_str), Some("mod" | "lib")) {
        segments.pop();
    }
    segments
}

/// The edge `me -> target` cut at the first level where the two differ, if they differ
/// below a common parent (a module naming its own ancestor's items is no edge).
fn edge(me: &[String], target: &[String]) -> Option<(String, String)> {
    let common = me.iter().zip(target).take_while(|(a, b)| a == b).count();
    if common < me.len() && common < target.len() {
        Some((me[..=common].join("::"), target[..=common].join("::")))
    } else {
        None
    }
}

/// The `.rs` files under `dir`, at any depth.
fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files
}

fn collect(src: &Path, graph: &mut Graph) {
    for path in rust_files(src) {
        let me = module_path(path.strip_prefix(src).unwrap());
        let code = code_of(&std::fs::read_to_string(&path).unwrap());
        for target in imported_paths(&code, &me) {
            if let Some((a, b)) = edge(&me, &target) {
                graph.entry(a).or_default().insert(b);
            }
        }
    }
}

/// Groups of two or more modules that reach each other, each sorted, in order.
fn cycles(graph: &Graph) -> BTreeSet<Vec<String>> {
    let nodes: BTreeSet<&String> = graph
        .keys()
        .chain(graph.values().flat_map(|s| s.iter()))
        .collect();
    let reach = |from: &String| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(n) = todo.pop() {
            for m in graph.get(&n).into_iter().flatten() {
                if seen.insert(m.clone()) {
                    todo.push(m.clone());
                }
            }
        }
        seen
    };
    let reached: BTreeMap<&String, BTreeSet<String>> =
        nodes.iter().map(|n| (*n, reach(n))).collect();
    let mut groups = BTreeSet::new();
    for n in &nodes {
        let group: Vec<String> = nodes
            .iter()
            .filter(|m| reached[*n].contains(**m) && reached[**m].contains(*n))
            .map(|m| (*m).clone())
            .collect();
        if group.len() > 1 {
            groups.insert(group);
        }
    }
    groups
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph = Graph::new();
    collect(&src, &mut graph);
    let top = graph.keys().filter(|k| !k.contains("::")).count();
    let nested = graph.len() - top;
    assert!(
        top > 10 && nested > 20,
        "read too few modules ({top} top-level, {nested} nested): {graph:?}"
    );
    let found = cycles(&graph);
    assert!(
        found.is_empty(),
        "modules that import each other in a circle: {found:?} (edges: {graph:?})"
    );
}

#[test]
fn imports_point_down_the_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph = Graph::new();
    collect(&src, &mut graph);
    let mut unplaced = BTreeSet::new();
    let mut upward = Vec::new();
    for (from, tos) in &graph {
        if from.contains("::") {
            continue;
        }
        for to in tos.iter().filter(|t| !t.contains("::")) {
            match (layer_of(from), layer_of(to)) {
                (Some(a), Some(b)) if b > a => upward.push(format!(
                    "{from} ({}) imports {to} ({})",
                    LAYERS[a].0, LAYERS[b].0
                )),
                (None, _) => drop(unplaced.insert(from.clone())),
                (_, None) => drop(unplaced.insert(to.clone())),
                _ => {}
            }
        }
    }
    assert!(
        unplaced.is_empty(),
        "top-level modules in no layer (add them to LAYERS): {unplaced:?}"
    );
    assert!(upward.is_empty(), "imports that point up: {upward:#?}");
}

/// The core types layer holds no `unsafe` code: no unsafe block or impl (an `unsafe fn`
/// declaring a contract, such as `GpuFrame::new`, is allowed: it calls nothing).
#[test]
fn core_types_have_no_unsafe_code() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let (_, core) = LAYERS[0];
    let mut found = Vec::new();
    let mut files = 0;
    for module in core {
        let mut paths = Vec::new();
        let file = src.join(format!("{module}.rs"));
        if file.exists() {
            paths.push(file);
        }
        let dir = src.join(module);
        if dir.is_dir() {
            paths.extend(rust_files(&dir));
        }
        for p in paths {
            files += 1;
            let code = code_of(&std::fs::read_to_string(&p).unwrap());
            for (n, line) in code.lines().enumerate() {
                if line.contains("unsafe {") || line.contains("unsafe impl") {
                    found.push(format!("{}:{}", p.display(), n + 1));
                }
            }
        }
    }
    assert!(files > 15, "read too few core files: {files}");
    assert!(
        found.is_empty(),
        "unsafe code in the core types layer: {found:?}"
    );
}

#[test]
fn the_detector_finds_cycles_of_any_length_and_reads_every_path_form() {
    let me: Vec<String> = vec!["output".into(), "raw".into()];
    let code = code_of(
        "use crate::{config::X, frame::Y};\nuse crate::time::Z; // crate::comment\nuse super::path::create;\nuse super::{error::E, format};\nuse super::super::gpu::ring::R;\nfn f() { self::inner::g(); }\n#[cfg(test)]\nmod tests { use crate::tests_only; }",
    );
    let mut edges: Vec<(String, String)> = imported_paths(&code, &me)
        .iter()
        .filter_map(|t| edge(&me, t))
        .collect();
    edges.sort();
    edges.dedup();
    let pairs: Vec<(&str, &str)> = edges
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("output", "config"),
            ("output", "frame"),
            ("output", "gpu"),
            ("output", "time"),
            ("output::raw", "output::error"),
            ("output::raw", "output::format"),
            ("output::raw", "output::path"),
        ]
    );
    assert_eq!(module_path(Path::new("gpu/mod.rs")), ["gpu"]);
    assert_eq!(module_path(Path::new("output/raw.rs")), ["output", "raw"]);
    let mut g = Graph::new();
    for (a, b) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("e", "d")] {
        g.entry(a.into()).or_default().insert(b.into());
    }
    let found: Vec<Vec<String>> = cycles(&g).into_iter().collect();
    assert_eq!(found, vec![vec!["a".to_string(), "b".into(), "c".into()]]);
}
