//! The shared library's soname carries the ABI's major version (libghoststream.so.0), so an
//! incompatible release installs beside an older one instead of replacing it.
fn main() {
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libghoststream.so.{major}");
}
