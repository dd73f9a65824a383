//! The report's SVG charts (plotters, SVG backend): throughput and latency per path (bars, one
//! row per path and size), quality per bitrate (PSNR against kbit/s), and the GPU passes beside
//! a device copy of the same bytes.

use plotters::prelude::*;

use super::{BenchError, BenchReport, BenchResult};

const WIDTH: u32 = 960;
const ROW: u32 = 44;
const FONT: &str = "sans-serif";

fn chart_err(name: &str) -> impl Fn(String) -> BenchError + '_ {
    move |reason| BenchError::Chart {
        name: name.into(),
        reason,
    }
}

fn row_label(r: &BenchResult) -> String {
    let mut label = r.label.clone();
    if label.chars().count() > 60 {
        label = label.chars().take(57).collect::<String>() + "...";
    }
    format!("{label} {}x{}", r.width, r.height)
}

/// One bar chart row.
struct Bar {
    /// Written above the bar.
    label: String,
    /// The bar's length.
    value: f64,
    /// A red line from the bar's end to here (latency: the p99).
    whisker: Option<f64>,
    /// A thin grey bar under the main one (GPU passes: the copy of the same bytes).
    reference: Option<f64>,
    /// Written after the bar.
    text: String,
}

/// Horizontal bars, one row per [`Bar`], the first on top, each with its label above it.
fn bars(name: &str, caption: &str, x_desc: &str, rows: &[Bar]) -> Result<String, BenchError> {
    let e = chart_err(name);
    let mut svg = String::new();
    let n = rows.len().max(1);
    let height = 100 + ROW * u32::try_from(n).unwrap_or(100);
    let max = rows
        .iter()
        .flat_map(|r| [Some(r.value), r.whisker, r.reference])
        .flatten()
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    // Room on the right for the figures written after each bar.
    let x_max = if max > 0.0 { max * 1.35 } else { 1.0 };
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|x| e(x.to_string()))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, (FONT, 20))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(8)
            .build_cartesian_2d(0f64..x_max, 0f64..n as f64)
            .map_err(|x| e(x.to_string()))?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_desc(x_desc)
            .x_label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()
            .map_err(|x| e(x.to_string()))?;
        // Row i spans [y(i), y(i) + 1): its label in the top half, its bars in the bottom half.
        let y = |i: usize| (n - 1 - i) as f64;
        let mut shapes: Vec<Rectangle<(f64, f64)>> = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            let top = if r.reference.is_some() { 0.52 } else { 0.48 };
            shapes.push(Rectangle::new(
                [(0.0, y(i) + 0.12), (r.value.max(0.0), y(i) + top)],
                BLUE.mix(0.5).filled(),
            ));
            if let Some(c) = r.reference {
                shapes.push(Rectangle::new(
                    [(0.0, y(i) + 0.04), (c.max(0.0), y(i) + 0.12)],
                    BLACK.mix(0.45).filled(),
                ));
            }
        }
        chart.draw_series(shapes).map_err(|x| e(x.to_string()))?;
        chart
            .draw_series(rows.iter().enumerate().filter_map(|(i, r)| {
                r.whisker.map(|w| {
                    PathElement::new(
                        vec![(r.value, y(i) + 0.3), (w, y(i) + 0.3)],
                        RED.stroke_width(2),
                    )
                })
            }))
            .map_err(|x| e(x.to_string()))?;
        let mut texts: Vec<Text<'_, (f64, f64), String>> = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            texts.push(Text::new(
                r.label.clone(),
                (x_max * 0.005, y(i) + 0.92),
                (FONT, 13).into_font(),
            ));
            let end = [Some(r.value), r.whisker, r.reference]
                .into_iter()
                .flatten()
                .fold(0.0f64, f64::max);
            texts.push(Text::new(
                r.text.clone(),
                (end + x_max * 0.01, y(i) + 0.45),
                (FONT, 12).into_font(),
            ));
        }
        chart.draw_series(texts).map_err(|x| e(x.to_string()))?;
        root.present().map_err(|x| e(x.to_string()))?;
    }
    Ok(svg)
}

