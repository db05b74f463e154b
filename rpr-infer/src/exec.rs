//! Execution of a program over one batch with preallocated buffers.

use rpr_core::pack::PackedView;
use rpr_export::packed::RprFile;

use crate::error::EngineError;
use crate::kernels::{ConvGemmFn, KernelSet, PreparedWeights};
use crate::ops::packed_conv::{packed_conv, quantize_tensor, PackedConvCall, Source};
use crate::ops::tiling::Tiling;
use crate::ops::{direct_conv, elementwise, float_conv, implicit_conv, layout, pool};
use crate::plan::{is_binary, ConvMode, Layout, Repr, Slot};
use crate::program::{PackedConv, PackedWeights, Program, Shape, Step, StepOp};

/// Buffers for one batch size: a slot per simultaneously live tensor plus GEMM scratch.
pub(crate) struct Arena {
    /// Images of the current run; [`Arena::set_batch`] changes it.
    pub batch: usize,
    /// Images the buffers are allocated for.
    capacity: usize,
    f32_slots: Vec<Vec<f32>>,
    u8_slots: Vec<Vec<u8>>,
    scratch: Scratch,
    tilings: Vec<Option<Tiling>>,
}

#[derive(Default)]
struct Scratch {
    /// u8 codes of an f32 tensor that an int8 conv reads, quantized once before im2col.
    input_u8: Vec<u8>,
    cols_u8: Vec<u8>,
    cols_f32: Vec<f32>,
    acc_i32: Vec<i32>,
    acc_f32: Vec<f32>,
    /// Zero-bordered input images of a float conv that runs on the direct kernel.
    padded_f32: Vec<f32>,
}

/// Borrowed input tensor of a step.
enum Input<'a> {
    F32(&'a [f32]),
    U8(&'a [u8]),
}

impl<'a> Input<'a> {
    fn f32(&self, step: &Step) -> Result<&'a [f32], EngineError> {
        match *self {
            Input::F32(data) => Ok(data),
            Input::U8(_) => Err(EngineError::invalid(
                &step.node,
                "internal error: step reads an f32 tensor stored as u8",
            )),
        }
    }
}

impl Arena {
    /// Allocates every buffer for `batch` images, sized from the layout and each step's tiling.
    ///
    /// Fails with [`EngineError::Memory`] when a buffer cannot be allocated, so a batch too
    /// large for the machine gets an error instead of aborting the process.
    pub fn new(
        program: &Program,
        layout: &Layout,
        batch: usize,
        threads: usize,
    ) -> Result<Self, EngineError> {
        let per_batch = |len: usize| len.checked_mul(batch).ok_or(EngineError::Memory { batch });
        let f32_slots = layout
            .f32_slot_len
            .iter()
            .map(|&len| zeroed(per_batch(len)?, batch))
            .collect::<Result<_, _>>()?;
        let u8_slots = layout
            .u8_slot_len
            .iter()
            .map(|&len| zeroed(per_batch(len)?, batch))
            .collect::<Result<_, _>>()?;
        let mut scratch = Scratch::default();
        let mut tilings = Vec::with_capacity(program.steps.len());
        for (index, step) in program.steps.iter().enumerate() {
            let tiling = match &step.op {
                StepOp::PackedConv(conv) => {
                    let rows = per_batch(conv.geom.out_pixels())?;
                    let int8 = matches!(layout.conv_modes[index], Some(ConvMode::Int8 { .. }));
                    let element_bytes = if int8 { 1 } else { 4 };
                    let tiling = Tiling::for_rows(rows, threads, conv.kp * element_bytes);
                    let scratch_rows = tiling.scratch_rows(rows);
                    match layout.conv_modes[index] {
                        Some(ConvMode::Int8 { .. }) => {
                            if layout.reprs[step.inputs[0]] == Repr::F32 {
                                grow(
                                    &mut scratch.input_u8,
                                    per_batch(
                                        conv.geom.in_h * conv.geom.in_w * conv.geom.in_channels,
                                    )?,
                                    batch,
                                )?;
                            }
                            grow(&mut scratch.cols_u8, scratch_rows * conv.kp, batch)?;
                            grow(
                                &mut scratch.acc_i32,
                                scratch_rows * conv.out_channels,
                                batch,
                            )?;
                        }
                        _ => {
                            grow(&mut scratch.cols_f32, scratch_rows * conv.kp, batch)?;
                            grow(
                                &mut scratch.acc_f32,
                                scratch_rows * conv.out_channels,
                                batch,
                            )?;
                        }
                    }
                    Some(tiling)
                }
                StepOp::FloatConv(conv) => {
                    let rows = per_batch(conv.geom.out_pixels())?;
                    let k = conv.geom.k(conv.geom.in_channels / conv.weights.groups);
                    let tiling = Tiling::for_rows(rows, threads, k * 4);
                    grow(&mut scratch.cols_f32, tiling.scratch_rows(rows) * k, batch)?;
                    if conv.weights.columns.is_some() {
                        let padded = direct_conv::padded_image_len(&conv.geom);
                        grow(&mut scratch.padded_f32, per_batch(padded)?, batch)?;
                    }
                    Some(tiling)
                }
                _ => None,
            };
            tilings.push(tiling);
        }
        Ok(Self {
            batch,
            capacity: batch,
            f32_slots,
            u8_slots,
            scratch,
            tilings,
        })
    }

