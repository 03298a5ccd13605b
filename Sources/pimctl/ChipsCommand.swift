import ArgumentParser
import Foundation
import PIMQAT

struct Chips: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chips",
        abstract: "List, show and validate chip descriptions.",
        discussion: """
            A chip is a preset id (see `pimctl chips list`) or a path to a YAML file. \
            Presets are found in $PIMSIM_CHIPS_PATH, ./chips, or the chips/ folder of the \
            checkout the executable was built in.
            """,
        subcommands: [List.self, Show.self, Compare.self, Validate.self])
}

extension Chips {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the preset chips with their citations.",
            discussion: "Example:\n  pimctl chips list --json")

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        func run() throws {
            let catalog = ChipCatalog.standard()
            let entries = catalog.entries()
            guard !entries.isEmpty else {
                throw ChipLookupError(description: "no preset chips found (searched: \(catalog.directories.joined(separator: ", ")); set PIMSIM_CHIPS_PATH)")
            }
            struct Row: Encodable {
                var id: String?, title: String?, year: Int?, venue: String?, doi: String?, file: String, error: String?
            }
            let rows = entries.map { entry in
                switch entry.result {
                case let .success(chip):
                    Row(id: chip.meta.id, title: chip.meta.title, year: chip.meta.year, venue: chip.meta.venue,
                        doi: chip.meta.doi, file: entry.path, error: nil)
                case let .failure(error):
                    Row(id: nil, title: nil, year: nil, venue: nil, doi: nil, file: entry.path, error: error.description)
                }
            }
            if json {
                print(try Terminal.json(rows))
            } else {
                print(Format.table(["id", "year", "doi", "title"], rows.filter { $0.error == nil }.map { row in
                    [row.id!, row.year.map(String.init) ?? "–", row.doi ?? "–", row.title!]
                }, indent: ""))
            }
            let bad = rows.compactMap(\.error)
            for message in bad { Terminal.error(message) }
            if !bad.isEmpty { throw ExitCode.failure }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a resolved chip with its derived numbers.",
            discussion: """
                Derived numbers come from the file's parameters, never from `reported`: \
                LSB in MAC units and conversions per MAC for each mode and weight width, \
                peak throughput (ADCs × inputs per conversion × 2 × clock), energy per op.

                Examples:
                  pimctl chips show cap-ram
                  pimctl chips show chips/cap-ram.yaml --input-bits 8 --json
                """)

        @Argument(help: "A preset id or a chip YAML file.")
        var chip: String

        @Option(help: "Input precision for the per-precision figures (default: one DAC cycle's bits).")
        var inputBits: Int?

        @Flag(help: "Print JSON.")
        var json = false

        func run() throws {
            let (chip, path) = try ChipCatalog.standard().load(self.chip)
            if let inputBits, !chip.inputs.supportedBits.contains(inputBits) {
                throw ValidationError("--input-bits \(inputBits): chip '\(chip.meta.id)' supports \(chip.inputs.supportedBits.map(String.init).joined(separator: ", ")) input bits")
            }
            let figures = chip.figures(inputBits: inputBits)
            if json {
                struct Shown: Encodable { var file: String; var chip: ChipConfig; var derived: ChipFigures }
                print(try Terminal.json(Shown(file: path, chip: chip, derived: figures)))
            } else {
                print(ChipReport(chip: chip, path: path, figures: figures).text)
            }
        }
    }

    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check chip files; exit non-zero if any is bad.",
            discussion: """
                Each bad file gets one line `file:line:column: field.path: problem`.

                Example:
                  pimctl chips validate chips/*.yaml
                """)

        @Argument(help: "Chip YAML files.")
        var files: [String]

        @Flag(help: "Print JSON.")
        var json = false

        func validate() throws {
            if files.isEmpty { throw ValidationError("give at least one chip file") }
        }

        func run() throws {
            struct Outcome: Encodable {
                var file: String, ok: Bool, id: String?, error: ConfigErrorJSON?
            }
            struct ConfigErrorJSON: Encodable { var line: Int, column: Int, path: String, message: String }
            var outcomes: [Outcome] = []
            for file in files {
                do {
                    let chip = try ChipConfig(contentsOf: file)
                    outcomes.append(Outcome(file: file, ok: true, id: chip.meta.id, error: nil))
                } catch {
                    outcomes.append(Outcome(file: file, ok: false, id: nil, error: ConfigErrorJSON(
                        line: error.location.line, column: error.location.column, path: error.path, message: error.message)))
                    if !json { Terminal.error(error.description) }
                }
            }
            if json {
                print(try Terminal.json(outcomes))
            } else {
                for outcome in outcomes where outcome.ok { print("ok  \(outcome.file) (\(outcome.id!))") }
            }
            if outcomes.contains(where: { !$0.ok }) { throw ExitCode.failure }
        }
    }
}
