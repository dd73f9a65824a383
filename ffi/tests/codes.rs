//! The C ABI's error codes are the library's `ErrorCode`s: for every code in
//! `ghoststream::ErrorCode::ALL`, the header defines `GS_ERR_<c_name>` to its number, and every
//! `GS_ERR_` the header defines in the library's range (-1 to -19) is one of them. (The header is
//! generated from `ffi/src` and checked current by the `c_abi` test; codes -20 and below belong
//! to the C ABI alone: NULL pointers, struct sizes, handles, enum values.)

use std::collections::BTreeMap;

/// `GS_ERR_*` definitions in the header: name → value.
fn header_codes() -> BTreeMap<String, i32> {
    let header = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("include/ghoststream.h"),
    )
    .unwrap();
    header
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            match (words.next(), words.next(), words.next()) {
                (Some("#define"), Some(name), Some(value)) if name.starts_with("GS_ERR_") => {
                    Some((name.to_string(), value.parse().unwrap()))
                }
                _ => None,
            }
        })
        .collect()
}

#[test]
fn the_headers_error_codes_are_the_librarys() {
    let header = header_codes();
    assert!(header.len() >= 10, "read too few codes: {header:?}");
    for code in ghoststream::ErrorCode::ALL {
        let name = format!("GS_ERR_{}", code.c_name());
        assert_eq!(
            header.get(&name),
            Some(&(code as i32)),
            "{code:?} is {} in the library; the header has {name} = {:?}",
            code as i32,
            header.get(&name)
        );
    }
    // The library's codes stay above the C ABI's own (-20 and below: NULL, sizes, handles, enums).
    for code in ghoststream::ErrorCode::ALL {
        assert!(
            (-19..0).contains(&(code as i32)),
            "{code:?} = {} is outside the library's range -19..-1",
            code as i32
        );
    }
    let library: Vec<i32> = ghoststream::ErrorCode::ALL
        .iter()
        .map(|c| *c as i32)
        .collect();
    for (name, value) in &header {
        if (-19..0).contains(value) {
            assert!(
                library.contains(value),
                "{name} = {value} is in the library's range but no ErrorCode has that number"
            );
        }
    }
}