    /// Sets the images of the next runs to `batch`, at most the allocated number. The buffers
    /// and tilings stay valid because every step takes the first `batch` images' worth of each
    /// buffer, and a single-thread tiling needs no more scratch for fewer rows.
    pub fn set_batch(&mut self, batch: usize) {
        assert!(
            (1..=self.capacity).contains(&batch),
            "batch {batch} outside the arena's 1..={} images",
            self.capacity
        );
        self.batch = batch;
    }

    /// Copies an NCHW batch into the input slot as NHWC.
    pub fn write_input(
        &mut self,
        program: &Program,
        layout: &Layout,
        input: ndarray::ArrayView4<'_, f32>,
    ) {
        let Slot::F32(slot) = layout.slots[program.input] else {
            unreachable!("the input tensor is always f32")
        };
        let (n, c, h, w) = input.dim();
        let buffer = &mut self.f32_slots[slot][..n * c * h * w];
        // `indexed_iter` steps the index instead of dividing the flat
        // position four times per element, which cost 3% of a batch-1 run.
        for ((image, ch, y, x), &value) in input.indexed_iter() {
            buffer[((image * h + y) * w + x) * c + ch] = value;
        }
    }

    /// Copies the model output out as `[n, features]` in PyTorch's NCHW flattening order.
    pub fn read_output(&self, program: &Program, layout: &Layout) -> ndarray::Array2<f32> {
        let Slot::F32(slot) = layout.slots[program.output] else {
            unreachable!("the output tensor is always f32")
        };
        let shape = program.tensors[program.output].shape;
        let len = shape.len();
        let data = &self.f32_slots[slot][..self.batch * len];
        let mut logits = vec![0.0; self.batch * len];
        match shape {
            Shape::Map { c, h, w } => layout::flatten_nchw(data, [c, h, w], &mut logits),
            Shape::Flat(_) => logits.copy_from_slice(data),
        }
        ndarray::Array2::from_shape_vec((self.batch, len), logits)
            .expect("length matches the shape")
    }
}

/// Returns a zero-filled buffer of `len` elements, or [`EngineError::Memory`] when the
/// allocation fails.
fn zeroed<T: Default + Clone>(len: usize, batch: usize) -> Result<Vec<T>, EngineError> {
    let mut buffer = Vec::new();
    grow(&mut buffer, len, batch)?;
    Ok(buffer)
}

/// Extends `buffer` with zeros to at least `len` elements.
fn grow<T: Default + Clone>(
    buffer: &mut Vec<T>,
    len: usize,
    batch: usize,
) -> Result<(), EngineError> {
    if buffer.len() < len {
        buffer
            .try_reserve_exact(len - buffer.len())
            .map_err(|_| EngineError::Memory { batch })?;
        buffer.resize(len, T::default());
    }
    Ok(())
}

/// Everything a step needs besides its buffers.
pub(crate) struct Context<'a> {
    pub file: &'a RprFile,
    pub program: &'a Program,
    /// Per step, the weights of an int8 packed conv expanded for its implicit-GEMM kernel.
    pub prepared: &'a [Option<PreparedWeights>],
    pub layout: &'a Layout,
    pub kernels: &'a KernelSet,
}

