/// The version of the simulator and trainer, recorded in every checkpoint and result file.
public enum ToolVersion {
    public static let current = "0.1.0"
}
