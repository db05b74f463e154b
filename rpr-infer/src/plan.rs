//! Per-session decisions: which packed convs run on u8 activations, how each tensor is stored,
//! and which arena slot stores it. Slot assignment reuses a buffer once its last reader ran.

use rpr_core::pack::Encoding;

use crate::program::{PackedConv, Program, StepOp, TensorId};
use crate::session::Precision;

/// Storage type of a tensor between steps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Repr {
    F32,
    /// u8 codes with zero point 0: `x = scale * q`.
    U8 {
        scale: f32,
    },
}

/// Execution mode of a packed convolution in this session.
#[derive(Clone, Debug)]
pub(crate) enum ConvMode {
    /// u8 activations and i32 accumulation; `multiplier[o] = input scale * weight scale[o]`.
    Int8 {
        input_scale: f32,
        multiplier: Vec<f32>,
    },
    /// f32 activations, add/sub kernels.
    F32,
}

/// Why a packed conv falls back to f32 activations under [`Precision::Int8`].
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Fallback {
    /// The input may be negative, so u8 codes with zero point 0 cannot hold it.
    SignedInput,
    /// The file has no usable calibration for the input tensor.
    NotCalibrated,
}

/// Arena slot of a tensor: an index into the f32 or the u8 buffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    F32(usize),
    U8(usize),
}

/// Batch-independent decisions of a session.
#[derive(Debug)]
pub(crate) struct Layout {
    pub conv_modes: Vec<Option<ConvMode>>,
    pub reprs: Vec<Repr>,
    pub slots: Vec<Slot>,
    /// Per-sample element counts of the largest tensor in each f32 and u8 slot.
    pub f32_slot_len: Vec<usize>,
    pub u8_slot_len: Vec<usize>,
    pub fallbacks: Vec<(String, Fallback)>,
}

impl Layout {
    pub fn new(program: &Program, precision: Precision) -> Self {
        let mut fallbacks = Vec::new();
        let conv_modes: Vec<Option<ConvMode>> = program
            .steps
            .iter()
            .map(|step| {
                let StepOp::PackedConv(conv) = &step.op else {
                    return None;
                };
                let input = &program.tensors[step.inputs[0]];
                Some(match (precision, input.nonnegative, input.u8_scale) {
                    (Precision::F32, _, _) => ConvMode::F32,
                    (Precision::Int8, false, _) => {
                        fallbacks.push((step.node.clone(), Fallback::SignedInput));
                        ConvMode::F32
                    }
                    (Precision::Int8, true, None) => {
                        fallbacks.push((step.node.clone(), Fallback::NotCalibrated));
                        ConvMode::F32
                    }
                    (Precision::Int8, true, Some(scale)) => int8_mode(conv, scale),
                })
            })
            .collect();

        let reprs = choose_reprs(program, &conv_modes);
        let (slots, f32_slot_len, u8_slot_len) = assign_slots(program, &reprs);
        Self {
            conv_modes,
            reprs,
            slots,
            f32_slot_len,
            u8_slot_len,
            fallbacks,
        }
    }

    /// Number of packed convs running on u8 activations, and the total number of packed convs.
    pub fn int8_counts(&self) -> (usize, usize) {
        let modes = self.conv_modes.iter().flatten();
        let int8 = modes
            .clone()
            .filter(|m| matches!(m, ConvMode::Int8 { .. }))
            .count();
        (int8, modes.count())
    }
}

fn int8_mode(conv: &PackedConv, input_scale: f32) -> ConvMode {
    let multiplier = conv.scale.iter().map(|s| s * input_scale).collect();
    ConvMode::Int8 {
        input_scale,
        multiplier,
    }
}