/// Runs every step of the program on the batch in `arena`.
///
/// With `RUST_LOG=rpr_infer::exec=debug`, each step logs its wall time, so a profile of one
/// run needs no external tool. The clock is read only when that level is enabled.
pub(crate) fn execute(ctx: &Context<'_>, arena: &mut Arena) -> Result<(), EngineError> {
    let timed = tracing::enabled!(tracing::Level::DEBUG);
    for (index, step) in ctx.program.steps.iter().enumerate() {
        let _span = tracing::trace_span!("step", node = %step.node, op = step.op.kind()).entered();
        let start = timed.then(std::time::Instant::now);
        let out_slot = ctx.layout.slots[step.output];
        let len = arena.batch * ctx.program.tensors[step.output].shape.len();
        let Arena {
            batch,
            f32_slots,
            u8_slots,
            scratch,
            tilings,
            ..
        } = arena;
        let tiling = tilings[index];
        // The output slot is distinct from every input slot (see `plan::assign_slots`), so
        // taking it out of the arena first leaves the inputs in place.
        let mut out_f32 = Vec::new();
        let mut out_u8 = Vec::new();
        match out_slot {
            Slot::F32(s) => out_f32 = std::mem::take(&mut f32_slots[s]),
            Slot::U8(s) => out_u8 = std::mem::take(&mut u8_slots[s]),
        }
        let output = match out_slot {
            Slot::F32(_) => Output::F32(&mut out_f32[..len]),
            Slot::U8(_) => Output::U8(&mut out_u8[..len]),
        };
        let inputs: Vec<Input<'_>> = step
            .inputs
            .iter()
            .map(|&t| {
                let len = *batch * ctx.program.tensors[t].shape.len();
                match ctx.layout.slots[t] {
                    Slot::F32(s) => Input::F32(&f32_slots[s][..len]),
                    Slot::U8(s) => Input::U8(&u8_slots[s][..len]),
                }
            })
            .collect();
        let result = run_step(ctx, index, step, &inputs, output, scratch, tiling, *batch);
        drop(inputs);
        match out_slot {
            Slot::F32(s) => f32_slots[s] = out_f32,
            Slot::U8(s) => u8_slots[s] = out_u8,
        }
        result?;
        if let Some(start) = start {
            let micros = start.elapsed().as_secs_f64() * 1e6;
            tracing::debug!(step = index, node = %step.node, op = step.op.kind(), batch = arena.batch, micros, "step finished");
        }
    }
    Ok(())
}

