// swift-tools-version:6.0
//
// PIMSim / PIMQAT / pimctl: a processing-in-memory simulator and PIM quantization-aware trainer.
//
// Dependencies flow one way: pimctl → PIMExperiments → PIMQAT → PIMSim → CNumerics
// (OpenBLAS + GSL) and CKernels (the engine's vectorised C loops).

import PackageDescription

let package = Package(
    name: "pimsim",
    products: [
        .library(name: "PIMSim", targets: ["PIMSim"]),
        .library(name: "PIMQAT", targets: ["PIMQAT"]),
        .library(name: "PIMExperiments", targets: ["PIMExperiments"]),
        .executable(name: "pimctl", targets: ["pimctl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        // ONNX models are protobuf; the message code is generated once and committed.
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // OpenBLAS, GSL and zlib as one Clang module: both headers define CBLAS enums, so the
        // shim includes <cblas.h> first and keeps GSL from pulling in its own copy.
        .systemLibrary(
            name: "CNumerics",
            path: "Sources/CNumerics",
            providers: [.apt(["libopenblas-dev", "libgsl-dev", "zlib1g-dev"])]
        ),
        // The engine's vectorised inner loops (AVX2, chosen at run time), each bit-identical to
        // its portable Swift reference.
        .target(name: "CKernels", path: "Sources/CKernels"),
        .target(
            name: "PIMSim",
            dependencies: ["CNumerics", "CKernels", .product(name: "Yams", package: "Yams")]
        ),
        .target(
            name: "PIMQAT",
            dependencies: ["PIMSim", .product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        // Experiments over both: sweep specs, their execution (matmuls, deployed and trained
        // networks), results files and plots.
        .target(
            name: "PIMExperiments",
            dependencies: ["PIMQAT", "PIMSim", .product(name: "Yams", package: "Yams")]
        ),
        .executableTarget(
            name: "pimctl",
            dependencies: [
                "PIMExperiments", "PIMQAT", "PIMSim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "PIMSimTests", dependencies: ["PIMSim"]),
        .testTarget(name: "PIMQATTests", dependencies: ["PIMQAT"]),
        .testTarget(name: "PIMExperimentsTests", dependencies: ["PIMExperiments"]),
        .testTarget(name: "PimctlTests", dependencies: ["pimctl", "PIMExperiments", "PIMQAT"]),
    ],
    swiftLanguageModes: [.v6]
)
