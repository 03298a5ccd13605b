import Foundation
import Testing
@testable import pimctl

/// Progress in logs: plain lines (no terminal escapes) when standard error is not a terminal.
struct ProgressBarTests {
    final class Lines: @unchecked Sendable { var text: [String] = [] }

    @Test func plainLinesWhenNotATerminal() {
        let lines = Lines()
        let bar = ProgressBar(label: "epoch 1/2", interactive: false, plainInterval: 0) { lines.text.append($0) }
        for done in 1...3 { bar.update(done, of: 3, detail: "loss 0.5") }
        bar.finish()
        #expect(lines.text.count == 3)
        #expect(lines.text.allSatisfy { $0.hasPrefix("epoch 1/2 ") && $0.hasSuffix(" s]\n") && !$0.contains("\u{1B}") })
        #expect(lines.text[1].hasPrefix("epoch 1/2 2/3 loss 0.5 ["))
    }

    @Test func shortRunsStayQuiet() {
        let lines = Lines()
        let bar = ProgressBar(label: "sweep", interactive: false, plainInterval: 3600) { lines.text.append($0) }
        for done in 1...50 { bar.update(done, of: 50, detail: "") }
        bar.finish()
        #expect(lines.text.isEmpty)
    }

    @Test func terminalBarRedrawsInPlace() {
        let lines = Lines()
        let bar = ProgressBar(label: "chip runs", interactive: true) { lines.text.append($0) }
        bar.update(4, of: 4, detail: "")
        bar.finish()
        #expect(lines.text.first?.hasPrefix("\u{1B}[2K\rchip runs ") == true)
        #expect(lines.text.last == "\u{1B}[2K\r")
    }
}