enum Output<'a> {
    F32(&'a mut [f32]),
    U8(&'a mut [u8]),
}

#[allow(clippy::too_many_arguments)]
fn run_step(
    ctx: &Context<'_>,
    index: usize,
    step: &Step,
    inputs: &[Input<'_>],
    output: Output<'_>,
    scratch: &mut Scratch,
    tiling: Option<Tiling>,
    batch: usize,
) -> Result<(), EngineError> {
    if let StepOp::PackedConv(conv) = &step.op {
        let mode = ctx.layout.conv_modes[index]
            .as_ref()
            .expect("every packed conv has a mode");
        let tiling = tiling.expect("every conv has a tiling");
        return run_packed_conv(
            ctx, index, step, conv, mode, inputs, output, scratch, tiling, batch,
        );
    }
    let Output::F32(out) = output else {
        return Err(EngineError::invalid(
            &step.node,
            "internal error: only packed convs write u8 tensors",
        ));
    };
    let input_shape = ctx.program.tensors[step.inputs[0]].shape;
    let first = inputs[0].f32(step)?;
    match &step.op {
        StepOp::PackedConv(_) => unreachable!("handled above"),
        StepOp::FloatConv(conv) => {
            let tiling = tiling.expect("every conv has a tiling");
            float_conv::float_conv(
                &conv.geom,
                &conv.weights,
                conv.relu,
                tiling,
                first,
                &mut scratch.cols_f32,
                &mut scratch.padded_f32,
                out,
            );
        }
        StepOp::Affine { scale, shift, relu } => {
            elementwise::channel_affine(first, scale, shift, *relu, out)
        }
        StepOp::Relu => elementwise::relu(first, out),
        StepOp::Add { relu } => {
            let all = inputs
                .iter()
                .map(|i| i.f32(step))
                .collect::<Result<Vec<_>, _>>()?;
            elementwise::add(&all, *relu, out);
        }
        StepOp::MaxPool(geom) => pool::max_pool(first, geom, out),
        StepOp::AvgPool(geom) => pool::avg_pool(first, geom, out),
        StepOp::GlobalAvgPool => {
            let Shape::Map { c, h, w } = input_shape else {
                unreachable!("checked at build")
            };
            pool::global_avg_pool(first, h * w, c, out);
        }
        StepOp::Concat => {
            let all = inputs
                .iter()
                .map(|i| i.f32(step))
                .collect::<Result<Vec<_>, _>>()?;
            let channels: Vec<usize> = step
                .inputs
                .iter()
                .map(|&t| match ctx.program.tensors[t].shape {
                    Shape::Map { c, .. } => c,
                    Shape::Flat(n) => n,
                })
                .collect();
            let Shape::Map { h, w, .. } = input_shape else {
                unreachable!("checked at build")
            };
            layout::concat(&all, &channels, batch * h * w, out);
        }
        StepOp::Flatten => match input_shape {
            Shape::Map { c, h, w } => layout::flatten_nchw(first, [c, h, w], out),
            Shape::Flat(_) => out.copy_from_slice(first),
        },
        StepOp::Linear(linear) => {
            float_conv::linear(first, batch, &linear.weight, &linear.bias, out)
        }
        StepOp::Upsample => {
            let Shape::Map { c, h, w } = input_shape else {
                unreachable!("checked at build")
            };
            let Shape::Map { h: oh, w: ow, .. } = ctx.program.tensors[step.output].shape else {
                unreachable!("checked at build")
            };
            layout::upsample_bilinear(first, c, [h, w], [oh, ow], out);
        }
    }
    Ok(())
}

/// Returns true for a pointwise conv whose input pixels are already its GEMM rows.
fn pointwise_in_place(conv: &PackedConv) -> bool {
    conv.geom.is_pointwise() && conv.geom.in_channels == conv.kp
}

/// Returns the implicit-GEMM kernel that an int8 packed conv runs with, if the set
/// has one and the geometry allows it.
fn implicit_kernel(kernels: &KernelSet, conv: &PackedConv) -> Option<ConvGemmFn> {
    let kernel = if is_binary(conv.encoding) {
        kernels.binary_u8_conv
    } else {
        kernels.ternary_u8_conv
    };
    kernel.filter(|_| !pointwise_in_place(conv) && implicit_conv::supports(&conv.geom))
}

/// Expands the weights of every int8 packed conv that runs with an
/// implicit-GEMM kernel, once per session. Returns one entry per step.
pub(crate) fn prepare_weights(
    file: &RprFile,
    program: &Program,
    layout: &Layout,
    kernels: &KernelSet,
) -> Result<Vec<Option<PreparedWeights>>, EngineError> {
    let prepare_step =
        |(index, step): (usize, &Step)| -> Result<Option<PreparedWeights>, EngineError> {
            let StepOp::PackedConv(conv) = &step.op else {
                return Ok(None);
            };
            let int8 = matches!(layout.conv_modes[index], Some(ConvMode::Int8 { .. }));
            let prepare = if is_binary(conv.encoding) {
                kernels.binary_u8_prepare
            } else {
                kernels.ternary_u8_prepare
            };
            let (true, Some(_), Some(prepare)) = (int8, implicit_kernel(kernels, conv), prepare)
            else {
                return Ok(None);
            };
            let weights = packed_weights(file, conv)?;
            let prepared = prepare(&weights).map_err(|source| EngineError::Kernel {
                node: step.node.clone(),
                source,
            })?;
            Ok(Some(prepared))
        };
    program.steps.iter().enumerate().map(prepare_step).collect()
}

fn packed_weights<'a>(
    file: &'a RprFile,
    conv: &'a PackedConv,
) -> Result<PackedView<'a>, EngineError> {
    match &conv.weights {
        PackedWeights::InFile(name) => Ok(file.packed(name)?),
        PackedWeights::Owned(matrix) => Ok(matrix.view()),
    }
}

