//! Instruction-set names used by dispatch and by the `RPR_INFER_KERNEL`
//! override.

use std::fmt;
use std::str::FromStr;

/// Instruction set of a kernel set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Isa {
    /// Portable Rust, any CPU.
    Scalar,
    /// x86_64 AVX2.
    Avx2,
    /// x86_64 AVX-512 F and BW; uses VNNI and VPOPCNTDQ where present.
    Avx512,
    /// aarch64 Advanced SIMD; uses `sdot` where the `dotprod` feature is present.
    Neon,
}

impl Isa {
    /// Every instruction set, in the order of increasing preference on x86_64.
    pub const ALL: [Isa; 4] = [Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Neon];

    /// Lowercase name, as accepted by `RPR_INFER_KERNEL`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
            Isa::Neon => "neon",
        }
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Unknown instruction-set name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown kernel ISA {0:?}; expected scalar, avx2, avx512 or neon")]
pub struct ParseIsaError(pub String);

impl FromStr for Isa {
    type Err = ParseIsaError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Isa::ALL
            .into_iter()
            .find(|isa| isa.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| ParseIsaError(s.to_owned()))
    }
}
