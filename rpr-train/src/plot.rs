//! PNG plots of training curves, rendered with plotters' bitmap backend.
//!
//! Text needs a TrueType font. The first readable file among `RPR_PLOT_FONT`
//! and a few common system locations is registered once; without one the
//! plots are drawn without captions, tick labels or legends.

use std::path::Path;
use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use crate::error::{Result, TrainError};
use crate::metrics::EpochMetrics;

const FONT_FAMILY: &str = "sans-serif";

/// Font files tried in order after `RPR_PLOT_FONT`.
const FONT_CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/Library/Fonts/Arial.ttf",
];

/// Registers a font once and reports whether text can be drawn.
fn font_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        let from_env = std::env::var("RPR_PLOT_FONT").ok();
        let candidates = from_env.iter().map(String::as_str).chain(FONT_CANDIDATES.iter().copied());
        for path in candidates {
            let Ok(bytes) = std::fs::read(path) else { continue };
            // plotters keeps a reference for the life of the process.
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            if register_font(FONT_FAMILY, FontStyle::Normal, bytes).is_ok() {
                tracing::debug!(font = path, "registered plot font");
                return true;
            }
        }
        tracing::warn!("no TrueType font found (set RPR_PLOT_FONT); plots will have no text");
        false
    })
}

/// One curve: label and `(x, y)` points.
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

/// One panel of a figure.
pub struct Panel {
    pub title: String,
    pub y_label: String,
    pub y_range: std::ops::Range<f64>,
    pub series: Vec<Series>,
}

/// Training curves of one run: accuracy on top, FF (or loss for float
/// training) below. `reference` draws a horizontal line, the float accuracy.
pub fn plot_run(path: &Path, title: &str, rows: &[EpochMetrics], reference: Option<f64>) -> Result<()> {
    let epochs = |f: &dyn Fn(&EpochMetrics) -> f64| -> Vec<(f64, f64)> {
        rows.iter().map(|r| (r.epoch as f64 + 1.0, f(r))).collect()
    };
    let mut accuracy = vec![
        Series { label: "train".into(), points: epochs(&|r| r.train_acc) },
        Series { label: "test".into(), points: epochs(&|r| r.test_acc) },
    ];
    if let Some(fp) = reference {
        let last = rows.len().max(1) as f64;
        accuracy.push(Series { label: "float test".into(), points: vec![(1.0, fp), (last, fp)] });
    }
    let lowest = accuracy.iter().flat_map(|s| s.points.iter().map(|p| p.1)).fold(1.0, f64::min);
    let top = Panel {
        title: title.to_string(),
        y_label: "accuracy".into(),
        y_range: (lowest - 0.02).max(0.0)..1.0,
        series: accuracy,
    };
    let bottom = if rows.iter().any(|r| r.ff.is_some()) {
        Panel {
            title: "freezing fraction".into(),
            y_label: "FF".into(),
            y_range: 0.0..1.05,
            series: vec![Series { label: "FF".into(), points: epochs(&|r| r.ff.unwrap_or(0.0)) }],
        }
    } else {
        let highest = rows.iter().map(|r| r.loss).fold(0.0, f64::max);
        Panel {
            title: "training loss".into(),
            y_label: "cross-entropy".into(),
            y_range: 0.0..(highest * 1.05).max(1e-3),
            series: vec![Series { label: "loss".into(), points: epochs(&|r| r.loss) }],
        }
    };
    plot_panels(path, &[top, bottom], rows.len().max(1) as f64)
}

/// Draws panels stacked vertically, sharing an epoch axis `1..=max_x`.
pub fn plot_panels(path: &Path, panels: &[Panel], max_x: f64) -> Result<()> {
    let err = |e: &dyn std::fmt::Display| TrainError::Plot { path: path.to_path_buf(), reason: e.to_string() };
    let text = font_available();
    let height = 360 * panels.len().max(1) as u32;
    let root = BitMapBackend::new(path, (900, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let areas = root.split_evenly((panels.len().max(1), 1));
    for (panel, area) in panels.iter().zip(areas) {
        let mut builder = ChartBuilder::on(&area);
        builder.margin(12);
        if text {
            builder.caption(&panel.title, (FONT_FAMILY, 20)).x_label_area_size(36).y_label_area_size(56);
        }
        let x_range = if max_x > 1.0 { 1.0..max_x } else { 0.5..1.5 };
        let mut chart = builder.build_cartesian_2d(x_range, panel.y_range.clone()).map_err(|e| err(&e))?;
        let mut mesh = chart.configure_mesh();
        if text {
            mesh.x_desc("epoch").y_desc(&panel.y_label).label_style((FONT_FAMILY, 14));
        } else {
            mesh.x_labels(0).y_labels(0);
        }
        mesh.draw().map_err(|e| err(&e))?;
        for (i, series) in panel.series.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let style = ShapeStyle::from(&color).stroke_width(2);
            let drawn = chart
                .draw_series(LineSeries::new(series.points.iter().copied(), style))
                .map_err(|e| err(&e))?;
            if text {
                drawn.label(series.label.clone()).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], ShapeStyle::from(&color).stroke_width(2))
                });
            }
            chart
                .draw_series(series.points.iter().map(|&p| Circle::new(p, 3, color.filled())))
                .map_err(|e| err(&e))?;
        }
        if text {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .label_font((FONT_FAMILY, 14))
                .position(SeriesLabelPosition::LowerRight)
                .draw()
                .map_err(|e| err(&e))?;
        }
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
