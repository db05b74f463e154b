//! Weight codes expanded once, ahead of the calls of a kernel.
//!
//! The `vpdpbusd` kernels turn the 2-bit codes of each 64-channel block into
//! signed bytes before they use them. At batch 1 a conv has few output rows
//! to share that work, and it cost 5% of a ResNet-20 and 9% of a ResNet-18
//! inference. A session therefore expands each conv's codes once, at four
//! times the memory of the packed codes (one byte per weight).

/// 64 bytes of expanded codes, aligned for whole-vector loads.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
#[derive(Clone, Copy, Debug)]
#[repr(C, align(64))]
pub(crate) struct Vector64(pub [u32; 16]);

/// The codes of one packed weight matrix in the layout of the kernel that
/// made them. A kernel accepts them only for weights of the same shape.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
#[derive(Clone, Debug)]
pub struct PreparedWeights {
    /// Name of the kernel that made them.
    pub(crate) kernel: &'static str,
    /// Output channels and reduction length of the weights.
    pub(crate) rows: usize,
    pub(crate) k: usize,
    pub(crate) vectors: Vec<Vector64>,
}

impl PreparedWeights {
    /// Bytes of expanded codes, for memory reports.
    pub fn bytes(&self) -> usize {
        self.vectors.len() * std::mem::size_of::<Vector64>()
    }
}
