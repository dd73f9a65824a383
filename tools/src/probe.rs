//! `ghoststream probe`.

use clap::Args;

pub const EXAMPLES: &str = "Examples:
  ghoststream probe            one line per path: available or not, and why
  ghoststream probe --json     the same as JSON, for scripts";

#[derive(Args, Debug)]
pub struct ProbeArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: ProbeArgs) -> Result<(), String> {
    let entries = ghoststream::probe::probe();
    if args.json {
        let list: Vec<serde_json::Value> = entries
            .iter()
            .map(|e| {
                serde_json::json!({
                    "category": e.category,
                    "name": e.name,
                    "codec": e.codec.map(|c| c.name()),
                    "available": e.available,
                    "detail": e.detail,
                })
            })
            .collect();
        let text = serde_json::to_string_pretty(&list).map_err(|e| e.to_string())?;
        println!("{text}");
        return Ok(());
    }
    println!(
        "{:<8} {:<9} {:<6} {:<10} detail",
        "category", "path", "codec", "status"
    );
    for e in &entries {
        println!(
            "{:<8} {:<9} {:<6} {:<10} {}",
            e.category,
            e.name,
            e.codec.map_or("-", |c| c.name()),
            if e.available { "available" } else { "no" },
            e.detail
        );
    }
    Ok(())
}
