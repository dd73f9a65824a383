//! What the C-header layout tests (tests/vulkan_av1_layout.rs, tests/vulkan_intra_refresh_layout.rs,
//! tests/nvenc_layout.rs) share: each lists checks (a C expression and the Rust value it must
//! print); [`c_values`] compiles a C program against the headers printing each expression, and
//! [`mismatches`] compares its output with Rust's. The Vulkan tests also list the fields of each
//! checked struct, and [`assert_fields_covered`] makes sure every field the header lists is
//! checked; [`include_dir`] finds the privately unpacked Vulkan headers, or skips (or fails)
//! saying why.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::mem::size_of;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One checked quantity: the C expression, how C prints it, and the Rust value as text.
#[derive(Clone)]
pub struct Check {
    pub c: String,
    pub string: bool,
    pub rust: String,
}

/// The structs whose every field is listed: C name → C field names checked.
pub type Covered = BTreeMap<&'static str, BTreeSet<String>>;

/// The size of a field's type, from an accessor (no value of the struct needed).
pub fn field_size<T, F>(_: fn(&T) -> &F) -> usize {
    size_of::<F>()
}

/// A Vulkan struct field's C name from ash's snake-case one (`max_q_index` → `maxQIndex`,
/// `video_encode_av1` → `videoEncodeAV1`).
pub fn camel(snake: &str) -> String {
    let mut out = String::new();
    for (i, part) in snake.split('_').enumerate() {
        if i == 0 {
            out.push_str(part);
        } else if part == "av1" {
            out.push_str("AV1");
        } else {
            let mut chars = part.chars();
            if let Some(first) = chars.next() {
                out.extend(first.to_uppercase());
                out.push_str(chars.as_str());
            }
        }
    }
    out
}

/// An integer check.
pub fn int(list: &mut Vec<Check>, c: String, rust: impl ToString) {
    list.push(Check {
        c,
        string: false,
        rust: rust.to_string(),
    });
}

/// Size, alignment, and each listed field's offset and size. `$name` maps a Rust field name
/// to the C one.
macro_rules! fields {
    ($list:ident, $covered:ident, $name:expr, $ty:ty, $cty:literal, [$($field:ident),+ $(,)?]) => {{
        $crate::vk_layout::int(
            &mut $list,
            format!("sizeof({})", $cty),
            std::mem::size_of::<$ty>(),
        );
        $crate::vk_layout::int(
            &mut $list,
            format!("_Alignof({})", $cty),
            std::mem::align_of::<$ty>(),
        );
        let set = $covered.entry($cty).or_default();
        $(
            let c_field: String = $name(stringify!($field));
            $crate::vk_layout::int(
                &mut $list,
                format!("offsetof({}, {c_field})", $cty),
                std::mem::offset_of!($ty, $field),
            );
            $crate::vk_layout::int(
                &mut $list,
                format!("sizeof((({} *)0)->{c_field})", $cty),
                $crate::vk_layout::field_size(|s: &$ty| &s.$field),
            );
            assert!(set.insert(c_field), "{} listed twice", stringify!($field));
        )+
    }};
}

/// A Vulkan structure (snake-case Rust fields).
macro_rules! vk_struct {
    ($list:ident, $covered:ident, $ty:ty, $cty:literal, [$($field:ident),+ $(,)?]) => {
        fields!($list, $covered, $crate::vk_layout::camel, $ty, $cty, [$($field),+])
    };
}

/// Named C constants (enumerators and macros) against Rust integers.
macro_rules! values {
    ($list:ident, [$($c:ident = $rust:expr),+ $(,)?]) => {
        $( $crate::vk_layout::int(&mut $list, stringify!($c).to_string(), $rust); )+
    };
}

/// The include directory the headers were unpacked into (`$env`, or `~/.cache/ghoststream/
/// <default>`, holding `ready` and `root/usr/include`), if `needed` (relative to it) is there
/// and, when given, contains `marker`. Without it: `None` after printing why the test skips,
/// or a panic when `GHOSTSTREAM_REQUIRE_VK_HEADERS=1`.
pub fn include_dir(
    env: &str,
    default: &str,
    needed: &str,
    marker: Option<&str>,
    fetch: &str,
) -> Option<PathBuf> {
    let found = (|| {
        let dir = match std::env::var_os(env) {
            Some(d) => PathBuf::from(d),
            None => {
                let home = std::env::var_os("HOME").ok_or("HOME is not set")?;
                PathBuf::from(home).join(".cache/ghoststream").join(default)
            }
        };
        let include = dir.join("root/usr/include");
        let file = include.join(needed);
        let has_marker = |f: &Path| {
            marker.is_none_or(|m| std::fs::read_to_string(f).is_ok_and(|t| t.contains(m)))
        };
        if !dir.join("ready").is_file() || !file.is_file() || !has_marker(&file) {
            return Err(format!(
                "no Vulkan headers with {} at {} (run {fetch})",
                marker.unwrap_or(needed),
                include.display()
            ));
        }
        Ok(include)
    })();
    match found {
        Ok(dir) => Some(dir),
        Err(why)
            if std::env::var_os("GHOSTSTREAM_REQUIRE_VK_HEADERS").is_some_and(|v| v == "1") =>
        {
            panic!("GHOSTSTREAM_REQUIRE_VK_HEADERS=1 but {why}")
        }
        Err(why) => {
            eprintln!(
                "SKIPPED: {why}; set GHOSTSTREAM_REQUIRE_VK_HEADERS=1 to make this a failure"
            );
            None
        }
    }
}

