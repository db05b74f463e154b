//! Zero-sized proofs that the CPU supports a feature set. A token can only be
//! built by `try_new`, which runs the runtime detection, so a function that
//! takes a token by value may call `#[target_feature]` code for that set.

/// Advanced SIMD (NEON).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Neon(());

impl Neon {
    #[inline]
    pub(crate) fn try_new() -> Option<Self> {
        std::arch::is_aarch64_feature_detected!("neon").then_some(Self(()))
    }
}

/// Advanced SIMD with the dot-product extension (`sdot`, Armv8.2 `dotprod`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct NeonDot(());

impl NeonDot {
    #[inline]
    pub(crate) fn try_new() -> Option<Self> {
        (std::arch::is_aarch64_feature_detected!("neon")
            && std::arch::is_aarch64_feature_detected!("dotprod"))
        .then_some(Self(()))
    }
}
