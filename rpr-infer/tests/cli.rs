//! The `rpr-infer` binary: `bench`, `run` and `eval` on an exported model.

mod common;

use std::path::Path;
use std::process::Command;

use rpr_core::quant::Bits;

fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rpr-infer"))
}

/// Returns false, after printing why, when the binary cannot start here. Under qemu-user a
/// spawned child runs without the runner's `-L` sysroot, so its dynamic loader is missing.
fn cli_runs() -> bool {
    let runs = cli()
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !runs {
        eprintln!("SKIPPED: the rpr-infer binary cannot be started directly on this host (emulated target?)");
    }
    runs
}

fn write_model(dir: &Path) -> std::path::PathBuf {
    let fixture = common::fixture("resnet20", 1, 28, Bits::Ternary, 31);
    let path = dir.join("resnet20.rpr");
    std::fs::write(&path, fixture.bytes).expect("model written");
    path
}

fn stdout_of(command: &mut Command) -> String {
    let output = command.output().expect("rpr-infer starts");
    assert!(
        output.status.success(),
        "rpr-infer failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

#[test]
fn bench_prints_json_report() {
    if !cli_runs() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let model = write_model(dir.path());
    let text = stdout_of(
        cli()
            .args([
                "bench",
                "--iters",
                "3",
                "--warmup",
                "1",
                "--batch",
                "2",
                "--threads",
                "2",
                "--json",
            ])
            .arg(&model),
    );
    let report: serde_json::Value = serde_json::from_str(&text).expect("bench --json prints JSON");
    assert_eq!(report["batch"], 2);
    assert_eq!(report["threads"], 2);
    assert!(report["images_per_second"].as_f64().expect("throughput") > 0.0);
    assert!(report["latency_ms"]["p50_ms"].as_f64().expect("p50") > 0.0);
}

#[test]
fn run_prints_five_classes() {
    if !cli_runs() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let model = write_model(dir.path());
    let image_path = dir.path().join("shirt.png");
    // A 40x30 RGB gradient: `run` must convert it to grayscale and resize it to 28x28.
    let image = image::RgbImage::from_fn(40, 30, |x, y| {
        image::Rgb([(x * 6) as u8, (y * 8) as u8, 128])
    });
    image.save(&image_path).expect("PNG written");

    let text = stdout_of(cli().arg("run").arg(&model).arg(&image_path));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "top-5 lines: {text}");
    let total: f64 = lines
        .iter()
        .map(|l| {
            l.split('%')
                .next()
                .unwrap()
                .trim()
                .parse::<f64>()
                .expect("percentage")
        })
        .sum();
    assert!(total > 0.0, "top-5 probabilities sum to {total}");
    assert!(total <= 100.01, "top-5 probabilities sum to {total}");
}

#[test]
fn run_rejects_undecodable_image() {
    if !cli_runs() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let model = write_model(dir.path());
    let bogus = dir.path().join("not-an-image.png");
    std::fs::write(&bogus, b"definitely not a PNG").expect("file written");
    let output = cli()
        .arg("run")
        .arg(&model)
        .arg(&bogus)
        .output()
        .expect("rpr-infer starts");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("not-an-image.png"));
}

#[test]
fn eval_counts_fashion_mnist() {
    if !cli_runs() {
        return;
    }
    if !Path::new(rpr_core::data::FASHION_MNIST_DEFAULT_DIR).exists() {
        eprintln!("SKIPPED: Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let model = write_model(dir.path());
    let text = stdout_of(
        cli()
            .args(["eval", "--limit", "50", "--batch", "16", "--json"])
            .arg(&model),
    );
    let report: serde_json::Value = serde_json::from_str(&text).expect("eval --json prints JSON");
    assert_eq!(report["images"], 50);
    let correct = report["correct"].as_u64().expect("correct count");
    assert!(correct <= 50);
    assert_eq!(
        report["packed_layers"], report["int8_layers"],
        "all packed layers on u8"
    );
    assert!((report["top1"].as_f64().unwrap() - correct as f64 / 50.0).abs() < 1e-9);
}

#[test]
fn eval_rejects_zero_limit() {
    if !cli_runs() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let model = write_model(dir.path());
    let output = cli()
        .args(["eval", "--limit", "0"])
        .arg(&model)
        .output()
        .expect("rpr-infer starts");
    assert!(!output.status.success(), "--limit 0 was accepted");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("--limit"),
        "error names the flag"
    );
}
