//! Several methods from the same starting checkpoint, summarized in one
//! Markdown table, one JSON file and one plot.

use std::path::Path;

use rpr_core::checkpoint::write_atomic;
use rpr_core::quant::Bits;
use serde::Serialize;
use tch::Device;

use crate::data::DataSplits;
use crate::error::{Result, TrainError};
use crate::method::{bits_name, Method, QuantSetup};
use crate::metrics::{EpochMetrics, Report};
use crate::plot::{plot_panels, Panel, Series};
use crate::setup::{check_input_matches, load_network};
use crate::state::{STATE_JSON, TrainState};
use crate::train::{self, Outcome, RunInfo, TrainConfig};

/// Outcome of one method in a comparison.
#[derive(Clone, Debug, Serialize)]
pub struct ComparedRun {
    pub method: String,
    pub bits: String,
    pub report: Report,
    pub metrics: Vec<EpochMetrics>,
}

/// Runs every `(method, bits)` pair from the checkpoint in `init` and
/// writes each run to `out/<method>-<bits>/`. `configure` returns the
/// training settings of one pair.
pub fn run_comparison(
    init: &Path,
    data: &DataSplits,
    device: Device,
    pairs: &[(Method, Bits)],
    configure: &dyn Fn(Method, Bits) -> (TrainConfig, QuantSetup),
    info: &RunInfo,
    out: &Path,
) -> Result<Vec<ComparedRun>> {
    let mut runs = Vec::new();
    for &(method, bits) in pairs {
        let (cfg, setup) = configure(method, bits);
        let dir = out.join(format!("{}-{}", method.as_str(), bits_name(bits)));
        tracing::info!(method = method.as_str(), bits = bits_name(bits), dir = %dir.display(), "comparison run");
        let (net, _) = load_network(init, device)?;
        check_input_matches(&net, data)?;
        let report = match train::run(&net, data, &cfg, Some(&setup), info, &dir)? {
            Outcome::Finished(report) => *report,
            Outcome::Stopped { epochs_done } => {
                return Err(TrainError::Config(format!(
                    "comparison run {} stopped after {epochs_done} epochs; rerun with --resume",
                    dir.display()
                )))
            }
        };
        let metrics = read_metrics(&dir).unwrap_or_default();
        runs.push(ComparedRun { method: method.as_str().into(), bits: bits_name(bits).into(), report, metrics });
    }
    write_comparison(out, &runs)?;
    Ok(runs)
}

fn read_metrics(dir: &Path) -> Option<Vec<EpochMetrics>> {
    let text = std::fs::read_to_string(dir.join(STATE_JSON)).ok()?;
    let state: TrainState = serde_json::from_str(&text).ok()?;
    Some(state.metrics)
}

/// Renders the comparison table in Markdown.
pub fn markdown_table(runs: &[ComparedRun]) -> String {
    let mut text = String::from(
        "| method | bits | float top-1 | top-1 | top-5 | drop (points) | epochs | seconds |\n\
         | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for run in runs {
        let r = &run.report;
        let fp = r.fp_top1.map(|f| format!("{:.2}%", 100.0 * f)).unwrap_or_else(|| "-".into());
        let drop = r.fp_top1.map(|f| format!("{:.2}", 100.0 * (f - r.top1))).unwrap_or_else(|| "-".into());
        text.push_str(&format!(
            "| {} | {} | {fp} | {:.2}% | {:.2}% | {drop} | {} | {:.0} |\n",
            run.method,
            run.bits,
            100.0 * r.top1,
            100.0 * r.top5,
            r.epochs,
            r.seconds
        ));
    }
    text
}

/// Writes `compare.md`, `compare.json` and `compare.png` into `out`.
pub fn write_comparison(out: &Path, runs: &[ComparedRun]) -> Result<()> {
    let md_path = out.join("compare.md");
    write_atomic(&md_path, markdown_table(runs).as_bytes())
        .map_err(TrainError::io(format!("writing {}", md_path.display())))?;
    let json = serde_json::to_string_pretty(runs)
        .map_err(|e| TrainError::Config(format!("serializing the comparison: {e}")))?;
    let json_path = out.join("compare.json");
    write_atomic(&json_path, json.as_bytes()).map_err(TrainError::io(format!("writing {}", json_path.display())))?;

    let max_epochs = runs.iter().map(|r| r.metrics.len()).max().unwrap_or(1).max(1);
    let mut series = Vec::new();
    for run in runs {
        let label = format!("{} {}", run.method, run.bits);
        let points: Vec<(f64, f64)> = if run.metrics.len() <= 1 {
            // PTQ has no epochs; draw its accuracy as a flat line.
            vec![(1.0, run.report.top1), (max_epochs as f64, run.report.top1)]
        } else {
            run.metrics.iter().map(|m| (m.epoch as f64 + 1.0, m.test_acc)).collect()
        };
        series.push(Series { label, points });
    }
    if let Some(fp) = runs.iter().find_map(|r| r.report.fp_top1) {
        series.push(Series { label: "float".into(), points: vec![(1.0, fp), (max_epochs as f64, fp)] });
    }
    let lowest = series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).fold(1.0, f64::min);
    let panel = Panel {
        title: "test accuracy by method".into(),
        y_label: "top-1".into(),
        y_range: (lowest - 0.02).max(0.0)..1.0,
        series,
    };
    plot_panels(&out.join("compare.png"), &[panel], max_epochs as f64)
}
