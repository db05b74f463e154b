//! Sessions: a thread pool, a kernel set, per-precision decisions and reusable buffers.

use std::collections::HashMap;

use ndarray::{Array2, ArrayView4};

use crate::engine::Engine;
use crate::error::EngineError;
use crate::exec::{execute, Arena, Context};
use crate::kernels::{kernel_set, kernels, Isa, KernelSet};
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
            other => Err(EngineError::Options(format!("unknown precision `{other}`; use `int8` or `f32`"))),
        }
    }
}

/// Options of a [`Session`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionOptions {
    pub precision: Precision,
    /// Worker threads of the session's own pool; 0 means one per available CPU.
    pub threads: usize,
    /// Batch size to plan buffers for at creation; other sizes are planned on first use.
    pub batch: usize,
    /// Kernel instruction set; `None` uses the process-wide choice (`RPR_INFER_KERNEL` or detection).
    pub isa: Option<Isa>,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self { precision: Precision::Int8, threads: 1, batch: 1, isa: None }
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
    arenas: HashMap<usize, Arena>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("options", &self.options).field("threads", &self.threads).finish()
    }
}

impl Session {
    /// Creates a session, its thread pool and the buffers for `options.batch`.
    pub fn new(engine: &Engine, options: SessionOptions) -> Result<Self, EngineError> {
        let threads = match options.threads {
            0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            n => n,
        };
        if options.batch == 0 {
            return Err(EngineError::Options("batch must be at least 1".into()));
        }
        let kernels = match options.isa {
            None => *kernels(),
            Some(isa) => kernel_set(isa)
                .ok_or_else(|| EngineError::Options(format!("this CPU does not support the `{}` kernels", isa.name())))?,
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
                Fallback::NotCalibrated => "the file has no activation scale for its input; export with --calibrate",
            };
            tracing::warn!(node = %node, "packed conv runs on f32 activations: {reason}");
        }
        let (int8, packed) = layout.int8_counts();
        tracing::info!(precision = ?options.precision, threads, kernels = kernels.isa.name(), int8, packed, "session created");

        let mut session = Self { engine: engine.clone(), options, threads, pool, kernels, layout, arenas: HashMap::new() };
        let batch = session.options.batch;
        session.arena(batch);
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

    fn arena(&mut self, batch: usize) -> &mut Arena {
        let program = &self.engine.inner.program;
        let (layout, threads) = (&self.layout, self.threads);
        self.arenas.entry(batch).or_insert_with(|| Arena::new(program, layout, batch, threads))
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
            return Err(EngineError::Input(format!("input value at flat index {index} is {value}")));
        }

        let Self { engine, threads, pool, kernels, layout, arenas, .. } = self;
        let program = &engine.inner.program;
        let arena = arenas.entry(n).or_insert_with(|| Arena::new(program, layout, n, *threads));
        arena.write_input(program, layout, input);
        let ctx = Context { file: &engine.inner.file, program, layout, kernels };
        pool.install(|| execute(&ctx, arena))?;
        Ok(arena.read_output(program, layout))
    }
}
