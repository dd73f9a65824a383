//! Parsers of option values that several subcommands share.

/// `--gpu WHERE`: auto, off, require or require:NAME (a device whose name contains NAME).
pub fn parse_gpu(s: &str) -> Result<ghoststream::GpuChoice, String> {
    use ghoststream::gpu::{DeviceSelector, GpuOptions};
    use ghoststream::GpuChoice;
    match s.split_once(':') {
        None if s == "auto" => Ok(GpuChoice::Auto),
        None if s == "off" => Ok(GpuChoice::Off),
        None if s == "require" => Ok(GpuChoice::Require(GpuOptions::default())),
        Some(("require", name)) if !name.is_empty() => Ok(GpuChoice::Require(GpuOptions {
            device: DeviceSelector::Name(name.into()),
            validation: false,
        })),
        _ => Err(format!(
            "invalid GPU choice '{s}' (expected auto, off, require or require:NAME)"
        )),
    }
}
