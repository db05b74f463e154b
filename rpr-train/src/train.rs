//! The training loop shared by float pretraining and quantized retraining.

use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use rpr_core::checkpoint::{Checkpoint, LayerQuant, QuantSpec};
use tch::Tensor;

use crate::data::DataSplits;
use crate::error::{Result, TrainError};
use crate::eval::{count_correct, evaluate, Accuracy};
use crate::method::{bits_name, Method, QuantSetup};
use crate::metrics::{write_metrics_csv, EpochMetrics, Report};
use crate::net::{BatchNormMode, Network, WeightOverrides};
use crate::optim::{Optimizer, OptimizerKind};
use crate::plot::plot_run;
use crate::quantized::{check_levels, QuantizedLayers, WeightMode};
use crate::state::{self, TrainState};

/// Learning-rate schedule over all steps of the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LrSchedule {
    /// `lr * (1 + cos(pi * step / total)) / 2`.
    Cosine,
    Constant,
}

impl LrSchedule {
    /// Learning rate at `step` of `total` steps.
    pub fn at(self, base: f64, step: usize, total: usize) -> f64 {
        match self {
            LrSchedule::Constant => base,
            LrSchedule::Cosine => {
                let t = step as f64 / total.max(1) as f64;
                base * 0.5 * (1.0 + (std::f64::consts::PI * t.min(1.0)).cos())
            }
        }
    }
}

/// Optimization settings common to all methods.
#[derive(Clone, Debug)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub eval_batch_size: usize,
    pub lr: f64,
    pub lr_schedule: LrSchedule,
    pub optimizer: OptimizerKind,
    pub weight_decay: f64,
    /// Seeds data order, augmentation and partitions.
    pub seed: u64,
    /// Continue from the training state in the output directory.
    pub resume: bool,
    /// Stop, resumably, once this many epochs are complete.
    pub stop_after_epochs: Option<usize>,
    /// Show indicatif progress bars.
    pub progress: bool,
}

/// Names recorded in the report.
#[derive(Clone, Debug)]
pub struct RunInfo {
    pub dataset: String,
    pub command: String,
}

/// Result of [`run`].
#[derive(Debug)]
pub enum Outcome {
    /// All epochs ran; the checkpoint and report are written.
    Finished(Box<Report>),
    /// `stop_after_epochs` was reached; resume to continue.
    Stopped { epochs_done: usize },
}

/// Trains `net` in place and writes the output directory `out`: float
/// pretraining when `quant` is `None`, otherwise the quantized retraining
/// method it names.
pub fn run(
    net: &Network,
    data: &DataSplits,
    cfg: &TrainConfig,
    quant: Option<&QuantSetup>,
    info: &RunInfo,
    out: &Path,
) -> Result<Outcome> {
    std::fs::create_dir_all(out).map_err(TrainError::io(format!("creating {}", out.display())))?;
    let mut session = Session::start(net, data, cfg, quant, info, out)?;
    if quant.map(|q| q.method) == Some(Method::Ptq) {
        return session.post_training_quantization().map(|r| Outcome::Finished(Box::new(r)));
    }
    while session.state.epochs_done < cfg.epochs {
        session.train_epoch()?;
        if cfg.stop_after_epochs.is_some_and(|stop| session.state.epochs_done >= stop)
            && session.state.epochs_done < cfg.epochs
        {
            tracing::info!(epochs_done = session.state.epochs_done, "stopping early; rerun with --resume to continue");
            return Ok(Outcome::Stopped { epochs_done: session.state.epochs_done });
        }
    }
    session.finish().map(|r| Outcome::Finished(Box::new(r)))
}

struct Session<'a> {
    net: &'a Network,
    data: &'a DataSplits,
    cfg: &'a TrainConfig,
    setup: Option<&'a QuantSetup>,
    info: &'a RunInfo,
    out: PathBuf,
    layers: Option<QuantizedLayers>,
    optimizer: Optimizer,
    state: TrainState,
    steps_per_epoch: usize,
    /// Seconds spent in the final quantization and evaluation.
    finish_seconds: f64,
}