#[allow(clippy::too_many_arguments)]
fn run_packed_conv(
    ctx: &Context<'_>,
    index: usize,
    step: &Step,
    conv: &PackedConv,
    mode: &ConvMode,
    inputs: &[Input<'_>],
    output: Output<'_>,
    scratch: &mut Scratch,
    tiling: Tiling,
    batch: usize,
) -> Result<(), EngineError> {
    // The second input of a conv with a fused residual Add.
    let residual = match inputs.get(1) {
        Some(input) => Some(input.f32(step)?),
        None => None,
    };
    let input = &inputs[0];
    let kernel_error = |source| EngineError::Kernel {
        node: step.node.clone(),
        source,
    };
    let weights = packed_weights(ctx.file, conv)?;
    let binary = is_binary(conv.encoding);
    let rows = batch * conv.geom.out_pixels();
    let residual = residual.map(|all| &all[..rows * conv.out_channels]);
    let pointwise_in_place = pointwise_in_place(conv);
    let prepared = ctx.prepared.get(index).and_then(Option::as_ref);
    let out_inv_scale = match ctx.layout.reprs[step.output] {
        Repr::U8 { scale } => 1.0 / scale,
        Repr::F32 => 1.0,
    };

    match mode {
        ConvMode::Int8 {
            input_scale,
            multiplier,
        } => {
            let call = PackedConvCall {
                geom: &conv.geom,
                rows,
                kp: conv.kp,
                weights,
                prepared,
                multiplier,
                bias: &conv.bias,
                relu: conv.relu,
                residual,
                tiling,
            };
            let gemm = if binary {
                ctx.kernels.binary_u8
            } else {
                ctx.kernels.ternary_u8
            };
            let Scratch {
                input_u8,
                cols_u8,
                acc_i32,
                ..
            } = scratch;
            let codes: &[u8] = match *input {
                Input::U8(data) => data,
                Input::F32(data) => {
                    let codes = &mut input_u8[..data.len()];
                    quantize_tensor(data, 1.0 / input_scale, codes);
                    codes
                }
            };
            let result = match implicit_kernel(ctx.kernels, conv) {
                Some(implicit) => match output {
                    Output::F32(out) => implicit_conv::implicit_conv(
                        &call, codes, implicit, gemm, cols_u8, acc_i32, out, 1.0,
                    ),
                    Output::U8(out) => implicit_conv::implicit_conv(
                        &call,
                        codes,
                        implicit,
                        gemm,
                        cols_u8,
                        acc_i32,
                        out,
                        out_inv_scale,
                    ),
                },
                None => {
                    let source = if pointwise_in_place {
                        Source::Rows(codes)
                    } else {
                        Source::Image(codes)
                    };
                    match output {
                        Output::F32(out) => {
                            packed_conv(&call, source, gemm, cols_u8, acc_i32, out, 1.0)
                        }
                        Output::U8(out) => {
                            packed_conv(&call, source, gemm, cols_u8, acc_i32, out, out_inv_scale)
                        }
                    }
                }
            };
            result.map_err(kernel_error)
        }
        ConvMode::F32 => {
            let call = PackedConvCall {
                geom: &conv.geom,
                rows,
                kp: conv.kp,
                weights,
                prepared: None,
                multiplier: &conv.scale,
                bias: &conv.bias,
                relu: conv.relu,
                residual,
                tiling,
            };
            let gemm = if binary {
                ctx.kernels.binary_f32
            } else {
                ctx.kernels.ternary_f32
            };
            let data = input.f32(step)?;
            let source = if pointwise_in_place {
                Source::Rows(data)
            } else {
                Source::Image(data)
            };
            let Output::F32(out) = output else {
                return Err(EngineError::invalid(
                    &step.node,
                    "internal error: an f32 conv writes a u8 tensor",
                ));
            };
            packed_conv(
                &call,
                source,
                gemm,
                &mut scratch.cols_f32,
                &mut scratch.acc_f32,
                out,
                1.0,
            )
            .map_err(kernel_error)
        }
    }
}
