#!/usr/bin/env python3
"""Time PyTorch eager inference for the engine comparison (scripts/compare.sh).

This is the baseline that PyTorch users run: an `nn.Module` called from
Python under `torch.inference_mode()`, one Python dispatch per layer. The
module is built from rpr-export's float ONNX file, one PyTorch layer per
ONNX node (Conv2d, BatchNorm2d, ReLU, pooling, Linear), so it has the
layers and the weights of the float network that rpr-train evaluates. The
harness checks its logits against rpr-infer's f32 path.
scripts/bench_protocol.py describes the request and the response.
"""

import bench_protocol


def attributes(onnx, node):
    return {attribute.name: onnx.helper.get_attribute_value(attribute) for attribute in node.attribute}


def label(node):
    """Return the node's name, or its op type and output when the name is empty."""
    return repr(node.name) if node.name else f"{node.op_type} -> {node.output[0]!r}"


def has_input(node, index):
    """Return True when optional input `index` is present; ONNX marks an omitted one with ""."""
    return len(node.input) > index and node.input[index] != ""


def symmetric_padding(node, pads):
    """Return the per-axis padding of ONNX `pads` [top, left, bottom, right]."""
    half = len(pads) // 2
    if list(pads[:half]) != list(pads[half:]):
        raise ValueError(f"node {label(node)} has asymmetric pads {list(pads)}, which PyTorch layers cannot express")
    return tuple(pads[:half])


def reject_unmapped(node, attrs, expected):
    """Raise for attributes whose value the layer mapping would silently ignore.

    `expected` maps an attribute name to the values that the mapping handles. An
    attribute absent from the node takes its ONNX default, which is one of them.
    """
    for name, allowed in expected.items():
        if name in attrs and attrs[name] not in allowed:
            raise ValueError(
                f"node {label(node)} has {name}={attrs[name]!r}, which this script does not map to a PyTorch layer; "
                f"supported: {allowed}"
            )


class Add:
    def __call__(self, a, b):
        return a + b


class Concat:
    def __init__(self, torch, axis):
        self.torch = torch
        self.axis = axis

    def __call__(self, *inputs):
        return self.torch.cat(inputs, dim=self.axis)


