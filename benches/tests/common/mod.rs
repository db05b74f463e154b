//! Paths and the Python interpreter shared by the integration tests.

use std::path::{Path, PathBuf};

/// Returns the workspace root, the parent of the `benches` member.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("benches sits in the workspace").to_path_buf()
}

/// Returns the project's Python interpreter if it can import `modules`
/// (comma-separated), and otherwise prints why the check is skipped.
pub fn python_with(modules: &str) -> Option<PathBuf> {
    let python = repo_root().join(".venv/bin/python");
    let import = format!("import {modules}");
    let ok = std::process::Command::new(&python).args(["-c", &import]).status().map(|s| s.success());
    if ok.unwrap_or(false) {
        Some(python)
    } else {
        eprintln!("skipping the check: {} cannot run `{import}`", python.display());
        None
    }
}
