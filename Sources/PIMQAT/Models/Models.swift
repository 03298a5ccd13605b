/// The networks the trainer builds.
public enum ModelArchitecture: Sendable, Hashable, Codable, CustomStringConvertible {
    /// CIFAR-style ResNet of depth 6n + 2 (20, 32, 44, 56): stages of 16, 32, 64 channels with
    /// n basic blocks each, global average pooling and a linear classifier.
    case resnet(depth: Int)
    /// conv3×3(16) → BN → ReLU → max-pool 2 → conv3×3(32) → BN → ReLU → max-pool 2 → linear:
    /// for quick runs and tests.
    case smallCNN

    /// Parses `resnet20`, `resnet32`, `resnet44`, `resnet56`, `small-cnn`.
    public init?(name: String) {
        switch name.lowercased() {
        case "small-cnn", "smallcnn": self = .smallCNN
        case let text where text.hasPrefix("resnet"):
            guard let depth = Int(text.dropFirst(6)), [20, 32, 44, 56].contains(depth) else { return nil }
            self = .resnet(depth: depth)
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case let .resnet(depth): "resnet\(depth)"
        case .smallCNN: "small-cnn"
        }
    }

    /// Builds the network for `channels`-channel square images of `size` pixels and `classes` outputs.
    public func build(channels: Int, size: Int, classes: Int, seed: UInt64) -> Sequential {
        var initializer = TensorInitializer(seed: seed)
        switch self {
        case .smallCNN:
            let reduced = size / 4
            return Sequential([
                Conv2d(channels, 16, kernel: 3, padding: 1, initializer: &initializer, name: "conv1"), BatchNorm2d(16, name: "bn1"), ReLU(),
                MaxPool2d(2),
                Conv2d(16, 32, kernel: 3, padding: 1, initializer: &initializer, name: "conv2"), BatchNorm2d(32, name: "bn2"), ReLU(),
                MaxPool2d(2),
                Flatten(),
                Linear(32 * reduced * reduced, classes, initializer: &initializer, name: "fc"),
            ])
        case let .resnet(depth):
            let blocks = (depth - 2) / 6
            var layers: [any Layer] = [
                Conv2d(channels, 16, kernel: 3, padding: 1, initializer: &initializer, name: "conv1"), BatchNorm2d(16, name: "bn1"), ReLU(),
            ]
            var width = 16
            for (stage, stageWidth) in [16, 32, 64].enumerated() {
                for block in 0..<blocks {
                    let stride = stage > 0 && block == 0 ? 2 : 1
                    layers.append(BasicBlock(width, stageWidth, stride: stride, initializer: &initializer, name: "layer\(stage + 1).\(block)"))
                    width = stageWidth
                }
            }
            layers += [GlobalAveragePool(), Linear(64, classes, initializer: &initializer, name: "fc")]
            return Sequential(layers)
        }
    }
}
