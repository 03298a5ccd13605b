import Foundation
import Testing

@Suite("pimctl notebook")
struct NotebookCommandTests {
    static let notebook = """
        # A notebook

        Text stays as it is.

        ```pimctl quick
        pimctl chips show ideal
        pimctl sweep run spec.yaml --out r.jsonl \\
            --overwrite
        ```

        ```yaml
        not: executed
        ```

        ```pimctl
        pimctl sweep plot r.jsonl --x adc.noise_sigma_lsb --y sqnr_decibels --out p.svg
        ```

        ```output
        stale output, replaced by run
        ```
        """

    static let spec = """
        chip: cap-ram
        axes: {adc.noise_sigma_lsb: [0, 1]}
        workload: {matmul: 8x128x8}
        """

    @Test func runFillsOutputsAndCheckComparesQuickBlocks() throws {
        let dir = try TrainCommandTests.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.notebook.write(toFile: "\(dir)/n.md", atomically: true, encoding: .utf8)
        try Self.spec.write(toFile: "\(dir)/spec.yaml", atomically: true, encoding: .utf8)
        let run = try PimctlRunner.run(["notebook", "run", "n.md"], in: dir)
        #expect(run.status == 0, "\(run.stderr)")
        let text = try String(contentsOfFile: "\(dir)/n.md", encoding: .utf8)
        #expect(text.contains("Text stays as it is."))
        #expect(text.contains("ideal — Ideal PIM"), "the first block's output was inserted")
        #expect(text.contains("spec.yaml: 2 points, 2 runs; ran 2, kept 0 → r.jsonl"))
        #expect(!text.contains("stale output"))
        #expect(text.contains("| adc.noise_sigma_lsb (LSB) |"))
        #expect(FileManager.default.fileExists(atPath: "\(dir)/p.svg"), "figures land next to the notebook")
        // Running again changes nothing.
        #expect(try PimctlRunner.run(["notebook", "run", "n.md"], in: dir).status == 0)
        #expect(try String(contentsOfFile: "\(dir)/n.md", encoding: .utf8) == text)

        let check = try PimctlRunner.run(["notebook", "check", "n.md"], in: dir)
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stdout.contains("1 quick block(s) checked"))
        // A changed output is a failure naming the line.
        try text.replacingOccurrences(of: "ran 2, kept 0", with: "ran 3, kept 0").write(toFile: "\(dir)/n.md", atomically: true, encoding: .utf8)
        let changed = try PimctlRunner.run(["notebook", "check", "n.md"], in: dir)
        #expect(changed.status != 0)
        #expect(changed.stderr.contains("output differs: expected 'spec.yaml: 2 points, 2 runs; ran 3, kept 0 → r.jsonl'"), "\(changed.stderr)")
        #expect(changed.stderr.contains("n.md:"))
    }

    @Test func aFailingCommandNamesTheBlock() throws {
        let dir = try TrainCommandTests.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "# x\n\n```pimctl\npimctl chips show no-such-chip\n```\n".write(toFile: "\(dir)/n.md", atomically: true, encoding: .utf8)
        let run = try PimctlRunner.run(["notebook", "run", "n.md"], in: dir)
        #expect(run.status == 1)
        #expect(run.stderr.contains("n.md:3: `pimctl chips show no-such-chip` failed: pimctl: error: unknown chip 'no-such-chip'"), "\(run.stderr)")
        #expect(try String(contentsOfFile: "\(dir)/n.md", encoding: .utf8) == "# x\n\n```pimctl\npimctl chips show no-such-chip\n```\n", "the notebook is untouched")
        try "```pimctl\nls -l\n```\n".write(toFile: "\(dir)/m.md", atomically: true, encoding: .utf8)
        let bad = try PimctlRunner.run(["notebook", "run", "m.md"], in: dir)
        #expect(bad.stderr.contains("m.md:2: a command line must start with 'pimctl'"), "\(bad.stderr)")
    }
}
