//! Several methods from the same starting checkpoint, each at one or more
//! learning rates, summarized in Markdown tables, one JSON file and one plot.
//!
//! A fair comparison gives every method the same budget and its own best
//! learning rate. So a run list may contain one method at several rates, and
//! the summary picks the best rate of each method and bit width.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rpr_core::checkpoint::write_atomic;
use rpr_core::quant::Bits;
use serde::Serialize;
use tch::Device;

use crate::data::DataSplits;
use crate::error::{Result, TrainError};
use crate::method::{bits_name, Method, QuantSetup};
use crate::metrics::{EpochMetrics, Report, REPORT_JSON};
use crate::plot::{plot_panels, Panel, Series};
use crate::setup::{check_input_matches, load_network};
use crate::state::{STATE_JSON, TrainState};
use crate::train::{self, Outcome, RunInfo, TrainConfig};

/// One run of a comparison. `lr` is `None` for methods without gradient
/// steps (PTQ), which run once whatever the sweep.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RunSpec {
    pub method: Method,
    pub bits: Bits,
    pub lr: Option<f64>,
}

impl RunSpec {
    /// Lists every `(bits, method, lr)` combination with the bit width
    /// outermost. PTQ runs once per bit width.
    pub fn grid(methods: &[Method], bits: &[Bits], lrs: &[f64]) -> Vec<RunSpec> {
        let mut specs = Vec::new();
        for &bits in bits {
            for &method in methods {
                if method == Method::Ptq || lrs.is_empty() {
                    specs.push(RunSpec { method, bits, lr: None });
                } else {
                    specs.extend(lrs.iter().map(|&lr| RunSpec { method, bits, lr: Some(lr) }));
                }
            }
        }
        specs
    }

    /// Folder of this run inside the comparison folder, such as
    /// `rpr-ternary` or, in a sweep, `rpr-ternary-lr0.001`.
    pub fn dir_name(&self, sweep: bool) -> String {
        let base = format!("{}-{}", self.method.as_str(), bits_name(self.bits));
        match self.lr {
            Some(lr) if sweep => format!("{base}-lr{lr}"),
            _ => base,
        }
    }
}

/// Outcome of one run in a comparison.
#[derive(Clone, Debug, Serialize)]
pub struct ComparedRun {
    pub method: String,
    pub bits: String,
    /// Folder of the run, relative to the comparison folder.
    pub dir: String,
    pub report: Report,
    pub metrics: Vec<EpochMetrics>,
}

/// Runs every spec from the checkpoint in `init` and writes each run to its
/// own folder in `out`. `configure` returns the training settings of one
/// spec. With `resume` set in those settings, an interrupted comparison
/// continues: a folder that contains a finished run with the same method, bits,
/// learning rate, epochs and seed is reused, and an unfinished run resumes
/// from its last epoch.
pub fn run_comparison(
    init: &Path,
    data: &DataSplits,
    device: Device,
    specs: &[RunSpec],
    configure: &dyn Fn(&RunSpec) -> (TrainConfig, QuantSetup),
    info: &RunInfo,
    out: &Path,
) -> Result<Vec<ComparedRun>> {
    let rates: BTreeSet<u64> = specs.iter().filter_map(|s| s.lr).map(f64::to_bits).collect();
    let sweep = rates.len() > 1;
    let mut runs = Vec::new();
    for (index, spec) in specs.iter().enumerate() {
        let (mut cfg, setup) = configure(spec);
        let name = spec.dir_name(sweep);
        let dir = out.join(&name);
        let reusable = if cfg.resume { finished_report(&dir, spec, &cfg) } else { None };
        // Only a run that left a training state behind can resume.
        cfg.resume = cfg.resume && dir.join(STATE_JSON).exists();
        let report = match reusable {
            Some(report) => {
                tracing::info!(run = %name, top1 = report.top1, "reusing the finished run in {}", dir.display());
                report
            }
            None => {
                tracing::info!(run = %name, index = index + 1, of = specs.len(), lr = cfg.lr, "comparison run");
                let (net, _) = load_network(init, device)?;
                check_input_matches(&net, data)?;
                match train::run(&net, data, &cfg, Some(&setup), info, &dir)? {
                    Outcome::Finished(report) => *report,
                    Outcome::Stopped { epochs_done } => {
                        return Err(TrainError::Config(format!(
                            "comparison run {} stopped after {epochs_done} epochs; rerun the comparison with --resume to continue",
                            dir.display()
                        )))
                    }
                }
            }
        };
        let metrics = read_metrics(&dir).unwrap_or_default();
        runs.push(ComparedRun {
            method: spec.method.as_str().into(),
            bits: bits_name(spec.bits).into(),
            dir: name,
            report,
            metrics,
        });
    }
    write_comparison(out, &runs)?;
    Ok(runs)
}

