import PIMSim

/// A checkpoint that cannot run on a chip (nothing in it maps onto the array), or a dataset
/// that does not fit the network.
public struct DeploymentError: Error, Sendable, UserInputError {
    public var description: String
}

/// A checkpoint loaded onto a chip for deployment, and the data it runs on.
public enum DeployedModel {
    /// A PIM-QAT checkpoint deploys with its own scheme, mode and rescaling (unless `scheme` or
    /// `mode` are given); a conventional QAT one with the chip's scheme and no rescaling. Both
    /// run at the chip's own precision without training noise. `plan` replaces the
    /// checkpoint's precision plan.
    /// - Returns: the model, its target, the settings used and whether it was trained with PIM-QAT.
    public static func load(_ path: String, chip: ChipConfig, chipName: String, scheme: Scheme?, mode: String?,
                            plan: PrecisionPlan? = nil) throws
        -> (model: TrainingRun.LoadedModel, target: PIMTarget, settings: PIMSettings, pimTrained: Bool) {
        let trained = try TrainingRun.pimSettings(of: path)
        var settings = trained ?? PIMSettings(chip: chipName, rescale: .none)
        settings.chip = chipName
        if let scheme { settings.scheme = scheme }
        if let mode { settings.mode = mode }
        settings.precision = .none
        settings.trainingNoise = false
        let loaded = try TrainingRun.model(from: path, pim: (chip, settings), plan: plan)
        guard let target = loaded.target else { throw DeploymentError(description: "\(path): nothing to run on the chip") }
        return (loaded, target, settings, trained != nil)
    }

    /// A split of `dataset` for a loaded model, checked against the images and classes the
    /// model was built for, normalised as the model asks (``TrainingRun/LoadedModel/inputNormalization``).
    public static func data(for loaded: TrainingRun.LoadedModel, path: String, dataset: DatasetName, directory: String?,
                            train: Bool, limit: Int? = nil) throws -> Dataset {
        let data = try dataset.load(train: train, directory: directory, limit: limit).normalized(by: loaded.inputNormalization)
        guard data.channels == loaded.channels, data.size == loaded.size, data.classes == loaded.classes else {
            throw DeploymentError(description: "\(path) expects \(loaded.channels)×\(loaded.size)×\(loaded.size) images and \(loaded.classes) classes; \(dataset.rawValue) has \(data.channels)×\(data.size)×\(data.size) and \(data.classes)")
        }
        return data
    }
}
