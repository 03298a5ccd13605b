#!/usr/bin/env python3
"""Runs an ONNX model written by `pimctl export` in ONNX Runtime on Fashion-MNIST's test split
and prints its accuracy and mean cross-entropy loss, to compare with `pimctl evaluate` on the
same file.

Images are normalised as the file's metadata says (input_mean, input_std), else with the
dataset's standard mean 0.2860 and std 0.3530. Needs numpy and onnxruntime (not needed by CI):

    python3 scripts/check-onnx-export.py net.onnx [--limit N] [--data-dir DIR]
"""
import argparse
import gzip
import os

import numpy as np
import onnx
import onnxruntime as ort


def idx(path):
    with (gzip.open(path) if path.endswith(".gz") else open(path, "rb")) as f:
        data = f.read()
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(data[3])]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def locate(directory, name):
    path = os.path.join(directory, name)
    return path if os.path.exists(path) else path + ".gz"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("--limit", type=int, default=10000)
    parser.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    args = parser.parse_args()
    images = idx(locate(args.data_dir, "t10k-images-idx3-ubyte"))[:args.limit]
    labels = idx(locate(args.data_dir, "t10k-labels-idx1-ubyte"))[:args.limit]
    metadata = {p.key: p.value for p in onnx.load(args.model, load_external_data=False).metadata_props}
    mean = np.array([float(v) for v in metadata.get("input_mean", "0.2860").split(",")], np.float32)
    std = np.array([float(v) for v in metadata.get("input_std", "0.3530").split(",")], np.float32)
    x = ((images[:, None].astype(np.float32) / 255 - mean[None, :, None, None]) / std[None, :, None, None]).astype(np.float32)
    session = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    logits = session.run(None, {session.get_inputs()[0].name: x})[0].astype(np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    loss = np.mean(np.log(np.exp(shifted).sum(axis=1)) - shifted[np.arange(len(labels)), labels])
    accuracy = np.mean(logits.argmax(axis=1) == labels)
    print(f"onnxruntime {ort.__version__}: {len(labels)} examples, accuracy {accuracy:.4f}, loss {loss:.6f}")


if __name__ == "__main__":
    main()
