//! The library's top-level modules must not import each other in a circle (issue 19). This test
//! reads `src/` as text, takes every `crate::MODULE` path outside comments and test modules as
//! an edge from the file's top-level module to MODULE, and finds the groups of modules that
//! reach each other. The cycles that exist today are listed in `KNOWN` as debt that may only
//! shrink: a new cycle fails the test, and so does a listed one that is gone (remove it from the
//! list, so that it cannot come back unnoticed).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Cycles present when this test was written (2026-12-04), each to be untied by issue 19.
const KNOWN: &[&[&str]] = &[&["frame", "gpu"]];

type Graph = BTreeMap<String, BTreeSet<String>>;

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

/// The first path segments after each `crate::` (and inside `crate::{...}` groups).
fn imported_modules(code: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut found = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            for part in inner.split(',') {
                let name = ident(part.trim());
                if !name.is_empty() {
                    found.insert(name);
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

fn collect(dir: &Path, src: &Path, graph: &mut Graph) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, src, graph);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let rel = path.strip_prefix(src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let top = first.trim_end_matches(".rs").to_string();
        if top == "lib" {
            continue;
        }
        let code = code_of(&std::fs::read_to_string(&path).unwrap());
        let edges = graph.entry(top.clone()).or_default();
        for m in imported_modules(&code) {
            if m != top {
                edges.insert(m);
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
fn no_module_cycle_beyond_the_known_ones() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph = Graph::new();
    collect(&src, &src, &mut graph);
    assert!(graph.len() > 10, "read too few modules: {graph:?}");
    let found = cycles(&graph);
    let known: BTreeSet<Vec<String>> = KNOWN
        .iter()
        .map(|c| c.iter().map(|s| s.to_string()).collect())
        .collect();
    let new: Vec<_> = found.difference(&known).collect();
    let gone: Vec<_> = known.difference(&found).collect();
    assert!(
        new.is_empty(),
        "modules that import each other in a circle: {new:?} (edges: {graph:?})"
    );
    assert!(
        gone.is_empty(),
        "cycles listed in KNOWN are gone: {gone:?}; remove them from the list"
    );
}

#[test]
fn the_detector_finds_cycles_of_any_length_and_reads_grouped_imports() {
    let code = code_of(
        "use crate::{config::X, frame::Y};\nuse crate::time::Z; // crate::comment\n#[cfg(test)]\nmod tests { use crate::tests_only; }",
    );
    let got: Vec<String> = imported_modules(&code).into_iter().collect();
    assert_eq!(got, ["config", "frame", "time"]);
    let mut g = Graph::new();
    for (a, b) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("e", "d")] {
        g.entry(a.into()).or_default().insert(b.into());
    }
    let found: Vec<Vec<String>> = cycles(&g).into_iter().collect();
    assert_eq!(found, vec![vec!["a".to_string(), "b".into(), "c".into()]]);
}
