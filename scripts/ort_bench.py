#!/usr/bin/env python3
"""Time ONNX Runtime sessions for the engine comparison (scripts/compare.sh).

The harness sends three models of each network: rpr-export's float file,
rpr-export's QDQ int8 file, and the int8 model that scripts/ort_quantize.py
makes with ONNX Runtime's quantize_static. It sends one configuration per
request and starts this script anew for every round, so ONNX Runtime's
thread pool never outlives its own measurement. scripts/bench_protocol.py
describes the request and the response.
"""

import bench_protocol


def make_session(ort, model, threads):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])


def main():
    import onnxruntime as ort

    def load(model, threads, batch):
        session = make_session(ort, model, threads)
        feeds = {session.get_inputs()[0].name: batch}
        return lambda: session.run(None, feeds)[0]

    bench_protocol.serve(__doc__.splitlines()[0], "onnxruntime", ort.__version__, load)


if __name__ == "__main__":
    main()