/// PSNR against bitrate, one labelled point per row with a quality figure.
fn quality(report: &BenchReport) -> Result<String, BenchError> {
    let name = "quality.svg";
    let e = chart_err(name);
    let points: Vec<(String, f64, f64)> = report
        .results
        .iter()
        .filter_map(|r| {
            let q = r.quality?;
            (q.psnr_db.is_finite() && r.bitrate_kbps.is_finite())
                .then(|| (row_label(r), r.bitrate_kbps, q.psnr_db))
        })
        .collect();
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, 0.0f64, f64::MAX, 0.0f64);
    for p in &points {
        x0 = x0.min(p.1);
        x1 = x1.max(p.1);
        y0 = y0.min(p.2);
        y1 = y1.max(p.2);
    }
    if points.is_empty() {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    let xr = ((x1 - x0) * 0.15).max(x1 * 0.1).max(1.0);
    let yr = ((y1 - y0) * 0.15).max(1.0);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 560)).into_drawing_area();
        root.fill(&WHITE).map_err(|x| e(x.to_string()))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Quality per bitrate (luma PSNR against the source)",
                (FONT, 20),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d((x0 - xr).max(0.0)..x1 + 2.0 * xr, y0 - yr..y1 + yr)
            .map_err(|x| e(x.to_string()))?;
        chart
            .configure_mesh()
            .x_desc("bitrate, kbit/s")
            .y_desc("PSNR, dB")
            .draw()
            .map_err(|x| e(x.to_string()))?;
        chart
            .draw_series(
                points
                    .iter()
                    .map(|p| Circle::new((p.1, p.2), 5, RED.filled())),
            )
            .map_err(|x| e(x.to_string()))?;
        chart
            .draw_series(
                points
                    .iter()
                    .map(|p| Text::new(p.0.clone(), (p.1, p.2), (FONT, 12).into_font())),
            )
            .map_err(|x| e(x.to_string()))?;
        root.present().map_err(|x| e(x.to_string()))?;
    }
    Ok(svg)
}

/// Every chart of the report, as (file name, SVG text).
pub(super) fn all(report: &BenchReport) -> Result<Vec<(String, String)>, BenchError> {
    let mut out = Vec::new();
    if report.results.is_empty() {
        // GPU passes only.
        return gpu_chart(report).map(|c| c.into_iter().collect());
    }
    let fps: Vec<_> = report
        .results
        .iter()
        .map(|r| Bar {
            label: row_label(r),
            value: r.fps,
            whisker: None,
            reference: None,
            text: format!("{:.1} fps", r.fps),
        })
        .collect();
    out.push((
        "fps.svg".to_string(),
        bars(
            "fps.svg",
            "Throughput (frames per second, all frames queued)",
            "frames per second",
            &fps,
        )?,
    ));
    let latency: Vec<_> = report
        .results
        .iter()
        .filter_map(|r| {
            let l = r.latency?;
            let paced = if l.serial {
                ""
            } else {
                " (paced: the encoder holds frames back)"
            };
            Some(Bar {
                label: format!("{}{paced}", row_label(r)),
                value: l.median_ms,
                whisker: Some(l.p99_ms),
                reference: None,
                text: format!("median {:.2} ms, p99 {:.2} ms", l.median_ms, l.p99_ms),
            })
        })
        .collect();
    out.push((
        "latency.svg".to_string(),
        bars(
            "latency.svg",
            "Latency, submit to packet (bar: median; red: up to p99)",
            "milliseconds",
            &latency,
        )?,
    ));
    out.push(("quality.svg".to_string(), quality(report)?));
    out.extend(gpu_chart(report)?);
    Ok(out)
}

/// The GPU pass chart, when the report has GPU passes.
fn gpu_chart(report: &BenchReport) -> Result<Option<(String, String)>, BenchError> {
    let Some(g) = &report.gpu_passes else {
        return Ok(None);
    };
    let rows: Vec<_> = g
        .passes
        .iter()
        .map(|p| Bar {
            label: format!("{}: {} -> {}", p.name, p.input, p.output),
            value: p.gpu_us,
            whisker: None,
            // The shader copy is the device's practical floor (vkCmdCopyBuffer may run on a
            // slower copy engine).
            reference: p.shader_copy_us.or(p.copy_us),
            text: match p.shader_copy_us.or(p.copy_us) {
                Some(c) => format!("{:.1} µs (copy {:.1} µs)", p.gpu_us, c),
                None => format!("{:.1} µs", p.gpu_us),
            },
        })
        .collect();
    let name = "gpu_passes.svg";
    let svg = bars(
        name,
        "GPU passes (blue: the pass; grey: a shader copy of the same bytes, the floor)",
        "microseconds",
        &rows,
    )?;
    Ok(Some((name.to_string(), svg)))
}
