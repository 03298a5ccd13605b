import ArgumentParser
import PIMQAT

/// `--input-mean` and `--input-std`: a network's own input normalisation, over its file's
/// and its dataset's.
struct InputNormalizationOptions: ParsableArguments {
    @Option(help: "Per-channel mean of pixel/255 the network's inputs are normalised with, comma-separated (one value for all channels; default: the model's metadata, else the dataset's).")
    var inputMean: String?
    @Option(help: "Per-channel standard deviation of pixel/255, with --input-mean.")
    var inputStd: String?

    func validate() throws {
        guard (inputMean == nil) == (inputStd == nil) else { throw ValidationError("give both --input-mean and --input-std, or neither") }
        do {
            _ = try given()
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// The normalisation the flags give, or nil.
    func given() throws(DatasetError) -> InputNormalization? {
        guard let inputMean, let inputStd else { return nil }
        return try InputNormalization(mean: inputMean, std: inputStd, place: "--input-mean/--input-std")
    }
}