/// Chooses u8 storage for a tensor that an int8 packed conv with a fused ReLU writes, that has
/// a calibrated scale, and that only int8 packed convs read as their input. Every other tensor
/// stays f32, including residual inputs of fused Adds.
fn choose_reprs(program: &Program, conv_modes: &[Option<ConvMode>]) -> Vec<Repr> {
    let mut reprs = vec![Repr::F32; program.tensors.len()];
    for (index, step) in program.steps.iter().enumerate() {
        let StepOp::PackedConv(conv) = &step.op else {
            continue;
        };
        let tensor = &program.tensors[step.output];
        let (Some(ConvMode::Int8 { .. }), true, Some(scale)) =
            (&conv_modes[index], conv.relu, tensor.u8_scale)
        else {
            continue;
        };
        if step.output == program.output {
            continue;
        }
        let mut readers = program
            .steps
            .iter()
            .enumerate()
            .filter(|(_, s)| s.inputs.contains(&step.output))
            .peekable();
        let only_int8_convs = readers.peek().is_some()
            && readers.all(|(i, s)| {
                // A fused residual input (after the first) is read as f32.
                matches!(s.op, StepOp::PackedConv(_))
                    && s.inputs[0] == step.output
                    && !s.inputs[1..].contains(&step.output)
                    && matches!(conv_modes[i], Some(ConvMode::Int8 { .. }))
            });
        if only_int8_convs {
            reprs[step.output] = Repr::U8 { scale };
        }
    }
    reprs
}

/// Greedy liveness-based slot assignment. A step's output never shares a slot with its own
/// inputs, because inputs are released only after the output slot is chosen.
fn assign_slots(program: &Program, reprs: &[Repr]) -> (Vec<Slot>, Vec<usize>, Vec<usize>) {
    let count = program.tensors.len();
    let mut last_use = vec![0usize; count];
    for (index, step) in program.steps.iter().enumerate() {
        for &input in &step.inputs {
            last_use[input] = index;
        }
    }
    last_use[program.output] = usize::MAX;

    let mut slots = vec![Slot::F32(0); count];
    let mut f32_len: Vec<usize> = Vec::new();
    let mut u8_len: Vec<usize> = Vec::new();
    let mut free_f32: Vec<usize> = Vec::new();
    let mut free_u8: Vec<usize> = Vec::new();

    let mut place = |tensor: TensorId,
                     slots: &mut Vec<Slot>,
                     free_f32: &mut Vec<usize>,
                     free_u8: &mut Vec<usize>| {
        let len = program.tensors[tensor].shape.len();
        slots[tensor] = match reprs[tensor] {
            Repr::F32 => Slot::F32(take_slot(free_f32, &mut f32_len, len)),
            Repr::U8 { .. } => Slot::U8(take_slot(free_u8, &mut u8_len, len)),
        };
    };

    place(program.input, &mut slots, &mut free_f32, &mut free_u8);
    for (index, step) in program.steps.iter().enumerate() {
        place(step.output, &mut slots, &mut free_f32, &mut free_u8);
        let mut released: Vec<TensorId> = step
            .inputs
            .iter()
            .copied()
            .filter(|&t| last_use[t] == index)
            .collect();
        released.dedup();
        for tensor in released {
            match slots[tensor] {
                Slot::F32(s) if !free_f32.contains(&s) => free_f32.push(s),
                Slot::U8(s) if !free_u8.contains(&s) => free_u8.push(s),
                _ => {}
            }
        }
    }
    (slots, f32_len, u8_len)
}

/// Reuses the free slot whose size is closest to `len`, or opens a new slot.
fn take_slot(free: &mut Vec<usize>, lens: &mut Vec<usize>, len: usize) -> usize {
    let best = free
        .iter()
        .enumerate()
        .min_by_key(|(_, &s)| lens[s].abs_diff(len))
        .map(|(i, _)| i);
    match best {
        Some(i) => {
            let slot = free.swap_remove(i);
            lens[slot] = lens[slot].max(len);
            slot
        }
        None => {
            lens.push(len);
            lens.len() - 1
        }
    }
}

/// True when the packed kernels of this encoding are the binary family.
pub(crate) fn is_binary(encoding: Encoding) -> bool {
    encoding == Encoding::Binary
}