/// Each `typedef struct NAME { … } NAME;` of a header: NAME → its member names in order
/// (bitfield members included, `reserved` bitfields left out).
pub fn header_structs(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    let mut current: Option<(String, Vec<String>)> = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("typedef struct ") {
            if let Some(name) = rest.strip_suffix(" {") {
                current = Some((name.trim().to_string(), Vec::new()));
            }
            continue;
        }
        let Some((name, members)) = current.as_mut() else {
            continue;
        };
        if line.starts_with('}') {
            out.insert(std::mem::take(name), std::mem::take(members));
            current = None;
            continue;
        }
        let Some(decl) = line.strip_suffix(';') else {
            continue;
        };
        let bitfield = decl.contains(':');
        let decl = decl.split([':', '[']).next().unwrap().trim();
        let member = decl.rsplit([' ', '*']).next().unwrap().to_string();
        if !(bitfield && member == "reserved") {
            members.push(member);
        }
    }
    out
}

/// The checks whose Rust value differs from the C one, described.
pub fn mismatches(checks: &[Check], values: &[String]) -> Vec<String> {
    checks
        .iter()
        .zip(values)
        .filter(|(check, c)| check.rust != **c)
        .map(|(check, c)| format!("{}: header {c}, Rust {}", check.c, check.rust))
        .collect()
}

/// Every field of every struct in `covered` is listed, as `headers` (relative to `include`)
/// list them, in any order (offsets catch the order).
pub fn assert_fields_covered(include: &Path, headers: &[&str], covered: &Covered) {
    let mut text = String::new();
    for h in headers {
        text += &std::fs::read_to_string(include.join(h)).unwrap();
    }
    let structs = header_structs(&text);
    let mut coverage = Vec::new();
    for (name, listed) in covered {
        let Some(members) = structs.get(*name) else {
            coverage.push(format!("{name}: not a struct of the headers"));
            continue;
        };
        let members: BTreeSet<String> = members.iter().cloned().collect();
        for missing in members.difference(listed) {
            coverage.push(format!("{name}.{missing}: in the header, not checked"));
        }
        for extra in listed.difference(&members) {
            coverage.push(format!("{name}.{extra}: checked, not in the header"));
        }
    }
    assert!(
        coverage.is_empty(),
        "field lists differ:\n{}",
        coverage.join("\n")
    );
}

/// What C prints for each check: a program including `vulkan/vulkan_core.h` from `include`,
/// one line per check, in order.
pub fn c_values(include: &Path, checks: &[Check]) -> Vec<String> {
    c_values_of(include, "vulkan/vulkan_core.h", checks)
}

/// What C prints for each check: a program including `header` from `include`, one line per
/// check, in order.
pub fn c_values_of(include: &Path, header: &str, checks: &[Check]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let mut c = format!(
        "#include <stddef.h>\n#include <stdint.h>\n#include <stdio.h>\n#include <string.h>\n\
         #include <{header}>\nint main(void) {{\n",
    );
    for check in checks {
        if check.string {
            writeln!(c, "  printf(\"%s\\n\", {});", check.c).unwrap();
        } else {
            writeln!(c, "  printf(\"%lld\\n\", (long long)({}));", check.c).unwrap();
        }
    }
    c.push_str("  return 0;\n}\n");
    let src = dir.path().join("layout.c");
    std::fs::write(&src, c).unwrap();
    let exe = dir.path().join("layout");
    let out = Command::new("cc")
        .arg("-std=gnu11")
        .arg("-I")
        .arg(include)
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("a C compiler (cc) runs");
    assert!(
        out.status.success(),
        "compiling against {} failed: {}",
        include.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(&exe).output().unwrap();
    assert!(out.status.success());
    let values: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(values.len(), checks.len());
    values
}

/// The comparison itself can fail: the integer check `probe` moved by 4 in Rust is reported,
/// alone.
pub fn assert_probe_caught(checks: &[Check], values: &[String], probe: &str) {
    let probe = checks.iter().position(|c| c.c == probe).unwrap();
    let mut moved = checks.to_vec();
    moved[probe].rust = (moved[probe].rust.parse::<u64>().unwrap() + 4).to_string();
    let caught = mismatches(&moved, values);
    assert_eq!(
        caught.len(),
        1 + mismatches(checks, values).len(),
        "{caught:?}"
    );
}

/// No check differs; says how many were compared.
pub fn assert_all_match(checks: &[Check], values: &[String], include: &Path, covered: &Covered) {
    let wrong = mismatches(checks, values);
    let fields: usize = covered.values().map(BTreeSet::len).sum();
    eprintln!(
        "{} values compared with {} ({} structs, {fields} fields or bits, each listed as the \
         header lists it)",
        checks.len(),
        include.display(),
        covered.len(),
    );
    assert!(wrong.is_empty(), "layout differs:\n{}", wrong.join("\n"));
}