impl<'a> Session<'a> {
    fn start(
        net: &'a Network,
        data: &'a DataSplits,
        cfg: &'a TrainConfig,
        setup: Option<&'a QuantSetup>,
        info: &'a RunInfo,
        out: &Path,
    ) -> Result<Self> {
        if cfg.batch_size == 0 || cfg.eval_batch_size == 0 {
            return Err(TrainError::Config("batch sizes must be at least 1".into()));
        }
        if !(cfg.lr.is_finite() && cfg.lr > 0.0) {
            return Err(TrainError::Config(format!("learning rate {} must be positive and finite", cfg.lr)));
        }

        let method_name = setup.map(|s| s.method.as_str()).unwrap_or("float");
        let bits = setup.map(|s| bits_name(s.quant.bits)).unwrap_or("float");
        let mut state = TrainState::new(&net.model().name, method_name, bits, cfg.seed);
        let optimizer = Optimizer::new(cfg.optimizer, cfg.weight_decay, net.trainable());

        let mut layers = None;
        if let Some(setup) = setup {
            if !cfg.resume {
                let fp = evaluate(net, data, &WeightOverrides::new(), cfg.eval_batch_size)?;
                tracing::info!(fp_top1 = fp.top1(), "float starting point");
                state.fp_top1 = Some(fp.top1());
            }
            // Scales come from the pretrained weights; on resume the latent
            // weights are loaded after this, so the scales are recomputed
            // from the same starting checkpoint.
            let mut q = QuantizedLayers::new(net, setup.policy, &setup.quant)?;
            if setup.method == Method::Inq {
                q.relax_all();
            }
            layers = Some(q);
        }

        let train_len = data.train.len();
        let mut steps_per_epoch = train_len.div_ceil(cfg.batch_size);
        if train_len % cfg.batch_size == 1 && train_len > 1 {
            steps_per_epoch = (train_len - 1).div_ceil(cfg.batch_size);
        }

        let mut session = Self {
            net,
            data,
            cfg,
            setup,
            info,
            out: out.to_path_buf(),
            layers,
            optimizer,
            state,
            steps_per_epoch,
            finish_seconds: 0.0,
        };
        if cfg.resume {
            session.resume()?;
        }
        Ok(session)
    }

    fn resume(&mut self) -> Result<()> {
        let saved = state::read(&self.out)?;
        saved.check_matches(&self.state, &self.out)?;
        state::load(&self.out, &saved, self.net, &mut self.optimizer, self.layers.as_mut())?;

        tracing::info!(epochs_done = saved.epochs_done, dir = %self.out.display(), "resuming");
        self.state = saved;
        if let Some(layers) = &self.layers {
            for layer in &layers.layers {
                self.optimizer.set_mask(&layer.weight_key, Some(layer.update_mask()))?;
            }
        }
        Ok(())
    }

    fn method(&self) -> Option<Method> {
        self.setup.map(|s| s.method)
    }

    /// Partitions or freezes at the start of an epoch, as the method requires.
    fn begin_epoch(&mut self, epoch: usize) -> Result<()> {
        let Some(setup) = self.setup else { return Ok(()) };
        let Some(layers) = self.layers.as_mut() else { return Ok(()) };
        match setup.method {
            Method::Rpr => {
                let ff = setup.schedule.ff_at(epoch);
                let due = setup.repartition_every.is_none() || self.state.current_ff != Some(ff);
                if due {
                    self.partition(ff)?;
                }
            }
            Method::Inq => {
                let target = setup.schedule.ff_at(epoch);
                if self.state.current_ff != Some(target) {
                    layers.freeze_by_magnitude(self.net, target)?;
                    self.state.current_ff = Some(target);
                    self.after_partition()?;
                }
            }
            Method::Ste | Method::Ptq => {}
        }
        Ok(())
    }

    /// RPR partition step: re-quantize from the latent weights and draw a
    /// new relaxed set with `round((1 - ff) * n)` entries per layer.
    fn partition(&mut self, ff: f32) -> Result<()> {
        let Some(layers) = self.layers.as_mut() else { return Ok(()) };
        layers.repartition(self.net, ff, self.cfg.seed, self.state.partition_step)?;
        self.state.partition_step += 1;
        self.state.current_ff = Some(ff);
        self.after_partition()
    }