/// Reads the report in `dir` if it belongs to a finished run of `spec` with the
/// settings of `cfg`.
fn finished_report(dir: &Path, spec: &RunSpec, cfg: &TrainConfig) -> Option<Report> {
    let report = Report::read(&dir.join(REPORT_JSON)).ok()?;
    let same = report.method == spec.method.as_str()
        && report.bits == bits_name(spec.bits)
        && report.epochs == cfg.epochs
        && report.seed == cfg.seed
        && (spec.lr.is_none() || report.lr == cfg.lr);
    same.then_some(report)
}

fn read_metrics(dir: &Path) -> Option<Vec<EpochMetrics>> {
    let text = std::fs::read_to_string(dir.join(STATE_JSON)).ok()?;
    let state: TrainState = serde_json::from_str(&text).ok()?;
    Some(state.metrics)
}

/// Picks the run with the highest top-1 for each `(bits, method)`, in the order
/// the pairs first appear. Ties keep the earlier run.
pub fn best_runs(runs: &[ComparedRun]) -> Vec<&ComparedRun> {
    let mut order = Vec::new();
    let mut best: BTreeMap<(String, String), &ComparedRun> = BTreeMap::new();
    for run in runs {
        let key = (run.bits.clone(), run.method.clone());
        match best.get(&key) {
            None => {
                order.push(key.clone());
                best.insert(key, run);
            }
            Some(held) if run.report.top1 > held.report.top1 => {
                best.insert(key, run);
            }
            Some(_) => {}
        }
    }
    order.iter().map(|key| best[key]).collect()
}

fn percent(fraction: f64) -> String {
    format!("{:.2}%", 100.0 * fraction)
}

fn uses_lr(run: &ComparedRun) -> bool {
    run.method != Method::Ptq.as_str()
}

/// Renders the comparison in Markdown. The first table has the best learning
/// rate of each method and bit width, with its drop from float and its gap to
/// the best method of the same bit width. A second table lists every run of a
/// sweep.
pub fn markdown_table(runs: &[ComparedRun]) -> String {
    let best = best_runs(runs);
    let mut leader: BTreeMap<&str, f64> = BTreeMap::new();
    for run in &best {
        let top = leader.entry(run.bits.as_str()).or_insert(f64::MIN);
        *top = top.max(run.report.top1);
    }

    let mut text = String::from(
        "| method | bits | lr | float top-1 | top-1 | top-5 | drop vs float (points) | behind best (points) | epochs | seconds |\n\
         | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for run in &best {
        let r = &run.report;
        let lr = if uses_lr(run) { format!("{}", r.lr) } else { "-".into() };
        let fp = r.fp_top1.map(percent).unwrap_or_else(|| "-".into());
        let drop = r.fp_top1.map(|f| format!("{:.2}", 100.0 * (f - r.top1))).unwrap_or_else(|| "-".into());
        let behind = 100.0 * (leader[run.bits.as_str()] - r.top1);
        text.push_str(&format!(
            "| {} | {} | {lr} | {fp} | {} | {} | {drop} | {behind:.2} | {} | {:.0} |\n",
            run.method,
            run.bits,
            percent(r.top1),
            percent(r.top5),
            r.epochs,
            r.seconds
        ));
    }

    let swept: BTreeSet<u64> = runs.iter().filter(|r| uses_lr(r)).map(|r| r.report.lr.to_bits()).collect();
    if swept.len() > 1 {
        text.push_str("\nEvery run of the learning-rate sweep:\n\n| method | bits | lr | top-1 | folder |\n| --- | --- | ---: | ---: | --- |\n");
        for run in runs.iter().filter(|r| uses_lr(r)) {
            text.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                run.method,
                run.bits,
                run.report.lr,
                percent(run.report.top1),
                run.dir
            ));
        }
    }
    text
}

