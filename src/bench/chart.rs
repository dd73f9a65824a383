//! The report's SVG charts (plotters, SVG backend): throughput and latency per path (bars, one
//! row per path and size), quality per bitrate (PSNR against kbit/s), and the GPU passes
//! against the copy of the same bytes.

use plotters::prelude::*;

use super::{BenchError, BenchReport, BenchResult};

const WIDTH: u32 = 960;
const ROW: u32 = 30;
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

/// One horizontal bar per row: `(label, value, optional whisker end, value text)`.
fn bars(
    name: &str,
    caption: &str,
    x_desc: &str,
    rows: &[(String, f64, Option<f64>, String)],
) -> Result<String, BenchError> {
    let e = chart_err(name);
    let mut svg = String::new();
    let n = rows.len().max(1);
    let height = 90 + ROW * u32::try_from(n).unwrap_or(100);
    let max = rows
        .iter()
        .map(|r| r.2.unwrap_or(r.1).max(r.1))
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    // Room on the right for the labels written after each bar.
    let x_max = if max > 0.0 { max * 1.6 } else { 1.0 };
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|x| e(x.to_string()))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, (FONT, 20))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(8)
            .build_cartesian_2d(0f64..x_max, 0f64..n as f64)
            .map_err(|x| e(x.to_string()))?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_desc(x_desc)
            .draw()
            .map_err(|x| e(x.to_string()))?;
        // The first row on top.
        let y = |i: usize| (n - 1 - i) as f64;
        chart
            .draw_series(rows.iter().enumerate().map(|(i, r)| {
                Rectangle::new(
                    [(0.0, y(i) + 0.15), (r.1.max(0.0), y(i) + 0.85)],
                    BLUE.mix(0.45).filled(),
                )
            }))
            .map_err(|x| e(x.to_string()))?;
        chart
            .draw_series(rows.iter().enumerate().filter_map(|(i, r)| {
                r.2.map(|w| {
                    PathElement::new(
                        vec![(r.1, y(i) + 0.5), (w, y(i) + 0.5)],
                        RED.stroke_width(2),
                    )
                })
            }))
            .map_err(|x| e(x.to_string()))?;
        chart
            .draw_series(rows.iter().enumerate().map(|(i, r)| {
                let end = r.2.unwrap_or(r.1).max(r.1);
                Text::new(
                    format!("{}  {}", r.0, r.3),
                    (end + x_max * 0.01, y(i) + 0.7),
                    (FONT, 13).into_font(),
                )
            }))
            .map_err(|x| e(x.to_string()))?;
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
        .map(|r| (row_label(r), r.fps, None, format!("{:.1} fps", r.fps)))
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
            Some((
                row_label(r),
                l.median_ms,
                Some(l.p99_ms),
                format!("median {:.2} ms, p99 {:.2} ms", l.median_ms, l.p99_ms),
            ))
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
    {
        let rows: Vec<_> = g
            .passes
            .iter()
            .map(|p| {
                (
                    format!("{} {}", p.name, p.input),
                    p.gpu_us,
                    p.copy_us,
                    match p.copy_us {
                        Some(c) => format!("{:.1} µs (copy {:.1} µs)", p.gpu_us, c),
                        None => format!("{:.1} µs", p.gpu_us),
                    },
                )
            })
            .collect();
        Ok(Some((
            "gpu_passes.svg".to_string(),
            bars(
                "gpu_passes.svg",
                "GPU passes (bar: the pass; red: to the copy of the same bytes)",
                "microseconds",
                &rows,
            )?,
        )))
    }
}
