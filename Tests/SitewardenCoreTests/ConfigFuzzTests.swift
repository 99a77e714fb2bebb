import Testing

@testable import SitewardenCore

/// Decodes bytes as a file's contents would be; nil when they load, else the problems.
private func problems(in bytes: [UInt8]) -> [ConfigProblem]? {
    do {
        _ = try ConfigLoader.decode(bytes, path: ConfigFixtures.path)
        return nil
    } catch {
        return error.problems
    }
}

/// What every refusal must look like, whatever the input: problems in the file, placed on one of its lines.
private func isWellFormed(_ problems: [ConfigProblem], lineCount: Int) -> Bool {
    !problems.isEmpty
        && problems.allSatisfy { problem in
            problem.path == ConfigFixtures.path && !problem.message.isEmpty
                && (problem.line.map { (1...lineCount).contains($0) } ?? true)
        }
}

private func lineCount(_ bytes: some Collection<UInt8>) -> Int {
    bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).count
}

@Test func everyPrefixOfAValidConfigLoadsOrIsRefusedWithProblems() throws {
    let scalars = Array(ConfigFixtures.full.unicodeScalars)
    var loaded: [SitewardenConfig] = []

    for length in 0...scalars.count {
        var prefix = String.UnicodeScalarView()
        prefix.append(contentsOf: scalars[..<length])
        do {
            loaded.append(try ConfigLoader.parse(text: String(prefix), path: ConfigFixtures.path))
        } catch {
            #expect(
                isWellFormed(error.problems, lineCount: lineCount(prefix.description.utf8)),
                "prefix of \(length) characters")
        }
    }

    #expect(loaded.last == ConfigFixtures.fullDecoded)
    #expect(loaded.allSatisfy { $0.targets.first?.name == "tunely" })
    #expect(
        ConfigFixtures.problems(in: "") == [
            ConfigFixtures.problem(nil, nil, "no targets: add at least one [[target]] table")
        ])
}

@Test func everyBytePrefixCutThroughMultibyteCharactersIsHandled() {
    let text = ConfigFixtures.full.replacing("Tunely Server", with: "Tunely Server ✓ — ünïcödé")
    let bytes = Array(text.utf8)
    var loadedCount = 0

    for length in 0...bytes.count {
        guard let problems = problems(in: Array(bytes[..<length])) else {
            loadedCount += 1
            continue
        }
        #expect(isWellFormed(problems, lineCount: lineCount(bytes[..<length])), "prefix of \(length) bytes")
    }

    #expect(loadedCount > 0)
}

@Test func randomlyMutatedConfigsNeverCrash() {
    let original = Array(ConfigFixtures.full.utf8)
    let interesting = Array("[]{}=\"'.,#\n\\ 0-:".utf8)
    var generator = SplitMix64(state: 0x5173_7761_7264_656E)
    var outcomes = (loaded: 0, refused: 0)

    for round in 0..<3000 {
        var bytes = original
        for _ in 0..<Int.random(in: 1...8, using: &generator) {
            let index = Int.random(in: 0..<bytes.count, using: &generator)
            let byte =
                Bool.random(using: &generator)
                ? interesting.randomElement(using: &generator)! : UInt8.random(in: 0...255, using: &generator)
            switch Int.random(in: 0..<3, using: &generator) {
            case 0: bytes[index] = byte
            case 1: bytes.insert(byte, at: index)
            default: bytes.remove(at: index)
            }
        }
        if let problems = problems(in: bytes) {
            outcomes.refused += 1
            #expect(isWellFormed(problems, lineCount: lineCount(bytes)), "round \(round)")
        } else {
            outcomes.loaded += 1
        }
    }

    #expect(outcomes.loaded > 0)
    #expect(outcomes.refused > 0)
}
