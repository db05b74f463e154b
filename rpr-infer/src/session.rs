//! Sessions: a thread pool, a kernel set, per-precision decisions and reusable buffers.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use ndarray::{s, Array2, ArrayView4, Axis, Slice};
use rayon::prelude::*;

use crate::chunks::GuidedChunks;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::exec::{execute, prepare_weights, Arena, Context};
use crate::kernels::{kernel_set, kernels, Isa, KernelSet, PreparedWeights};
use crate::plan::{Fallback, Layout};

/// Activation precision of the packed convolutions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Precision {
    /// u8 activations (zero point 0, calibrated per-tensor scale) and i32 accumulation. A layer
    /// whose input may be negative or has no calibration runs in f32 instead.
    #[default]
    Int8,
    /// f32 activations through add/sub kernels, matching the float evaluation of the quantized
    /// network up to summation order.
    F32,
}

impl std::str::FromStr for Precision {
    type Err = EngineError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "int8" => Ok(Precision::Int8),
            "f32" => Ok(Precision::F32),
            other => Err(EngineError::Options(format!(
                "unknown precision `{other}`; use `int8` or `f32`"
            ))),
        }
    }
}

/// Largest thread count a session accepts. Every thread gets its own scratch buffers, and a pool
/// of a thousand threads already made a batch-1 ResNet-20 run take seconds on 2 cores.
pub const MAX_THREADS: usize = 1024;

/// Options of a [`Session`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionOptions {
    pub precision: Precision,
    /// Worker threads of the session's own pool; 0 means one per available CPU, and at most
    /// [`MAX_THREADS`].
    pub threads: usize,
    /// Batch size to plan buffers for at creation; other sizes are planned on first use.
    pub batch: usize,
    /// Kernel instruction set; `None` uses the process-wide choice (`RPR_INFER_KERNEL` or detection).
    pub isa: Option<Isa>,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            precision: Precision::Int8,
            threads: 1,
            batch: 1,
            isa: None,
        }
    }
}

/// Runs one engine with fixed options. Not shareable across threads at once (`run` takes
/// `&mut self`); create one session per concurrent caller.
pub struct Session {
    engine: Engine,
    options: SessionOptions,
    threads: usize,
    pool: rayon::ThreadPool,
    kernels: KernelSet,
    layout: Layout,
    /// Per step, packed weights expanded once for the implicit-GEMM kernels.
    prepared: Vec<Option<PreparedWeights>>,
    plans: HashMap<usize, BatchPlan>,
}

/// Buffers for one batch size, and how the batch is split over the threads.
enum BatchPlan {
    /// Every step splits its own rows over the threads, with one join per step. Used when the
    /// batch has fewer images than threads, or when an uneven split would idle a thread.
    Layers(Box<Arena>),
    /// Threads claim chunks of images ([`GuidedChunks`]) and run the whole network on each
    /// chunk in their own arena, so they do not synchronize between steps.
    Images(Vec<Arena>),
}

impl BatchPlan {
    fn new(
        program: &crate::program::Program,
        layout: &Layout,
        batch: usize,
        threads: usize,
    ) -> Result<Self, EngineError> {
        if !split_by_images(batch, threads) {
            return Ok(BatchPlan::Layers(Box::new(Arena::new(
                program, layout, batch, threads,
            )?)));
        }
        // Each chunk runs on one thread, so its steps use the single-thread tiling.
        let chunk = GuidedChunks::max_len(batch, threads);
        let arenas = (0..threads)
            .map(|_| Arena::new(program, layout, chunk, 1))
            .collect::<Result<_, _>>()?;
        Ok(BatchPlan::Images(arenas))
    }
}

/// Returns true when the threads should split `batch` by images rather than split every
/// step's rows. An even split needs at least one image per thread. An uneven one needs 4 images
/// per thread, because with fewer the last chunks would leave threads idle for more than a
/// quarter of the run.
fn split_by_images(batch: usize, threads: usize) -> bool {
    let even = batch.is_multiple_of(threads.max(1));
    threads > 1 && batch >= threads && (even || batch >= 4 * threads)
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("options", &self.options)
            .field("threads", &self.threads)
            .finish()
    }
}

