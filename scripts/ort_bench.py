#!/usr/bin/env python3
"""Time ONNX Runtime sessions for the engine comparison (scripts/compare.sh).

Reads a JSON request (file argument, or stdin with "-") and prints one JSON
object on stdout, so the Rust harness can put ONNX Runtime next to the engines
it times in worker processes. The harness sends three models of each network:
rpr-export's float file, rpr-export's QDQ int8 file, and the int8 model that
scripts/ort_quantize.py makes with ONNX Runtime's quantize_static. The harness sends one configuration per request
and starts this script anew for every round, so ONNX Runtime's thread pool
never outlives its own measurement. Request fields:

    warmup, rounds, iterations_per_round: the timing schedule. With several
        configurations, every round times each of them in turn. The first
        warm-up run returns the logits, so even a warmup of 0 runs once.
    configs: list of {id, model, threads, input, shape}; `input` is a raw
        little-endian f32 file holding an NCHW batch of shape `shape`.

Output: {"onnxruntime_version", "results": [{id, samples_ms, output, error}]},
where `output` is the logits of the configuration's input (a list of rows)
and `error` is null or the message of the exception that stopped it.
"""

import argparse
import json
import sys
import time

import numpy as np


def make_session(ort, model, threads):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])


def load_input(path, shape):
    values = np.fromfile(path, dtype="<f4")
    expected = int(np.prod(shape))
    if values.size != expected:
        raise ValueError(f"input file {path} contains {values.size} floats, expected {expected} for shape {shape}")
    return values.reshape(shape)


def validate_request(request):
    for key in ("warmup", "rounds", "iterations_per_round"):
        value = request.get(key)
        if not isinstance(value, int) or value < 0 or (key != "warmup" and value == 0):
            raise ValueError(f"request field '{key}' is {value!r}, expected a positive integer")
    if not isinstance(request.get("configs"), list):
        raise ValueError("request field 'configs' is missing or not a list")


class Config:
    def __init__(self, ort, spec):
        self.id = spec["id"]
        self.samples_ms = []
        self.output = None
        self.error = None
        try:
            self.session = make_session(ort, spec["model"], int(spec["threads"]))
            self.input_name = self.session.get_inputs()[0].name
            self.batch = load_input(spec["input"], spec["shape"])
        except Exception as error:  # noqa: BLE001 - reported per configuration
            self.error = f"failed to load {spec.get('model')}: {error}"

    def run(self):
        return self.session.run(None, {self.input_name: self.batch})[0]

    def time_runs(self, count):
        if self.error is not None:
            return
        try:
            for _ in range(count):
                start = time.perf_counter_ns()
                self.run()
                self.samples_ms.append((time.perf_counter_ns() - start) / 1e6)
        except Exception as error:  # noqa: BLE001 - reported per configuration
            self.error = f"inference failed: {error}"

    def warm_up(self, count):
        # The first run returns the logits and counts as a warm-up run, so a
        # count of 0 still runs once, as the Rust workers do.
        if self.error is not None:
            return
        try:
            output = np.asarray(self.run(), dtype=np.float32)
            for _ in range(count - 1):
                self.run()
        except Exception as error:  # noqa: BLE001 - reported per configuration
            self.error = f"inference failed: {error}"
            return
        bad = np.argwhere(~np.isfinite(output))
        if bad.size:
            index = tuple(int(i) for i in bad[0])
            self.error = f"inference returned a non-finite logit {output[index]} at {list(index)}"
            return
        self.output = output

    def result(self):
        output = None if self.output is None else self.output.reshape(self.output.shape[0], -1).tolist()
        return {"id": self.id, "samples_ms": self.samples_ms, "output": output, "error": self.error}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("request", help="JSON request file, or - for stdin")
    args = parser.parse_args()

    text = sys.stdin.read() if args.request == "-" else open(args.request, encoding="utf-8").read()
    request = json.loads(text)
    validate_request(request)

    import onnxruntime as ort

    configs = [Config(ort, spec) for spec in request["configs"]]
    for config in configs:
        config.warm_up(request["warmup"])
    for _ in range(request["rounds"]):
        for config in configs:
            config.time_runs(request["iterations_per_round"])

    # allow_nan=False keeps the output standard JSON, which the Rust parser requires.
    results = [c.result() for c in configs]
    json.dump({"onnxruntime_version": ort.__version__, "results": results}, sys.stdout, allow_nan=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