    fn after_partition(&mut self) -> Result<()> {
        let (Some(setup), Some(layers)) = (self.setup, self.layers.as_ref()) else { return Ok(()) };
        for layer in &layers.layers {
            self.optimizer.set_mask(&layer.weight_key, Some(layer.update_mask()))?;
        }
        if setup.clear_optimizer_state {
            self.optimizer.clear_state();
        }
        Ok(())
    }

    fn overrides(&self) -> Result<WeightOverrides> {
        match (&self.layers, self.method()) {
            (Some(layers), Some(Method::Ste)) => layers.overrides(self.net, WeightMode::StraightThrough),
            (Some(layers), _) => layers.overrides(self.net, WeightMode::Partitioned),
            (None, _) => Ok(WeightOverrides::new()),
        }
    }

    fn total_steps(&self) -> usize {
        self.steps_per_epoch * self.cfg.epochs
    }

    fn train_epoch(&mut self) -> Result<()> {
        let epoch = self.state.epochs_done;
        let started = Instant::now();
        self.begin_epoch(epoch)?;
        let lr_first = self.cfg.lr_schedule.at(self.cfg.lr, self.state.global_step, self.total_steps());

        let batches = self.data.train_batches(self.cfg.batch_size, self.cfg.seed, epoch);
        let label = format!("epoch {}/{}", epoch + 1, self.cfg.epochs);
        let bar = progress_bar(self.cfg.progress, batches.batches as u64, label);
        let mut loss_sum = 0.0;
        let mut correct = 0usize;
        let mut seen = 0usize;
        for (step_in_epoch, batch) in batches.enumerate() {
            let batch = batch?;
            if step_in_epoch > 0 {
                self.repartition_if_due(epoch)?;
            }

            let lr = self.cfg.lr_schedule.at(self.cfg.lr, self.state.global_step, self.total_steps());
            let images = batch.images.to_device(self.net.device());
            let labels = batch.labels.to_device(self.net.device());
            let overrides = self.overrides()?;
            let step = training_step(self.net, &overrides, &mut self.optimizer, &images, &labels, lr)?;
            if !step.loss.is_finite() {
                bar.abandon();
                return Err(TrainError::Diverged { epoch, step: step_in_epoch, loss: step.loss });
            }

            loss_sum += step.loss * batch.len as f64;
            correct += count_correct(&step.logits, &labels)?.0;
            seen += batch.len;
            self.state.global_step += 1;
            bar.inc(1);
            bar.set_message(format!("loss {:.4}", loss_sum / seen.max(1) as f64));
        }
        bar.finish_and_clear();

        let test = evaluate(self.net, self.data, &self.overrides()?, self.cfg.eval_batch_size)?;
        let straight_through = self.method() == Some(Method::Ste);
        let ff = self.layers.as_ref().filter(|_| !straight_through).map(QuantizedLayers::frozen_fraction);
        let row = EpochMetrics {
            epoch,
            loss: loss_sum / seen.max(1) as f64,
            train_acc: correct as f64 / seen.max(1) as f64,
            test_acc: test.top1(),
            ff,
            lr: lr_first,
            seconds: started.elapsed().as_secs_f64(),
        };
        tracing::info!(
            epoch = epoch + 1,
            epochs = self.cfg.epochs,
            loss = row.loss,
            train_acc = row.train_acc,
            test_acc = row.test_acc,
            ff = ?row.ff,
            lr = row.lr,
            seconds = row.seconds,
            "epoch done"
        );
        self.state.metrics.push(row);
        self.state.epochs_done += 1;
        self.state.seconds += started.elapsed().as_secs_f64();
        self.write_epoch_outputs()
    }

    /// Draws a new RPR partition when `--repartition-every` steps have passed.
    fn repartition_if_due(&mut self, epoch: usize) -> Result<()> {
        let Some(setup) = self.setup else { return Ok(()) };
        let Some(every) = setup.repartition_every else { return Ok(()) };
        if setup.method == Method::Rpr && self.state.global_step.is_multiple_of(every.max(1)) {
            self.partition(setup.schedule.ff_at(epoch))?;
        }
        Ok(())
    }

