//! Zero-sized proofs that the CPU supports a feature set. A token can only be
//! built by `try_new`, which runs the runtime detection, so a function that
//! takes a token by value may call `#[target_feature]` code for that set.

macro_rules! token {
    ($(#[$doc:meta])* $name:ident, $($feature:tt),+) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub(crate) struct $name(());

        impl $name {
            /// Returns the token when the CPU supports every feature.
            #[inline]
            pub(crate) fn try_new() -> Option<Self> {
                // The macro caches its CPUID result, so this is a few loads.
                if $(std::arch::is_x86_feature_detected!($feature))&&+ {
                    Some(Self(()))
                } else {
                    None
                }
            }
        }
    };
}

token!(
    /// AVX2.
    Avx2, "avx2"
);
token!(
    /// AVX-512 F and BW.
    Avx512, "avx512f", "avx512bw"
);
token!(
    /// AVX-512 F, BW and VNNI (`vpdpbusd`).
    Avx512Vnni, "avx512f", "avx512bw", "avx512vnni"
);
token!(
    /// AVX-512 F, BW and VPOPCNTDQ (`vpopcntq`).
    Avx512Popcnt, "avx512f", "avx512bw", "avx512vpopcntdq"
);
