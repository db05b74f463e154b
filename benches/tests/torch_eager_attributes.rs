//! ONNX attributes that `scripts/torch_bench.py` must either map or reject.
//!
//! Each model is one Conv, sometimes followed by a pool or a Flatten, on a
//! 1x28x28 input. The script builds its PyTorch layers from the node's
//! attributes, so an attribute it ignores changes the output shape without
//! an error: `auto_pad`, MaxPool `dilations` and a Flatten `axis` other
//! than one. Each configuration must come back with an `error`, or with the
//! number of logit rows and columns that the ONNX operator definitions give.

use std::path::Path;

use rpr_benches::engines::script::{run_script, ScriptConfig};
use rpr_benches::process::PROCESS_TIMEOUT;
use rpr_benches::timing::Schedule;

mod common;

use common::{python_with, repo_root};

const BATCH: usize = 3;

/// Python script that writes the test models with the `onnx` package. Conv weights are 4x1x3x3.
const MAKE_MODELS: &str = r#"
import sys
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

out = sys.argv[1]
rng = np.random.default_rng(7)
weights = {
    "w": rng.standard_normal((4, 1, 3, 3)).astype(np.float32),
    "b": rng.standard_normal(4).astype(np.float32),
}

def save(name, nodes):
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 1, 28, 28])],
        [helper.make_value_info("y", helper.make_tensor_type_proto(TensorProto.FLOAT, None))],
        [numpy_helper.from_array(value, key) for key, value in weights.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, f"{out}/{name}.onnx")

save("conv_auto_pad", [helper.make_node("Conv", ["x", "w", "b"], ["y"], auto_pad="SAME_UPPER")])
save("maxpool_dilations", [
    helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
    helper.make_node("MaxPool", ["c"], ["y"], kernel_shape=[2, 2], dilations=[2, 2]),
])
save("flatten_axis_2", [
    helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
    helper.make_node("Flatten", ["c"], ["y"], axis=2),
])
"#;

/// Model name and the `[rows, columns]` of its output as ONNX defines it.
const CASES: [(&str, [usize; 2]); 3] = [
    // SAME_UPPER keeps 28x28 with a 3x3 kernel at stride 1.
    ("conv_auto_pad", [BATCH, 4 * 28 * 28]),
    // A 2x2 kernel with dilation 2 spans 3 pixels: 28 - 3 + 1 = 26.
    ("maxpool_dilations", [BATCH, 4 * 26 * 26]),
    // Flatten with axis 2 gives [N * C, H * W].
    ("flatten_axis_2", [BATCH * 4, 28 * 28]),
];

#[test]
fn ignored_onnx_attributes_are_rejected() {
    let Some(python) = python_with("torch, onnx") else { return };
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(&python)
        .args(["-c", MAKE_MODELS])
        .arg(dir.path())
        .status()
        .expect("python starts");
    assert!(status.success(), "the model script failed");

    let input = dir.path().join("input.f32");
    let values: Vec<u8> = (0..BATCH * 28 * 28)
        .flat_map(|i| ((i % 17) as f32 / 17.0 - 0.5).to_le_bytes())
        .collect();
    std::fs::write(&input, values).unwrap();

    let configs: Vec<ScriptConfig> = CASES
        .iter()
        .map(|(name, _)| ScriptConfig {
            id: (*name).to_string(),
            model: dir.path().join(format!("{name}.onnx")),
            threads: 1,
            input: input.clone(),
            shape: [BATCH, 1, 28, 28],
        })
        .collect();
    let schedule = Schedule { warmup: 0, rounds: 1, iterations_per_round: 1 };
    let script = repo_root().join("scripts/torch_bench.py");
    let response = run_script(&python, &script, dir.path(), &configs, &schedule, PROCESS_TIMEOUT)
        .expect("the script runs");

    let mut wrong = Vec::new();
    for (name, [rows, columns]) in CASES {
        let result = response
            .results
            .iter()
            .find(|result| result.id == name)
            .unwrap_or_else(|| panic!("no result for {name}"));
        if result.error.is_some() {
            continue;
        }
        let output = result.output.as_ref().unwrap_or_else(|| panic!("{name}: no error and no output"));
        let shape = [output.len(), output.first().map_or(0, Vec::len)];
        if shape != [rows, columns] {
            wrong.push(format!("{name}: output {shape:?}, expected {:?}", [rows, columns]));
        }
    }
    assert!(wrong.is_empty(), "outputs with no error and the wrong shape: {wrong:#?}");
}

#[test]
fn torch_script_error_names_pytorch() {
    let dir = tempfile::tempdir().unwrap();
    let script = repo_root().join("scripts/torch_bench.py");
    let schedule = Schedule { warmup: 0, rounds: 1, iterations_per_round: 1 };
    let error = run_script(Path::new("/bin/false"), &script, dir.path(), &[], &schedule, PROCESS_TIMEOUT)
        .expect_err("/bin/false exits with status 1");
    let message = error.to_string();
    assert!(message.contains("torch_bench.py"), "{message}");
    // The compare table shows this message in the PyTorch eager rows.
    assert!(!message.contains("ONNX Runtime"), "{message}");
}
