//! Elementwise, channel and fully connected ops of the reference executor.

use ndarray::{
    concatenate, Array2, Array4, ArrayD, ArrayView1, ArrayView2, ArrayView4, ArrayViewD, Axis,
};

/// BatchNorm parameters for inference.
pub(super) struct BatchNormParams<'a> {
    pub(super) weight: ArrayView1<'a, f32>,
    pub(super) bias: ArrayView1<'a, f32>,
    pub(super) running_mean: ArrayView1<'a, f32>,
    pub(super) running_var: ArrayView1<'a, f32>,
    pub(super) eps: f32,
}

/// Computes `(x - mean) / sqrt(var + eps) * weight + bias` per channel.
pub(super) fn batch_norm(x: ArrayView4<f32>, bn: &BatchNormParams) -> Array4<f32> {
    let mut out = x.to_owned();
    for (c, mut channel) in out.axis_iter_mut(Axis(1)).enumerate() {
        let scale = bn.weight[c] / (bn.running_var[c] + bn.eps).sqrt();
        let mean = bn.running_mean[c];
        let shift = bn.bias[c];
        channel.mapv_inplace(|v| (v - mean) * scale + shift);
    }
    out
}

/// Computes `max(x, 0)`, keeping NaN as NaN like `torch.relu`.
pub(super) fn relu(x: ArrayViewD<f32>) -> ArrayD<f32> {
    x.mapv(|v| if v < 0.0 { 0.0 } else { v })
}

/// Sums tensors of equal shape.
pub(super) fn add(inputs: &[ArrayViewD<f32>]) -> ArrayD<f32> {
    let mut sum = inputs[0].to_owned();
    for other in &inputs[1..] {
        sum += other;
    }
    sum
}

/// Concatenates NCHW tensors along the channel axis.
pub(super) fn concat(inputs: &[ArrayViewD<f32>]) -> ArrayD<f32> {
    concatenate(Axis(1), inputs).expect("shape inference checked equal batch, height and width")
}

/// Reshapes `[n, c, h, w]` to `[n, c * h * w]` in row-major order.
pub(super) fn flatten(x: ArrayViewD<f32>) -> Array2<f32> {
    let n = x.shape()[0];
    let features: usize = x.shape()[1..].iter().product();
    let standard = x.as_standard_layout().into_owned();
    standard
        .into_shape_with_order((n, features))
        .expect("element count is n * features")
}

/// Computes `x @ weight.T + bias` for `x` `[n, in]` and `weight` `[out, in]`.
pub(super) fn linear(
    x: ArrayView2<f32>,
    weight: ArrayView2<f32>,
    bias: Option<ArrayView1<f32>>,
) -> Array2<f32> {
    let (n, _) = x.dim();
    let (out_features, _) = weight.dim();
    Array2::from_shape_fn((n, out_features), |(b, o)| {
        let dot: f32 = x.row(b).iter().zip(weight.row(o)).map(|(a, w)| a * w).sum();
        dot + bias.map_or(0.0, |bias| bias[o])
    })
}
