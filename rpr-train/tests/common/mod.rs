//! Shared fixtures: a small CNN and Fashion-MNIST subsets.

#![allow(dead_code)]

use std::sync::{Arc, OnceLock};

use rpr_core::data::{load_fashion_mnist, Augment, Dataset, Normalization, Split};
use rpr_core::graph::{Conv2d, Model, Node, Op, INPUT};
use rpr_train::data::{DataSplits, DatasetKind};
use rpr_train::optim::OptimizerKind;
use rpr_train::train::{LrSchedule, TrainConfig};

/// Builds a four-convolution CNN for 1x28x28 inputs, small enough that a few
/// hundred images train in about a second in a debug build. Its residual add
/// makes the test graph more than a chain.
pub fn tiny_cnn() -> Model {
    let conv = |name: &str, input: &str, cin: usize, cout: usize, stride: usize| Node {
        name: name.into(),
        inputs: vec![input.into()],
        op: Op::Conv2d(Conv2d {
            in_channels: cin,
            out_channels: cout,
            kernel: [3, 3],
            stride: [stride, stride],
            padding: [1, 1],
            dilation: [1, 1],
            groups: 1,
            bias: false,
        }),
    };
    let bn = |name: &str, input: &str, channels: usize| Node {
        name: name.into(),
        inputs: vec![input.into()],
        op: Op::BatchNorm { channels, eps: 1e-5 },
    };
    let unary = |name: &str, input: &str, op: Op| Node { name: name.into(), inputs: vec![input.into()], op };
    let nodes = vec![
        conv("conv1", INPUT, 1, 8, 1),
        bn("bn1", "conv1", 8),
        unary("relu1", "bn1", Op::Relu),
        conv("layer1.conv1", "relu1", 8, 16, 2),
        bn("layer1.bn1", "layer1.conv1", 16),
        unary("layer1.relu1", "layer1.bn1", Op::Relu),
        conv("layer1.conv2", "layer1.relu1", 16, 16, 1),
        bn("layer1.bn2", "layer1.conv2", 16),
        Node { name: "layer1.add".into(), inputs: vec!["layer1.bn2".into(), "layer1.relu1".into()], op: Op::Add },
        unary("layer1.relu2", "layer1.add", Op::Relu),
        conv("layer2.conv1", "layer1.relu2", 16, 16, 2),
        bn("layer2.bn1", "layer2.conv1", 16),
        unary("layer2.relu1", "layer2.bn1", Op::Relu),
        unary("avgpool", "layer2.relu1", Op::GlobalAvgPool),
        unary("flatten", "avgpool", Op::Flatten),
        unary("fc", "flatten", Op::Linear { in_features: 16, out_features: 10, bias: true }),
    ];
    Model { name: "tiny_cnn".into(), input_shape: [1, 28, 28], nodes, output: "fc".into() }
}

/// Loads the Fashion-MNIST test split once per test binary.
fn fashion_mnist_test() -> Arc<Dataset> {
    static DATA: OnceLock<Arc<Dataset>> = OnceLock::new();
    DATA.get_or_init(|| {
        Arc::new(load_fashion_mnist(Split::Test, None).expect(
            "Fashion-MNIST is needed by these tests: install the Debian package dataset-fashion-mnist",
        ))
    })
    .clone()
}

/// Two disjoint fixed subsets of the Fashion-MNIST test split, used as
/// training and test data (loading the 10k-image split is faster than the
/// 60k-image one).
pub fn fashion_mnist_subsets(train: usize, test: usize) -> DataSplits {
    let all = fashion_mnist_test();
    let train_indices: Vec<usize> = (0..train).collect();
    let test_indices: Vec<usize> = (train..train + test).collect();
    DataSplits {
        train: Arc::new(all.select(&train_indices).unwrap()),
        test: Arc::new(all.select(&test_indices).unwrap()),
        normalization: Normalization::fashion_mnist(),
        augment: Some(Augment { pad: 2, flip: true }),
        kind: DatasetKind::FashionMnist,
    }
}

/// Quick-run settings: SGD, constant learning rate, batch 64, no progress bars.
pub fn quick_config(epochs: usize, lr: f64) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: 64,
        eval_batch_size: 250,
        lr,
        lr_schedule: LrSchedule::Constant,
        optimizer: OptimizerKind::Sgd { momentum: 0.9 },
        weight_decay: 5e-4,
        seed: 7,
        resume: false,
        stop_after_epochs: None,
        progress: false,
    }
}

/// Single-threaded libtorch with a fixed seed, so results are reproducible.
pub fn init_torch(seed: i64) {
    tch::set_num_threads(1);
    tch::manual_seed(seed);
}
