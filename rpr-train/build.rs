//! Embeds libtorch's library folder as an rpath, so `rpr-train` and the test
//! binaries run without `LD_LIBRARY_PATH`.

fn main() {
    // torch-sys exports the folder it linked against to direct dependents
    // (its manifest sets `links = "tch"`).
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(lib_dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
        if target_os == "linux" || target_os == "macos" {
            println!("cargo:rustc-link-arg=-Wl,-rpath,{lib_dir}");
        }
    }
}
