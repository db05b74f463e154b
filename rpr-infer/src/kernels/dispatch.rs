//! Runtime CPU detection and the cached kernel table.

use std::sync::OnceLock;

use super::set::{KernelSet, KernelVariant};
use super::{scalar, Isa};

/// Environment variable that forces one instruction set:
/// `scalar`, `avx2`, `avx512` or `neon`. When the CPU lacks the requested
/// set, or the value is not one of these, [`kernels`] logs a warning and uses
/// the detected set instead, so a stale setting never stops inference.
pub const KERNEL_ENV: &str = "RPR_INFER_KERNEL";

/// Returns the kernel set for `isa`, or `None` when this CPU or build lacks it.
pub fn kernel_set(isa: Isa) -> Option<KernelSet> {
    match isa {
        Isa::Scalar => Some(scalar::set()),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => super::x86::avx2_set(),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => super::x86::avx512_set(),
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => super::arm::neon_set(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// Lists every kernel compiled for this architecture, with its availability
/// on this CPU. The scalar kernels come first.
pub fn variants() -> Vec<KernelVariant> {
    let mut all = scalar::variants();
    #[cfg(target_arch = "x86_64")]
    all.extend(super::x86::variants());
    #[cfg(target_arch = "aarch64")]
    all.extend(super::arm::variants());
    all
}

/// Returns the fastest kernel set this CPU supports, detected on the first
/// call and cached. `RPR_INFER_KERNEL` overrides the choice (see [`KERNEL_ENV`]).
pub fn kernels() -> &'static KernelSet {
    static SET: OnceLock<KernelSet> = OnceLock::new();
    SET.get_or_init(|| {
        let set = select(std::env::var(KERNEL_ENV).ok().as_deref());
        let names = &set.names;
        tracing::info!(
            isa = %set.isa,
            ternary_u8 = names.ternary_u8,
            binary_u8 = names.binary_u8,
            binary_b1 = names.binary_b1,
            ternary_f32 = names.ternary_f32,
            binary_f32 = names.binary_f32,
            "selected GEMM kernels"
        );
        set
    })
}

fn detected() -> KernelSet {
    [Isa::Avx512, Isa::Avx2, Isa::Neon]
        .into_iter()
        .find_map(kernel_set)
        .unwrap_or_else(scalar::set)
}

fn select(requested: Option<&str>) -> KernelSet {
    let Some(requested) = requested else {
        return detected();
    };
    match requested.parse::<Isa>() {
        Ok(isa) => kernel_set(isa).unwrap_or_else(|| {
            tracing::warn!(
                isa = %isa,
                "{KERNEL_ENV} requests kernels this CPU or build lacks; using the detected set"
            );
            detected()
        }),
        Err(err) => {
            tracing::warn!("invalid {KERNEL_ENV}: {err}; using the detected set");
            detected()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_honours_scalar_override() {
        assert_eq!(select(Some("scalar")).isa, Isa::Scalar);
        assert_eq!(select(Some(" SCALAR ")).isa, Isa::Scalar);
    }

    #[test]
    fn select_falls_back_on_invalid_name() {
        assert_eq!(select(Some("sse9")).isa, detected().isa);
    }

    #[test]
    fn select_falls_back_on_missing_isa() {
        let missing = Isa::ALL.into_iter().find(|&isa| kernel_set(isa).is_none());
        match missing {
            Some(isa) => assert_eq!(select(Some(isa.name())).isa, detected().isa),
            None => eprintln!("skipped: this CPU supports every ISA"),
        }
    }
}