/// Writes `compare.md`, `compare.json` and `compare.png` into `out`. The
/// plot has one panel per bit width with the test accuracy of each method's
/// best run after every epoch and the float accuracy as a flat line.
pub fn write_comparison(out: &Path, runs: &[ComparedRun]) -> Result<()> {
    let md_path = out.join("compare.md");
    write_atomic(&md_path, markdown_table(runs).as_bytes())
        .map_err(TrainError::io(format!("writing {}", md_path.display())))?;
    let json = serde_json::to_string_pretty(runs)
        .map_err(|e| TrainError::Config(format!("serializing the comparison: {e}")))?;
    let json_path = out.join("compare.json");
    write_atomic(&json_path, json.as_bytes()).map_err(TrainError::io(format!("writing {}", json_path.display())))?;

    let best = best_runs(runs);
    let max_epochs = runs.iter().map(|r| r.metrics.len()).max().unwrap_or(1).max(1) as f64;
    let mut panels = Vec::new();
    let mut bit_widths: Vec<&str> = best.iter().map(|r| r.bits.as_str()).collect();
    bit_widths.dedup();
    for bits in bit_widths {
        let mut series = Vec::new();
        for run in best.iter().filter(|r| r.bits == bits) {
            let label = if uses_lr(run) { format!("{} (lr {})", run.method, run.report.lr) } else { run.method.clone() };
            let points: Vec<(f64, f64)> = if run.metrics.len() <= 1 {
                // PTQ has no epochs; draw its accuracy as a flat line.
                vec![(1.0, run.report.top1), (max_epochs, run.report.top1)]
            } else {
                run.metrics.iter().map(|m| (m.epoch as f64 + 1.0, m.test_acc)).collect()
            };
            series.push(Series { label, points });
        }
        if let Some(fp) = best.iter().find_map(|r| r.report.fp_top1) {
            series.push(Series { label: "float".into(), points: vec![(1.0, fp), (max_epochs, fp)] });
        }
        let values = || series.iter().flat_map(|s| s.points.iter().map(|p| p.1));
        let lowest = values().fold(1.0, f64::min);
        let highest = values().fold(0.0, f64::max);
        panels.push(Panel {
            title: format!("{bits} weights: test top-1 by epoch, best learning rate per method"),
            y_label: "top-1".into(),
            y_range: (lowest - 0.01).max(0.0)..(highest + 0.01).min(1.0),
            series,
        });
    }
    plot_panels(&out.join("compare.png"), &panels, max_epochs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(method: &str, bits: &str, lr: f64, top1: f64) -> ComparedRun {
        let report = Report {
            model: "resnet20".into(),
            dataset: "fashion-mnist".into(),
            method: method.into(),
            bits: bits.into(),
            fp_top1: Some(0.9),
            top1,
            top5: 0.99,
            correct: (top1 * 1000.0).round() as usize,
            test_images: 1000,
            train_images: 100,
            epochs: 3,
            ff_schedule: None,
            optimizer: "adam".into(),
            lr,
            batch_size: 32,
            seed: 0,
            seconds: 1.0,
            command: "test".into(),
        };
        ComparedRun { method: method.into(), bits: bits.into(), dir: format!("{method}-{bits}-lr{lr}"), report, metrics: vec![] }
    }

    #[test]
    fn grid_runs_ptq_once_and_sweeps_the_rest() {
        let specs = RunSpec::grid(&[Method::Rpr, Method::Ptq], &[Bits::Ternary, Bits::Binary], &[1e-3, 1e-4]);
        let names: Vec<String> = specs.iter().map(|s| s.dir_name(true)).collect();
        assert_eq!(
            names,
            [
                "rpr-ternary-lr0.001",
                "rpr-ternary-lr0.0001",
                "ptq-ternary",
                "rpr-binary-lr0.001",
                "rpr-binary-lr0.0001",
                "ptq-binary"
            ]
        );
        let single = RunSpec::grid(&[Method::Ste], &[Bits::Binary], &[]);
        assert_eq!(single, [RunSpec { method: Method::Ste, bits: Bits::Binary, lr: None }]);
        assert_eq!(single[0].dir_name(false), "ste-binary");
    }

    #[test]
    fn table_shows_best_rate_and_gap() {
        let runs = [
            run("rpr", "ternary", 1e-3, 0.880),
            run("rpr", "ternary", 1e-4, 0.890),
            run("ste", "ternary", 1e-3, 0.885),
            run("ptq", "ternary", 0.0, 0.800),
        ];
        let best: Vec<(&str, f64)> = best_runs(&runs).iter().map(|r| (r.method.as_str(), r.report.lr)).collect();
        assert_eq!(best, [("rpr", 1e-4), ("ste", 1e-3), ("ptq", 0.0)]);

        let table = markdown_table(&runs);
        let rows: Vec<&str> = table.lines().filter(|l| l.starts_with("| rpr") || l.starts_with("| ste")).collect();
        assert!(rows[0].contains("| 0.0001 |"), "RPR's best rate is 1e-4: {table}");
        assert!(rows[0].contains("| 89.00% |"), "RPR's best top-1 is 89%: {table}");
        assert!(rows[0].contains("| 1.00 | 0.00 |"), "RPR leads, 1 point below float: {table}");
        assert!(rows[1].contains("| 0.50 |"), "STE trails RPR by 0.5 points: {table}");
        assert!(table.contains("Every run of the learning-rate sweep"), "{table}");
        assert!(table.contains("| rpr | ternary | 0.001 | 88.00% | rpr-ternary-lr0.001 |"), "{table}");
    }
}
