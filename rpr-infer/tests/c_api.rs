//! The C header matches `src/ffi.rs`, and the C example builds against the static library and
//! prints the same logits as the Rust API.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use ndarray::Array4;
use rpr_core::quant::Bits;
use rpr_infer::{Engine, Session, SessionOptions};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs cbindgen on `src/ffi.rs` with `cbindgen.toml`.
fn generate_header() -> String {
    let dir = crate_dir();
    let config =
        cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml parses");
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/ffi.rs"))
        .generate()
        .expect("cbindgen generates the header");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("header is UTF-8")
}

#[test]
fn header_is_up_to_date() {
    let generated = generate_header();
    let path = crate_dir().join("include/rpr_infer.h");
    if std::env::var_os("RPR_INFER_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("header written");
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "{} is stale; regenerate it with `RPR_INFER_BLESS=1 cargo test -p rpr-infer --test c_api`",
        path.display()
    );
}

/// Returns the static library in the parent of this test binary's `deps` directory.
fn static_library() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let profile_dir = exe.parent()?.parent()?;
    let lib = profile_dir.join("librpr_infer.a");
    lib.exists().then_some(lib)
}

fn compile_example(out_dir: &Path) -> Option<PathBuf> {
    // Under an emulator such as qemu-user the system `cc` targets the host, not this binary's
    // architecture, so the example could not link against this build's library.
    let Ok(machine) = Command::new("cc").arg("-dumpmachine").output() else {
        eprintln!("SKIPPED: no system C compiler `cc`");
        return None;
    };
    let machine = String::from_utf8_lossy(&machine.stdout);
    if !machine.starts_with(std::env::consts::ARCH) {
        eprintln!(
            "SKIPPED: system cc targets {}, this test runs as {}",
            machine.trim(),
            std::env::consts::ARCH
        );
        return None;
    }
    let Some(lib) = static_library() else {
        eprintln!("SKIPPED: librpr_infer.a not found beside the test binary; run `cargo build -p rpr-infer` first");
        return None;
    };
    let exe = out_dir.join("classify");
    let status = Command::new("cc")
        .arg(crate_dir().join("../examples/c/classify.c"))
        .arg("-I")
        .arg(crate_dir().join("include"))
        .arg(&lib)
        .args(["-lpthread", "-ldl", "-lm", "-o"])
        .arg(&exe)
        .status()
        .expect("the system C compiler `cc` runs");
    assert!(status.success(), "compiling examples/c/classify.c failed");
    Some(exe)
}

#[test]
fn c_example_matches_rust_api() {
    let dir = tempfile::tempdir().expect("temp dir");
    let Some(exe) = compile_example(dir.path()) else {
        return;
    };

    let fixture = common::fixture("resnet20", 1, 28, Bits::Ternary, 3);
    let model = dir.path().join("resnet20.rpr");
    std::fs::write(&model, &fixture.bytes).expect("model written");

    let output = Command::new(&exe)
        .arg(&model)
        .arg("2")
        .output()
        .expect("example runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "example failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let c_logits: Vec<f32> = stdout
        .lines()
        .filter_map(|line| line.strip_prefix("class "))
        .map(|rest| {
            rest.split_whitespace()
                .nth(1)
                .expect("logit column")
                .parse()
                .expect("logit parses")
        })
        .collect();

    let engine = Engine::load(&model).expect("engine loads");
    let [c, h, w] = engine.input_shape();
    let mut input = Array4::<f32>::zeros((1, c, h, w));
    for (i, value) in input.iter_mut().enumerate() {
        *value = ((i * 37) % 101) as f32 / 50.0 - 1.0;
    }
    let mut session = Session::new(&engine, SessionOptions::default()).expect("session");
    let logits = session.run(input.view()).expect("run");
    assert_eq!(c_logits.len(), logits.len(), "number of logits");
    for (i, (c_value, rust_value)) in c_logits.iter().zip(logits.iter()).enumerate() {
        // The C program prints 6 decimals; thread counts differ, which does not change the
        // int8 result because every tile sums in the same order.
        assert!(
            (c_value - rust_value).abs() <= 1e-5 + 1e-6 * rust_value.abs(),
            "logit {i}: C {c_value}, Rust {rust_value}"
        );
    }
}
