//! PNG bar chart of a comparison: per network, each row's batch-1 and
//! batch-64 time relative to rpr-infer int8, on a log axis.

use std::path::Path;
use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{register_font, FontStyle};
use thiserror::Error;

use crate::report::{NetworkReport, Report};

/// Errors while drawing the chart.
#[derive(Debug, Error)]
pub enum PlotError {
    #[error("no TrueType font found (tried $RPR_PLOT_FONT and {tried}); set RPR_PLOT_FONT to a .ttf file")]
    NoFont { tried: String },
    #[error("failed to draw {path}: {message}")]
    Draw { path: String, message: String },
    #[error("nothing to plot: no network has a row with a ratio")]
    Empty,
}

const FONT_FAMILY: &str = "sans-serif";

/// Font files tried after `RPR_PLOT_FONT`, in order.
const FONT_CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
];

/// Registers the first readable font once; plotters' ab_glyph backend draws
/// no text without one.
fn ensure_font() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        let from_env = std::env::var("RPR_PLOT_FONT").ok();
        let candidates = from_env.iter().map(String::as_str).chain(FONT_CANDIDATES.iter().copied());
        for path in candidates {
            let Ok(bytes) = std::fs::read(path) else { continue };
            // plotters keeps a 'static reference; the font lives for the whole process anyway.
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            if register_font(FONT_FAMILY, FontStyle::Normal, bytes).is_ok() {
                tracing::debug!(font = path, "registered plot font");
                return true;
            }
        }
        false
    });
    if ok {
        Ok(())
    } else {
        Err(PlotError::NoFont { tried: FONT_CANDIDATES.join(", ") })
    }
}

/// One bar pair: row label, batch-1 ratio, batch-64 ratio.
type Bars = (String, Option<f64>, Option<f64>);

fn bars(network: &NetworkReport) -> Vec<Bars> {
    network
        .rows
        .iter()
        .map(|row| {
            let label = format!("{} {} {}t", row.engine, row.variant, row.threads);
            (label, network.latency_ratio(row), network.throughput_ratio(row))
        })
        .collect()
}

/// Draws the chart of `report` to `path` (PNG, 1200 pixels wide).
pub fn write_chart(report: &Report, path: &Path) -> Result<(), PlotError> {
    ensure_font()?;
    let panels: Vec<(&NetworkReport, Vec<Bars>)> = report
        .networks
        .iter()
        .map(|network| (network, bars(network)))
        .filter(|(_, bars)| bars.iter().any(|(_, a, b)| a.is_some() || b.is_some()))
        .collect();
    if panels.is_empty() {
        return Err(PlotError::Empty);
    }

    let draw_error = |message: String| PlotError::Draw { path: path.display().to_string(), message };
    let row_pixels = 34;
    let heights: Vec<u32> = panels.iter().map(|(_, bars)| 110 + row_pixels * bars.len() as u32).collect();
    let total_height: u32 = heights.iter().sum();
    let root = BitMapBackend::new(path, (1200, total_height)).into_drawing_area();
    root.fill(&WHITE).map_err(|error| draw_error(error.to_string()))?;

    let mut rest = root.clone();
    for ((network, bars), height) in panels.iter().zip(&heights) {
        let (panel, below) = rest.split_vertically(*height);
        draw_panel(&panel, network, bars).map_err(draw_error)?;
        rest = below;
    }
    root.present().map_err(|error| draw_error(error.to_string()))?;
    Ok(())
}

fn draw_panel(area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>, network: &NetworkReport, bars: &[Bars]) -> Result<(), String> {
    let values = bars.iter().flat_map(|(_, a, b)| [*a, *b]).flatten();
    let (low, high) = values.fold((1.0f64, 1.0f64), |(low, high), v| (low.min(v), high.max(v)));
    let x_range = (low / 1.5).max(1e-3)..(high * 1.5);
    let rows = bars.len() as f64;

    let [c, h, w] = network.spec.input;
    let title = format!("{} ({c}x{h}x{w}): time relative to rpr-infer int8, same threads (above 1: rpr-infer int8 faster)", network.spec.key);
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT_FAMILY, 18))
        .margin(10)
        .x_label_area_size(40)
        // Wide enough for the longest row label, "ONNX Runtime int8 (quantize_static) 2t", at 14 px.
        .y_label_area_size(300)
        .build_cartesian_2d(x_range.clone().log_scale(), 0f64..rows)
        .map_err(|error| error.to_string())?;

    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_desc("ratio (log scale)")
        .label_style((FONT_FAMILY, 14))
        .draw()
        .map_err(|error| error.to_string())?;

    let batch1_color = RGBColor(66, 114, 196);
    let batch64_color = RGBColor(237, 125, 49);
    let left = x_range.start;
    let label_style = TextStyle::from((FONT_FAMILY, 14).into_font()).pos(Pos::new(HPos::Right, VPos::Center));
    for (index, (label, batch1, batch64)) in bars.iter().enumerate() {
        // Row 0 at the top. The label sits left of the axis, offset in pixels from the row center.
        let top = rows - index as f64;
        let anchor = EmptyElement::at((left, top - 0.5)) + Text::new(label.clone(), (-8, 0), label_style.clone());
        chart.draw_series(std::iter::once(anchor)).map_err(|error| error.to_string())?;
        if let Some(value) = batch1 {
            let rect = Rectangle::new([(left, top - 0.1), (*value, top - 0.48)], batch1_color.filled());
            chart.draw_series(std::iter::once(rect)).map_err(|error| error.to_string())?;
        }
        if let Some(value) = batch64 {
            let rect = Rectangle::new([(left, top - 0.52), (*value, top - 0.9)], batch64_color.filled());
            chart.draw_series(std::iter::once(rect)).map_err(|error| error.to_string())?;
        }
    }
    chart
        .draw_series(std::iter::once(PathElement::new(vec![(1.0, 0.0), (1.0, rows)], BLACK.stroke_width(2))))
        .map_err(|error| error.to_string())?;

    // Legend entries drawn as series so plotters places the box.
    chart
        .draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())
        .map_err(|error| error.to_string())?
        .label("batch 1 median latency")
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], batch1_color.filled()));
    chart
        .draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())
        .map_err(|error| error.to_string())?
        .label("batch 64 median time")
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], batch64_color.filled()));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FONT_FAMILY, 14))
        .draw()
        .map_err(|error| error.to_string())?;
    Ok(())
}