def make_layer(torch, onnx, node, weights):
    """Return the PyTorch layer of one ONNX node and the names of its activation inputs."""
    nn = torch.nn
    op = node.op_type
    attrs = attributes(onnx, node)
    tensor = lambda name: torch.from_numpy(weights[name].copy())
    # b"NOTSET" is how the onnx package returns the default string attribute.
    explicit_padding = {"auto_pad": [b"NOTSET", "NOTSET"]}

    if op == "Conv":
        reject_unmapped(node, attrs, explicit_padding)
        weight = tensor(node.input[1])
        out_channels, in_per_group = weight.shape[:2]
        has_bias = has_input(node, 2)
        layer = nn.Conv2d(
            in_per_group * attrs.get("group", 1),
            out_channels,
            tuple(weight.shape[2:]),
            stride=tuple(attrs.get("strides", [1, 1])),
            padding=symmetric_padding(node, attrs.get("pads", [0, 0, 0, 0])),
            dilation=tuple(attrs.get("dilations", [1, 1])),
            groups=attrs.get("group", 1),
            bias=has_bias,
        )
        layer.weight.data.copy_(weight)
        if has_bias:
            layer.bias.data.copy_(tensor(node.input[2]))
        return layer, node.input[:1]
    if op == "BatchNormalization":
        scale, bias, mean, var = (tensor(name) for name in node.input[1:5])
        layer = nn.BatchNorm2d(scale.numel(), eps=attrs.get("epsilon", 1e-5))
        layer.weight.data.copy_(scale)
        layer.bias.data.copy_(bias)
        layer.running_mean.copy_(mean)
        layer.running_var.copy_(var)
        return layer, node.input[:1]
    if op == "Relu":
        return nn.ReLU(), node.input[:1]
    if op == "MaxPool" or op == "AveragePool":
        reject_unmapped(node, attrs, {**explicit_padding, "dilations": [[1, 1]], "storage_order": [0]})
        kind = nn.MaxPool2d if op == "MaxPool" else nn.AvgPool2d
        options = {"ceil_mode": bool(attrs.get("ceil_mode", 0))}
        if op == "AveragePool":
            options["count_include_pad"] = bool(attrs.get("count_include_pad", 0))
        padding = symmetric_padding(node, attrs.get("pads", [0, 0, 0, 0]))
        return kind(tuple(attrs["kernel_shape"]), tuple(attrs.get("strides", [1, 1])), padding, **options), node.input[:1]
    if op == "GlobalAveragePool":
        return nn.AdaptiveAvgPool2d(1), node.input[:1]
    if op == "Flatten":
        # nn.Flatten(1) keeps the batch axis and joins the rest, which is ONNX's axis 1 only.
        reject_unmapped(node, attrs, {"axis": [1]})
        return nn.Flatten(1), node.input[:1]
    if op == "Gemm":
        if attrs.get("transA", 0) != 0 or attrs.get("transB", 0) != 1 or attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0:
            raise ValueError(f"node {label(node)}: only Gemm with transB=1, alpha=1 and beta=1 maps to nn.Linear, got {attrs}")
        weight = tensor(node.input[1])
        has_bias = has_input(node, 2)
        layer = nn.Linear(weight.shape[1], weight.shape[0], bias=has_bias)
        layer.weight.data.copy_(weight)
        if has_bias:
            layer.bias.data.copy_(tensor(node.input[2]))
        return layer, node.input[:1]
    if op == "Add":
        return Add(), node.input[:2]
    if op == "Concat":
        return Concat(torch, attrs["axis"]), list(node.input)
    raise ValueError(f"node {label(node)} has op type {op}, which this script does not map to a PyTorch layer")


def build_module(torch, onnx, path):
    """Return an eval-mode `nn.Module` that runs the float ONNX file at `path` layer by layer."""
    model = onnx.load(path)
    weights = {init.name: onnx.numpy_helper.to_array(init) for init in model.graph.initializer}
    graph_inputs = [value.name for value in model.graph.input if value.name not in weights]
    if len(graph_inputs) != 1 or len(model.graph.output) != 1:
        raise ValueError(f"{path}: expected one input and one output, found inputs {graph_inputs} and {len(model.graph.output)} outputs")

    class OnnxLayers(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = torch.nn.ModuleList()
            self.steps = []
            for node in model.graph.node:
                layer, inputs = make_layer(torch, onnx, node, weights)
                if isinstance(layer, torch.nn.Module):
                    self.layers.append(layer)
                self.steps.append((layer, list(inputs), node.output[0]))
            self.input_name = graph_inputs[0]
            self.output_name = model.graph.output[0].name
            # Initializers that a node reads as an activation, such as a constant operand of Add.
            read = {name for _, inputs, _ in self.steps for name in inputs}
            self.constants = {name: torch.from_numpy(weights[name].copy()) for name in read if name in weights}

        def forward(self, x):
            values = dict(self.constants)
            values[self.input_name] = x
            for layer, inputs, output in self.steps:
                values[output] = layer(*(values[name] for name in inputs))
            return values[self.output_name]

    return OnnxLayers().eval()


def main():
    import onnx
    import onnx.numpy_helper
    import torch

    # The inter-op pool is fixed once per process; the harness sends one configuration per process.
    torch.set_num_interop_threads(1)

    def load(model, threads, batch):
        module = build_module(torch, onnx, model)
        images = torch.from_numpy(batch)

        def run():
            if torch.get_num_threads() != threads:
                torch.set_num_threads(threads)
            with torch.inference_mode():
                return module(images).numpy()

        return run

    bench_protocol.serve(__doc__.splitlines()[0], "torch", torch.__version__, load)


if __name__ == "__main__":
    main()
