#!/usr/bin/env python3
"""Builds the ONNX test fixtures in Tests/Fixtures/onnx with PyTorch's own exporter.

Three small networks for 1 x 28 x 28 images and 10 classes, each exported at a different
opset with BatchNormalization kept (do_constant_folding=False, so BN is not folded into the
convolution) and a dynamic batch axis:

- lenet5.onnx (opset 11): conv 5x5 with bias, ReLU, max pool, conv 5x5, ReLU, average pool,
  flatten, three fully connected layers (Gemm);
- resnet8.onnx (opset 13): conv-BN-ReLU stem, three residual blocks (the second and third
  halve the resolution with a 1x1 convolution + BN shortcut), residual adds, global average
  pooling, flatten, classifier;
- mlp.onnx (opset 17): flatten, Gemm, ReLU6 (Clip), Gemm;
- separable.onnx (opset 13): a conv-BN-ReLU stem, a depthwise 3x3 convolution at dilation 2
  (groups = channels), a pointwise 1x1 convolution, adaptive average pooling, classifier;
- resnet-a.onnx (opset 18, the newer exporter, torch.export based): a residual block whose
  shortcut halves the resolution and pads the new channels with zeros (option A: Slice, Pad),
  a mean over H and W (ReduceMean) and a view to N x features (Reshape at the example's batch
  size, which that exporter fixes); that exporter folds BN into the convolutions itself and
  keeps the weights in resnet-a.onnx.data beside the model.

Two re-encodings of the same weights test the tensor storage forms: lenet5-typed.onnx holds
its initializers in float_data instead of raw_data, and mlp-external.onnx keeps them in the
external file mlp-external.onnx.data.

For each network, NAME-inputs.npy holds 4 inputs (one per row, C·H·W values) and
NAME-logits.npy PyTorch's logits for them (eval mode). CI does not need PyTorch: the outputs are committed. Run with torch and
onnx installed: python3 scripts/make-onnx-fixtures.py
"""
import os

import numpy as np
import onnx
import torch
import torch.nn as nn
from onnx import numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "onnx")


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.pool2 = nn.AvgPool2d(2)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool1(torch.relu(self.conv1(x)))
        x = self.pool2(torch.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (x if self.shortcut is None else self.shortcut(x)))


class ResNet8(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = Block(16, 16, 1)
        self.layer2 = Block(16, 32, 2)
        self.layer3 = Block(32, 64, 2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc2(torch.clamp(self.fc1(torch.flatten(x, 1)), 0, 6))


class ShortcutA(nn.Module):
    def __init__(self, extra):
        super().__init__()
        self.extra = extra

    def forward(self, x):
        return nn.functional.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.extra // 2, self.extra - self.extra // 2))


class ResNetA(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(32)
        self.conv3 = nn.Conv2d(32, 32, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(32)
        self.shortcut = ShortcutA(16)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn3(self.conv3(torch.relu(self.bn2(self.conv2(x)))))
        y = torch.relu(y + self.shortcut(x))
        y = y.mean(dim=(2, 3))
        return self.fc(y.view(y.size(0), -1))


class Separable(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.depthwise = nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=8, bias=False)
        self.bn2 = nn.BatchNorm2d(8)
        self.pointwise = nn.Conv2d(8, 16, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(16)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = torch.relu(self.bn2(self.depthwise(x)))
        x = torch.relu(self.bn3(self.pointwise(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


def export(name, model, opset, dynamo=False):
    torch.manual_seed(1)
    model.train()
    # A few training-mode passes so that BN running statistics are not their initial values.
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(16, 1, 28, 28) * 1.5 + 0.3)
    model.eval()
    path = os.path.join(OUT, f"{name}.onnx")
    if dynamo:
        # Its graph optimisation folds BN into the convolutions (their biases) and constant-folds
        # the shortcut's slice and pad arguments; without it they are shape computations.
        torch.onnx.export(model, (torch.zeros(2, 1, 28, 28),), path, dynamo=True, opset_version=opset,
                          input_names=["input"], output_names=["logits"])
    else:
        torch.onnx.export(model, (torch.zeros(1, 1, 28, 28),), path, dynamo=False, do_constant_folding=False,
                          opset_version=opset, input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    inputs = torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        logits = model(inputs)
    np.save(os.path.join(OUT, f"{name}-inputs.npy"), inputs.numpy().astype(np.float32).reshape(4, -1))
    np.save(os.path.join(OUT, f"{name}-logits.npy"), logits.numpy().astype(np.float32))
    return path


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    lenet = export("lenet5", LeNet5(), 11)
    export("resnet8", ResNet8(), 13)
    mlp = export("mlp", MLP(), 17)
    export("separable", Separable(), 13)
    export("resnet-a", ResNetA(), 18, dynamo=True)

    # The same LeNet with every initializer in typed float_data instead of raw_data.
    model = onnx.load(lenet)
    for i, tensor in enumerate(model.graph.initializer):
        array = numpy_helper.to_array(tensor)
        if array.dtype == np.float32:
            model.graph.initializer[i].CopyFrom(onnx.helper.make_tensor(tensor.name, onnx.TensorProto.FLOAT, array.shape,
                                                                        array.flatten().tolist(), raw=False))
    onnx.save(model, os.path.join(OUT, "lenet5-typed.onnx"))
    # The same MLP with its weights in an external data file beside it.
    model = onnx.load(mlp)
    data = os.path.join(OUT, "mlp-external.onnx.data")
    if os.path.exists(data):
        os.remove(data)  # onnx appends to an existing data file
    onnx.save_model(model, os.path.join(OUT, "mlp-external.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="mlp-external.onnx.data", size_threshold=0)
    for name in ["lenet5", "mlp"]:
        for kind in ["inputs", "logits"]:
            suffix = {"lenet5": "lenet5-typed", "mlp": "mlp-external"}[name]
            np.save(os.path.join(OUT, f"{suffix}-{kind}.npy"), np.load(os.path.join(OUT, f"{name}-{kind}.npy")))


if __name__ == "__main__":
    main()
