import Foundation

/// A one-line progress bar on standard error, shown only when it is a terminal.
final class ProgressBar {
    let label: String
    let enabled = Terminal.isInteractive
    private var lastDraw = Date.distantPast

    init(label: String) { self.label = label }

    func update(_ done: Int, of total: Int, detail: String) {
        guard enabled, done == total || Date().timeIntervalSince(lastDraw) > 0.1 else { return }
        lastDraw = Date()
        let width = 30, filled = total > 0 ? width * done / total : width
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        FileHandle.standardError.write(Data("\u{1B}[2K\r\(label) \(bar) \(done)/\(total) \(detail)".utf8))
    }

    func finish() {
        if enabled { FileHandle.standardError.write(Data("\u{1B}[2K\r".utf8)) }
    }
}
