//! Fusion of a residual Add into the packed conv that computes one of its
//! inputs.
//!
//! In a ResNet block the second conv's output is read once, by the Add that
//! joins it with the shortcut. Adding the shortcut in the conv's epilogue
//! (and applying the Add's ReLU there) saves a pass over the block output
//! and the buffer between the two steps.

use super::{Step, StepOp, TensorId};

/// Replaces every fusable two-input Add with a residual input of the conv
/// that computes one of its operands. The conv then writes the Add's output
/// tensor and applies the Add's ReLU.
pub(super) fn fuse_residual_adds(steps: &mut Vec<Step>, program_output: TensorId) {
    let mut index = 0;
    while index < steps.len() {
        let Some((conv_index, residual)) = fusable(steps, index, program_output) else {
            index += 1;
            continue;
        };
        let add = steps.remove(index);
        let StepOp::Add { relu } = add.op else {
            unreachable!("`fusable` accepts only Add steps")
        };
        let conv_step = &mut steps[conv_index];
        let StepOp::PackedConv(conv) = &mut conv_step.op else {
            unreachable!("`fusable` returns a packed conv")
        };
        conv.relu = relu;
        conv_step.inputs.push(residual);
        conv_step.output = add.output;
    }
}

/// For the Add at `index`, returns the packed conv step to fuse it into and
/// the Add's other input. The conv must not apply its own ReLU (the sum
/// comes first), its output must be read by this Add alone and not be the
/// model output, and the other input must be ready before the conv runs.
fn fusable(steps: &[Step], index: usize, program_output: TensorId) -> Option<(usize, TensorId)> {
    let step = &steps[index];
    let StepOp::Add { .. } = step.op else {
        return None;
    };
    let [a, b] = step.inputs[..] else {
        return None;
    };
    let producer = |tensor: TensorId| steps[..index].iter().position(|s| s.output == tensor);
    for (conv_output, residual) in [(a, b), (b, a)] {
        let Some(conv_index) = producer(conv_output) else {
            continue;
        };
        let conv_step = &steps[conv_index];
        let StepOp::PackedConv(conv) = &conv_step.op else {
            continue;
        };
        let readers = steps
            .iter()
            .filter(|s| s.inputs.contains(&conv_output))
            .count();
        // The model input has no producer and is always ready.
        let ready = producer(residual).is_none_or(|p| p < conv_index);
        if !conv.relu
            && conv_step.inputs.len() == 1
            && readers == 1
            && conv_output != program_output
            && residual != conv_output
            && ready
        {
            return Some((conv_index, residual));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use rpr_core::pack::Encoding;

    use super::*;
    use crate::ops::geometry::ConvGeometry;
    use crate::program::{PackedConv, PackedWeights};

    fn conv(name: &str, input: TensorId, output: TensorId, relu: bool) -> Step {
        let geom =
            ConvGeometry::new(16, [8, 8], [3, 3], [1, 1], [1, 1], [1, 1]).expect("valid geometry");
        let op = PackedConv {
            geom,
            out_channels: 16,
            encoding: Encoding::Ternary2,
            weights: PackedWeights::InFile(format!("{name}.weight")),
            kp: 160,
            scale: vec![1.0; 16],
            bias: vec![0.0; 16],
            relu,
        };
        Step {
            node: name.into(),
            inputs: vec![input],
            output,
            op: StepOp::PackedConv(Box::new(op)),
        }
    }

    fn add(inputs: Vec<TensorId>, output: TensorId, relu: bool) -> Step {
        Step {
            node: "add".into(),
            inputs,
            output,
            op: StepOp::Add { relu },
        }
    }

    fn summary(steps: &[Step]) -> Vec<(String, Vec<TensorId>, TensorId, bool)> {
        steps
            .iter()
            .map(|s| {
                let relu = match &s.op {
                    StepOp::PackedConv(conv) => conv.relu,
                    StepOp::Add { relu } => *relu,
                    _ => false,
                };
                (s.node.clone(), s.inputs.clone(), s.output, relu)
            })
            .collect()
    }

    #[test]
    fn basic_block_add_moves_into_the_second_conv() {
        // 0 -> conv1 -> 1 -> conv2 -> 2; add(2, 0) -> 3 with ReLU.
        let mut steps = vec![
            conv("conv1", 0, 1, true),
            conv("conv2", 1, 2, false),
            add(vec![2, 0], 3, true),
        ];
        fuse_residual_adds(&mut steps, 3);
        let expected = vec![
            ("conv1".to_string(), vec![0], 1, true),
            ("conv2".to_string(), vec![1, 0], 3, true),
        ];
        assert_eq!(summary(&steps), expected);
    }

    #[test]
    fn late_shortcut_conv_takes_add() {
        // conv2's residual (the shortcut conv) runs after conv2, so the add
        // moves into the shortcut conv, whose input conv2 is then ready.
        let mut steps = vec![
            conv("conv1", 0, 1, true),
            conv("conv2", 1, 2, false),
            conv("shortcut", 0, 3, false),
            add(vec![2, 3], 4, false),
        ];
        fuse_residual_adds(&mut steps, 9);
        assert_eq!(
            summary(&steps)[2],
            ("shortcut".to_string(), vec![0, 2], 4, false)
        );
        assert_eq!(steps.len(), 3);
    }

    #[test]
    fn unfusable_adds_stay() {
        // conv2's output is read twice.
        let mut twice = vec![
            conv("conv2", 0, 1, false),
            add(vec![1, 0], 2, true),
            add(vec![1, 2], 3, false),
        ];
        fuse_residual_adds(&mut twice, 3);
        assert_eq!(twice.len(), 3);

        // A conv with its own ReLU: relu(conv) + x differs from relu(conv + x).
        let mut relu_conv = vec![conv("conv", 0, 1, true), add(vec![1, 0], 2, false)];
        fuse_residual_adds(&mut relu_conv, 2);
        assert_eq!(relu_conv.len(), 2);

        // The conv output is the model output.
        let mut output = vec![conv("conv", 0, 1, false), add(vec![1, 0], 2, false)];
        fuse_residual_adds(&mut output, 1);
        assert_eq!(output.len(), 2);

        // Three inputs.
        let mut three = vec![conv("conv", 0, 1, false), add(vec![1, 0, 0], 2, false)];
        fuse_residual_adds(&mut three, 2);
        assert_eq!(three.len(), 2);
    }
}