    fn write_epoch_outputs(&mut self) -> Result<()> {
        write_metrics_csv(&self.out.join("metrics.csv"), &self.state.metrics)?;
        if let Err(e) = plot_run(&self.out.join("training.png"), &self.title(), &self.state.metrics, self.state.fp_top1) {
            tracing::warn!(error = %e, "could not draw the training plot");
        }
        if self.layers.is_none() {
            // A float run's checkpoint is valid after every epoch.
            self.save_checkpoint()?;
        }
        state::save(&self.out, &self.state, self.net, &self.optimizer, self.layers.as_ref())
    }

    fn title(&self) -> String {
        let what = if self.layers.is_none() {
            "float training".to_string()
        } else {
            format!("{} {}", self.state.method, self.state.bits)
        };
        format!("{} on {}: {what}", self.net.model().name, self.info.dataset)
    }

    /// Writes the checkpoint directory: effective weights `s * code` for the
    /// quantized layers (after checking every value is on a level) and
    /// `quant.json` with their scales.
    fn save_checkpoint(&self) -> Result<()> {
        let mut tensors = self.net.to_tensors()?;
        let quant = match &self.layers {
            None => None,
            Some(layers) => {
                for layer in &layers.layers {
                    let shape = tensors[&layer.weight_key].raw_dim();
                    let values = ndarray::ArrayD::from_shape_vec(shape, layer.quantized_values())
                        .map_err(|e| TrainError::Model(format!("layer `{}`: {e}", layer.node)))?;
                    tensors.insert(layer.weight_key.clone(), values);
                }
                check_levels(layers, &tensors)?;
                let spec = QuantSpec {
                    bits: layers.bits,
                    granularity: layers.granularity,
                    layers: layers
                        .layers
                        .iter()
                        .map(|l| (l.node.clone(), LayerQuant { scales: l.scales.clone() }))
                        .collect(),
                };
                Some(spec)
            }
        };
        let checkpoint = Checkpoint { model: self.net.model().clone(), quant, tensors };
        checkpoint.save(&self.out)?;
        Ok(())
    }

    /// Quantizes what is still relaxed, evaluates, and writes the
    /// checkpoint, report and plot.
    fn finish(&mut self) -> Result<Report> {
        let started = Instant::now();
        let straight_through = self.method() == Some(Method::Ste);
        if let Some(layers) = self.layers.as_mut() {
            let needs_quantization = straight_through
                || layers.layers.iter().any(|l| l.relaxed_entries() > 0);
            if needs_quantization {
                tracing::info!("quantizing the remaining relaxed weights from their latent values");
                layers.quantize_all(self.net)?;
            }
        }
        let final_overrides = match &self.layers {
            Some(layers) => layers.overrides(self.net, WeightMode::Partitioned)?,
            None => WeightOverrides::new(),
        };
        let accuracy = evaluate(self.net, self.data, &final_overrides, self.cfg.eval_batch_size)?;
        self.save_checkpoint()?;
        self.finish_seconds = started.elapsed().as_secs_f64();
        let report = self.report(&accuracy);
        report.write(&self.out.join(crate::metrics::REPORT_JSON))?;
        tracing::info!(top1 = report.top1, top5 = report.top5, correct = report.correct, dir = %self.out.display(), "run finished");
        Ok(report)
    }

    fn report(&self, accuracy: &Accuracy) -> Report {
        let schedule = match self.setup {
            Some(s) if matches!(s.method, Method::Rpr | Method::Inq) => Some(s.schedule.to_string()),
            _ => None,
        };
        Report {
            model: self.net.model().name.clone(),
            dataset: self.info.dataset.clone(),
            method: self.state.method.clone(),
            bits: self.state.bits.clone(),
            fp_top1: self.state.fp_top1,
            top1: accuracy.top1(),
            top5: accuracy.top5(),
            correct: accuracy.correct,
            test_images: accuracy.images,
            train_images: self.data.train.len(),
            epochs: self.state.epochs_done,
            ff_schedule: schedule,
            optimizer: self.cfg.optimizer.name().into(),
            lr: self.cfg.lr,
            batch_size: self.cfg.batch_size,
            seed: self.cfg.seed,
            seconds: self.state.seconds + self.finish_seconds,
            command: self.info.command.clone(),
        }
    }