impl Session {
    /// Creates a session, its thread pool and the buffers for `options.batch`.
    pub fn new(engine: &Engine, options: SessionOptions) -> Result<Self, EngineError> {
        let threads = match options.threads {
            0 => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            n if n > MAX_THREADS => {
                return Err(EngineError::Options(format!(
                "{n} threads is above the maximum of {MAX_THREADS}; pass 0 for one thread per CPU"
            )))
            }
            n => n,
        };
        if options.batch == 0 {
            return Err(EngineError::Options("batch must be at least 1".into()));
        }
        let kernels = match options.isa {
            None => *kernels(),
            Some(isa) => kernel_set(isa).ok_or_else(|| {
                EngineError::Options(format!(
                    "this CPU does not support the `{}` kernels",
                    isa.name()
                ))
            })?,
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("rpr-infer-{i}"))
            .build()
            .map_err(|source| EngineError::ThreadPool { threads, source })?;

        let program = &engine.inner.program;
        let layout = Layout::new(program, options.precision);
        for (node, reason) in &layout.fallbacks {
            let reason = match reason {
                Fallback::SignedInput => "its input may be negative",
                Fallback::NotCalibrated => {
                    "the file has no activation scale for its input; export with --calibrate"
                }
            };
            tracing::warn!(node = %node, "packed conv runs on f32 activations: {reason}");
        }
        let (int8, packed) = layout.int8_counts();
        tracing::info!(precision = ?options.precision, threads, kernels = kernels.isa.name(), int8, packed, "session created");

        let prepared = prepare_weights(&engine.inner.file, program, &layout, &kernels)?;
        let prepared_bytes: usize = prepared.iter().flatten().map(PreparedWeights::bytes).sum();
        tracing::debug!(
            prepared_bytes,
            "expanded weight codes for the implicit-GEMM kernels"
        );

        let mut session = Self {
            engine: engine.clone(),
            options,
            threads,
            pool,
            kernels,
            layout,
            prepared,
            plans: HashMap::new(),
        };
        let batch = session.options.batch;
        let program = &session.engine.inner.program;
        session.plans.insert(
            batch,
            BatchPlan::new(program, &session.layout, batch, threads)?,
        );
        Ok(session)
    }

    /// Returns the options the session was created with.
    pub fn options(&self) -> &SessionOptions {
        &self.options
    }

    /// Returns the engine this session runs.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Threads of the session's pool.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Returns the kernel set this session calls.
    pub fn kernels(&self) -> &KernelSet {
        &self.kernels
    }

    /// Packed convs on u8 activations and all packed convs, for reports.
    pub fn int8_layers(&self) -> (usize, usize) {
        self.layout.int8_counts()
    }

    /// Runs a batch given as NCHW f32 (already normalized) and returns the logits `[n, classes]`.
    pub fn run(&mut self, input: ArrayView4<'_, f32>) -> Result<Array2<f32>, EngineError> {
        let [c, h, w] = self.engine.input_shape();
        let (n, ic, ih, iw) = input.dim();
        if n == 0 || (ic, ih, iw) != (c, h, w) {
            return Err(EngineError::Input(format!(
                "input has shape [{n}, {ic}, {ih}, {iw}], expected [n >= 1, {c}, {h}, {w}]"
            )));
        }
        if let Some((index, value)) = input.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(EngineError::Input(format!(
                "input value at flat index {index} is {value}"
            )));
        }

        let Self {
            engine,
            threads,
            pool,
            kernels,
            layout,
            prepared,
            plans,
            ..
        } = self;
        let program = &engine.inner.program;
        let plan = match plans.entry(n) {
            std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::hash_map::Entry::Vacant(entry) => {
                entry.insert(BatchPlan::new(program, layout, n, *threads)?)
            }
        };
        let ctx = Context {
            file: &engine.inner.file,
            program,
            layout,
            kernels,
            prepared,
        };
        match plan {
            BatchPlan::Layers(arena) => {
                arena.write_input(program, layout, input);
                // With one thread the calling thread runs the steps itself,
                // which saves the hand-off to a pool thread and back (about
                // 5% of a batch-1 ResNet-20 run). On a thread of some rayon
                // pool it still installs the session's own pool, so that the
                // steps do not fan out over the caller's pool.
                if *threads == 1 && rayon::current_thread_index().is_none() {
                    execute(&ctx, arena)?;
                } else {
                    pool.install(|| execute(&ctx, arena))?;
                }
                Ok(arena.read_output(program, layout))
            }
            BatchPlan::Images(arenas) => {
                let chunks = GuidedChunks::new(n, arenas.len());
                let classes = program.tensors[program.output].shape.len();
                let logits = Mutex::new(Array2::<f32>::zeros((n, classes)));
                pool.install(|| {
                    arenas.par_iter_mut().try_for_each(|arena| {
                        while let Some(range) = chunks.claim() {
                            arena.set_batch(range.len());
                            let images = input.slice_axis(Axis(0), Slice::from(range.clone()));
                            arena.write_input(program, layout, images);
                            if let Err(error) = execute(&ctx, arena) {
                                chunks.cancel();
                                return Err(error);
                            }

                            let part = arena.read_output(program, layout);
                            let mut logits = logits.lock().unwrap_or_else(PoisonError::into_inner);
                            logits.slice_mut(s![range, ..]).assign(&part);
                        }
                        Ok(())
                    })
                })?;
                Ok(logits.into_inner().unwrap_or_else(PoisonError::into_inner))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::split_by_images;

    #[test]
    fn even_batches_split_by_images() {
        assert!(split_by_images(64, 2));
        assert!(split_by_images(2, 2));
        assert!(split_by_images(6, 3));
    }

    #[test]
    fn uneven_batches_need_four_per_thread() {
        assert!(split_by_images(9, 2));
        assert!(!split_by_images(3, 2));
        assert!(!split_by_images(7, 2));
    }

    #[test]
    fn small_batches_split_by_rows() {
        assert!(!split_by_images(1, 2));
        assert!(!split_by_images(64, 1));
    }
}
