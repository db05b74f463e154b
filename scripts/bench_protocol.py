"""Request and response format shared by the Python timing scripts.

scripts/ort_bench.py (ONNX Runtime) and scripts/torch_bench.py (PyTorch
eager) read the same JSON request and print the same JSON response, so the
Rust comparison harness times both with one code path. Request fields:

    warmup, rounds, iterations_per_round: the timing schedule. With several
        configurations, every round times each of them in turn. The first
        warm-up run returns the logits, so even a warmup of 0 runs once.
    configs: list of {id, model, threads, input, shape}; `input` is a raw
        little-endian f32 file holding an NCHW batch of shape `shape`.

Response: {"runtime", "version", "results": [{id, samples_ms, output, error}]},
where `output` is the logits of the configuration's input (a list of rows)
and `error` is null or the message of the exception that stopped it.
"""

import argparse
import json
import sys
import time

import numpy as np


def load_input(path, shape):
    values = np.fromfile(path, dtype="<f4")
    expected = int(np.prod(shape))
    if values.size != expected:
        raise ValueError(f"input file {path} contains {values.size} floats, expected {expected} for shape {shape}")
    return values.reshape(shape)


def describe(error):
    """Return the exception's type and message; a bare KeyError message is only the key."""
    return f"{type(error).__name__}: {error}"


def is_count(value, minimum):
    # bool is a subclass of int in Python, but `true` is no count.
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def validate_request(request):
    if not isinstance(request, dict):
        raise ValueError(f"the request is a JSON {type(request).__name__}, expected an object")
    for key in ("warmup", "rounds", "iterations_per_round"):
        value = request.get(key)
        if not is_count(value, 0 if key == "warmup" else 1):
            expected = "a non-negative integer" if key == "warmup" else "a positive integer"
            raise ValueError(f"request field '{key}' is {value!r}, expected {expected}")
    configs = request.get("configs")
    if not isinstance(configs, list):
        raise ValueError("request field 'configs' is missing or not a list")
    for index, config in enumerate(configs):
        if not isinstance(config, dict):
            raise ValueError(f"configs[{index}] is {config!r}, expected an object")
        missing = [key for key in ("id", "model", "threads", "input", "shape") if key not in config]
        if missing:
            raise ValueError(f"configs[{index}] lacks the fields {missing}")
        if not is_count(config["threads"], 1):
            raise ValueError(f"configs[{index}].threads is {config['threads']!r}, expected a positive integer")
        shape = config["shape"]
        if not isinstance(shape, list) or len(shape) != 4 or not all(is_count(dim, 1) for dim in shape):
            raise ValueError(f"configs[{index}].shape is {shape!r}, expected 4 positive integers (NCHW)")


class Config:
    """One configuration: a loaded model, its input and its samples.

    `load(model, threads, batch)` returns a function that runs the model on
    the batch and returns the logits as a NumPy array. Load and run errors
    are stored per configuration, so one failure leaves the others timed.
    """

    def __init__(self, spec, load):
        self.id = spec["id"]
        self.samples_ms = []
        self.output = None
        self.error = None
        try:
            batch = load_input(spec["input"], spec["shape"])
            self.run = load(spec["model"], spec["threads"], batch)
        except Exception as error:  # noqa: BLE001 - reported per configuration
            self.error = f"failed to load {spec['model']}: {describe(error)}"

    def time_runs(self, count):
        if self.error is not None:
            return
        try:
            for _ in range(count):
                start = time.perf_counter_ns()
                self.run()
                self.samples_ms.append((time.perf_counter_ns() - start) / 1e6)
        except Exception as error:  # noqa: BLE001 - reported per configuration
            self.error = f"inference failed: {describe(error)}"

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
            self.error = f"inference failed: {describe(error)}"
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


def serve(description, runtime, version, load):
    """Read the request named on the command line, time it and print the response.

    `runtime` and `version` name the timed library in the response, and
    `load` is the per-configuration loader that `Config` describes.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("request", help="JSON request file, or - for stdin")
    args = parser.parse_args()

    text = sys.stdin.read() if args.request == "-" else open(args.request, encoding="utf-8").read()
    request = json.loads(text)
    validate_request(request)

    configs = [Config(spec, load) for spec in request["configs"]]
    for config in configs:
        config.warm_up(request["warmup"])
    for _ in range(request["rounds"]):
        for config in configs:
            config.time_runs(request["iterations_per_round"])

    # allow_nan=False keeps the output standard JSON, which the Rust parser requires.
    results = [c.result() for c in configs]
    json.dump({"runtime": runtime, "version": version, "results": results}, sys.stdout, allow_nan=False)
    sys.stdout.write("\n")