    /// PTQ: all weights quantized, BatchNorm running statistics re-estimated
    /// as the plain average over `calibration_batches` training batches.
    fn post_training_quantization(&mut self) -> Result<Report> {
        let started = Instant::now();
        let calibration = self.setup.map(|s| s.calibration_batches).unwrap_or(0);
        if calibration == 0 {
            return Err(TrainError::Config(
                "post-training quantization needs at least one calibration batch".into(),
            ));
        }
        let overrides = self.overrides()?;
        self.net.reset_batch_norm_statistics();

        let mut loss_sum = 0.0;
        let mut correct = 0;
        let mut seen = 0;
        {
            let _guard = tch::no_grad_guard();
            for (k, batch) in self.data.train_batches_in_order(self.cfg.batch_size).take(calibration).enumerate() {
                let batch = batch?;
                // Momentum 1/(k+1) makes the running statistics the plain
                // mean over all calibration batches.
                let mode = BatchNormMode::Train { momentum: 1.0 / (k as f64 + 1.0) };
                let images = batch.images.to_device(self.net.device());
                let labels = batch.labels.to_device(self.net.device());
                let logits = self.net.forward(&images, mode, &overrides)?;
                let loss = cross_entropy(&logits, &labels)?;
                loss_sum += f64::try_from(&loss).unwrap_or(f64::NAN) * batch.len as f64;
                correct += count_correct(&logits, &labels)?.0;
                seen += batch.len;
            }
        }

        let accuracy = evaluate(self.net, self.data, &overrides, self.cfg.eval_batch_size)?;
        let row = EpochMetrics {
            epoch: 0,
            loss: loss_sum / seen.max(1) as f64,
            train_acc: correct as f64 / seen.max(1) as f64,
            test_acc: accuracy.top1(),
            ff: Some(1.0),
            lr: 0.0,
            seconds: started.elapsed().as_secs_f64(),
        };
        self.state.metrics.push(row);
        self.state.seconds += started.elapsed().as_secs_f64();

        write_metrics_csv(&self.out.join("metrics.csv"), &self.state.metrics)?;
        if let Err(e) = plot_run(&self.out.join("training.png"), &self.title(), &self.state.metrics, self.state.fp_top1) {
            tracing::warn!(error = %e, "could not draw the training plot");
        }
        self.save_checkpoint()?;
        let report = self.report(&accuracy);
        report.write(&self.out.join(crate::metrics::REPORT_JSON))?;
        tracing::info!(top1 = report.top1, calibration_images = seen, "post-training quantization finished");
        Ok(report)
    }
}

/// Loss and logits of one training step.
pub struct StepOutput {
    /// Mean cross-entropy of the batch, before the update.
    pub loss: f64,
    /// Logits of the batch, detached from the graph.
    pub logits: Tensor,
}

/// Runs one optimization step: forward in training mode with `overrides` as
/// the effective weights, cross-entropy, backward pass and optimizer update.
/// A NaN or infinite loss skips the update and is returned for the caller to
/// reject.
pub fn training_step(
    net: &Network,
    overrides: &WeightOverrides,
    optimizer: &mut Optimizer,
    images: &Tensor,
    labels: &Tensor,
    lr: f64,
) -> Result<StepOutput> {
    let logits = net.forward(images, BatchNormMode::TRAIN, overrides)?;
    let loss = cross_entropy(&logits, labels)?;
    let loss_value = f64::try_from(&loss).map_err(TrainError::torch("reading the loss"))?;
    if loss_value.is_finite() {
        optimizer.zero_grad();
        loss.f_backward().map_err(TrainError::torch("backward pass"))?;
        optimizer.step(lr)?;
    }
    Ok(StepOutput { loss: loss_value, logits: logits.detach() })
}

fn progress_bar(visible: bool, len: u64, prefix: String) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    let style = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} ETA {eta}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(prefix);
    bar
}

/// Mean cross-entropy of logits `[n, classes]` against i64 labels `[n]`.
fn cross_entropy(logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
    logits
        .f_cross_entropy_loss::<Tensor>(labels, None, tch::Reduction::Mean, -100, 0.0)
        .map_err(TrainError::torch("cross-entropy"))
}
