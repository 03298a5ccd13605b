import ArgumentParser
import Foundation
import PIMQAT

struct Notebook: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Markdown notebooks: run their pimctl blocks and refresh the outputs, or check that quick blocks still give them.",
        discussion: """
            A command block is a fenced block whose info string is `pimctl` (or `pimctl quick`); \
            each of its lines is one `pimctl …` command (a trailing backslash continues a line). \
            Its standard output goes into the `output` block right after it (created if \
            missing). Commands run in the notebook's directory, so the figures they write land \
            next to it. Outputs must not hold wall times for `check` to compare them.

            Examples:
              pimctl notebook run notebooks-as-md/capram-matmul-error.md
              pimctl notebook check notebooks-as-md/*.md
            """,
        subcommands: [NotebookRun.self, NotebookCheck.self])
}

/// A Markdown notebook: its lines, and the command blocks with their output blocks.
struct MarkdownNotebook {
    struct Block {
        /// Line indices (0-based) of the opening and closing fences.
        var open: Int, close: Int
        var quick: Bool
        var commands: [[String]]
        /// The output block after it: fence lines, if present.
        var output: (open: Int, close: Int)?
    }

    var path: String
    var lines: [String]
    var blocks: [Block]

    init(path: String) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw CommandLineError("\(path): cannot be read") }
        self.path = path
        lines = text.components(separatedBy: "\n")
        blocks = []
        var i = 0
        while i < lines.count {
            let line = lines[i].trimmingCharacters(in: .whitespaces)
            guard line.hasPrefix("```") else { i += 1; continue }
            let info = line.dropFirst(3).split(separator: " ").map(String.init)
            guard let close = lines[(i + 1)...].firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == "```" }) else {
                throw CommandLineError("\(path):\(i + 1): the fenced block is never closed")
            }
            if info.first == "pimctl" {
                var commands: [[String]] = []
                var pending = ""
                for (offset, raw) in lines[(i + 1)..<close].enumerated() {
                    let text = raw.trimmingCharacters(in: .whitespaces)
                    if text.hasSuffix("\\") { pending += text.dropLast() + " "; continue }
                    let full = (pending + text).trimmingCharacters(in: .whitespaces)
                    pending = ""
                    if full.isEmpty || full.hasPrefix("#") { continue }
                    let words = try Self.words(full, place: "\(path):\(i + 2 + offset)")
                    guard words.first == "pimctl", words.count > 1 else {
                        throw CommandLineError("\(path):\(i + 2 + offset): a command line must start with 'pimctl'")
                    }
                    commands.append(Array(words.dropFirst()))
                }
                var output: (Int, Int)?
                var next = close + 1
                while next < lines.count, lines[next].trimmingCharacters(in: .whitespaces).isEmpty { next += 1 }
                if next < lines.count, lines[next].trimmingCharacters(in: .whitespaces) == "```output" {
                    guard let end = lines[(next + 1)...].firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == "```" }) else {
                        throw CommandLineError("\(path):\(next + 1): the output block is never closed")
                    }
                    output = (next, end)
                }
                blocks.append(Block(open: i, close: close, quick: info.contains("quick"), commands: commands, output: output))
                i = output?.1 ?? close
            } else {
                i = close
            }
            i += 1
        }
    }

    /// Splits a command line into words: spaces separate, single and double quotes group.
    static func words(_ line: String, place: String) throws -> [String] {
        var words: [String] = []
        var current = "", quote: Character?, inWord = false
        for c in line {
            if let q = quote {
                if c == q { quote = nil } else { current.append(c) }
            } else if c == "\"" || c == "'" {
                quote = c
                inWord = true
            } else if c == " " {
                if inWord { words.append(current); current = ""; inWord = false }
            } else {
                current.append(c)
                inWord = true
            }
        }
        guard quote == nil else { throw CommandLineError("\(place): unclosed quote") }
        if inWord { words.append(current) }
        return words
    }

    /// Runs a block's commands in the notebook's directory; their standard outputs, joined.
    func run(_ block: Block) throws -> String {
        let directory = (path as NSString).deletingLastPathComponent
        var output = ""
        for arguments in block.commands {
            let result = try Subprocess.run(ToolVersion.executablePath, arguments: arguments,
                                            in: directory.isEmpty ? "." : directory)
            guard result.status == 0 else {
                let message = String(decoding: result.stderr, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? "exit status \(result.status)"
                throw CommandLineError("\(path):\(block.open + 1): `pimctl \(arguments.joined(separator: " "))` failed: \(message)")
            }
            output += String(decoding: result.stdout, as: UTF8.self)
        }
        return output.hasSuffix("\n") ? String(output.dropLast()) : output
    }

    func existingOutput(_ block: Block) -> String? {
        guard let (open, close) = block.output else { return nil }
        return lines[(open + 1)..<close].joined(separator: "\n")
    }
}

struct NotebookRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run every pimctl block of notebooks in order and write their outputs into them.")

    @Argument(help: "Notebook files (Markdown).") var files: [String]
    @Flag(help: "Run only the blocks marked quick.") var quickOnly = false

    func run() throws {
        for file in files {
            var notebook = try MarkdownNotebook(path: file)
            var ran = 0
            // From the last block up, so earlier line numbers stay valid while editing.
            var outputs: [(MarkdownNotebook.Block, String)] = []
            for block in notebook.blocks where !quickOnly || block.quick {
                outputs.append((block, try notebook.run(block)))
                ran += 1
            }
            for (block, output) in outputs.reversed() {
                let fresh = ["```output"] + (output.isEmpty ? [] : output.components(separatedBy: "\n")) + ["```"]
                if let (open, close) = block.output {
                    notebook.lines.replaceSubrange(open...close, with: fresh)
                } else {
                    notebook.lines.insert(contentsOf: [""] + fresh, at: block.close + 1)
                }
            }
            try OutputFile.write(Data(notebook.lines.joined(separator: "\n").utf8), to: file)
            print("\(file): ran \(ran) block(s)")
        }
    }
}

struct NotebookCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Re-run the quick blocks of notebooks and fail on any output that differs from the one written.")

    @Argument(help: "Notebook files (Markdown).") var files: [String]

    func run() throws {
        var failures = 0
        for file in files {
            let notebook = try MarkdownNotebook(path: file)
            let quick = notebook.blocks.filter(\.quick)
            for block in quick {
                guard let expected = notebook.existingOutput(block) else {
                    Terminal.error("\(file):\(block.open + 1): quick block has no output block yet (run `pimctl notebook run` first)")
                    failures += 1
                    continue
                }
                let actual = try notebook.run(block)
                if actual != expected {
                    let a = actual.components(separatedBy: "\n"), e = expected.components(separatedBy: "\n")
                    let index = (0..<min(a.count, e.count)).first { a[$0] != e[$0] } ?? min(a.count, e.count)
                    let got = index < a.count ? a[index] : "(end of output)", want = index < e.count ? e[index] : "(end of output)"
                    Terminal.error("\(file):\(block.output!.open + 2 + index): output differs: expected '\(want)', got '\(got)'")
                    failures += 1
                }
            }
            print("\(file): \(quick.count) quick block(s) checked")
        }
        if failures > 0 { throw ExitCode.failure }
    }
}
