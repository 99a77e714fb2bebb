/// The size syntax of the configuration: a whole number with a unit ("100MB", "512KiB", "1GB"),
/// or an integer number of bytes.
enum ConfigSize {
    /// Why a size was refused; the description completes "quarantine_limit: …".
    enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case malformed(String)
        case notPositive(String)
        case tooLarge(String)

        var description: String {
            switch self {
            case .malformed(let text):
                "invalid size '\(text)': write a whole number and a unit (B, KB, MB, GB, KiB, MiB or GiB), like \"100MB\""
            case .notPositive(let text): "size must be positive, found \(text)"
            case .tooLarge(let text): "size \(text) is too large (at most 1TiB)"
            }
        }
    }

    /// Longest suffixes first, so "MiB" is not read as "Mi" + "B".
    private static let units: [(suffix: String, bytes: Int64)] = [
        ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("KB", 1000), ("MB", 1_000_000), ("GB", 1_000_000_000),
        ("B", 1),
    ]

    static let maximum: Int64 = 1 << 40

    static func parse(_ text: String) throws(Failure) -> Int {
        guard let unit = units.first(where: { text.hasSuffix($0.suffix) }) else { throw .malformed(text) }
        let number = text.dropLast(unit.suffix.count)
        let digits = number.hasPrefix("-") ? number.dropFirst() : number
        guard !digits.isEmpty, digits.allSatisfy({ ("0"..."9").contains($0) }) else { throw .malformed(text) }
        guard let amount = Int64(number) else { throw .tooLarge("'\(text)'") }
        guard amount > 0 else { throw .notPositive("'\(text)'") }
        let (bytes, overflow) = amount.multipliedReportingOverflow(by: unit.bytes)
        guard !overflow, bytes <= maximum else { throw .tooLarge("'\(text)'") }
        return Int(bytes)
    }

    static func bytes(_ amount: Int64) throws(Failure) -> Int {
        guard amount > 0 else { throw .notPositive(String(amount)) }
        guard amount <= maximum else { throw .tooLarge(String(amount)) }
        return Int(amount)
    }
}
