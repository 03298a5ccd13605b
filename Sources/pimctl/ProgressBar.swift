import Foundation

/// Progress of long work on standard error.
///
/// On a terminal: a one-line bar redrawn at most every 0.1 s. Otherwise (logs, batch jobs):
/// a plain line `label done/total detail [elapsed s]` at most every `plainInterval` seconds,
/// and a last one at the end if any was written, so a job's log shows that it is alive and
/// how fast it goes while short runs stay quiet.
final class ProgressBar {
    let label: String
    let interactive: Bool
    /// Seconds between plain lines when standard error is not a terminal.
    let plainInterval: TimeInterval
    private let write: (String) -> Void
    private let started = Date()
    private var lastDraw = Date.distantPast
    private var wrotePlainLine = false

    init(label: String, interactive: Bool = Terminal.isInteractive, plainInterval: TimeInterval = 30,
         write: @escaping (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }) {
        self.label = label
        self.interactive = interactive
        self.plainInterval = plainInterval
        self.write = write
        if !interactive { lastDraw = Date() }  // the first plain line after one interval, not at once
    }

    func update(_ done: Int, of total: Int, detail: String) {
        let now = Date()
        if interactive {
            guard done == total || now.timeIntervalSince(lastDraw) > 0.1 else { return }
            lastDraw = now
            let width = 30, filled = total > 0 ? width * min(done, total) / total : width
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            write("\u{1B}[2K\r\(label) \(bar) \(done)/\(total) \(detail)")
        } else {
            guard now.timeIntervalSince(lastDraw) >= plainInterval || (done == total && wrotePlainLine) else { return }
            lastDraw = now
            wrotePlainLine = done != total
            let elapsed = Int(now.timeIntervalSince(started).rounded())
            write("\(label) \(done)/\(total) \(detail) [\(elapsed) s]\n")
        }
    }

    func finish() {
        if interactive { write("\u{1B}[2K\r") }
    }
}
