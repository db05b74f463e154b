//! AVX-512 kernels. All need F and BW; the dot-product kernels also need
//! VNNI and the XNOR-popcount kernel needs VPOPCNTDQ.

pub(crate) mod b1_bcast;
pub(crate) mod binary_b1;
pub(crate) mod float;
pub(crate) mod u8_addsub;
pub(crate) mod u8_bcast;
pub(crate) mod u8_dot;
