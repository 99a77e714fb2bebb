/// The known key an unknown one was probably meant to be, for "did you mean" in problems.
enum KeySuggestion {
    /// The closest of `known` to `key`, when it is close enough to be a typo: the same key in
    /// another case or with `-` for `_`, or within a small edit distance (one edit for keys of up
    /// to four characters, two for longer ones). Ties go to the first in sorted order, so the
    /// suggestion never depends on hashing.
    static func closest(to key: String, in known: some Sequence<String>) -> String? {
        let normalized = normal(key)
        let candidates = known.filter { $0 != key }.sorted()
        if let same = candidates.first(where: { normal($0) == normalized }) { return same }
        let limit = key.count <= 4 ? 1 : 2
        var best: (key: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(Array(normalized.utf8), Array(normal(candidate).utf8))
            if distance <= limit, distance < (best?.distance ?? Int.max), !rewritesAWord(normalized, normal(candidate))
            {
                best = (candidate, distance)
            }
        }
        return best?.key
    }

    /// True when, word by word (`_`-separated), one word is half rewritten: `expect_code` is not
    /// a typo of `expect_body`, though only two letters differ.
    private static func rewritesAWord(_ lhs: String, _ rhs: String) -> Bool {
        let left = lhs.split(separator: "_")
        let right = rhs.split(separator: "_")
        guard left.count == right.count else { return false }
        return zip(left, right).contains { pair in
            let distance = editDistance(Array(pair.0.utf8), Array(pair.1.utf8))
            return distance > 0 && distance * 2 >= min(pair.0.count, pair.1.count)
        }
    }

    private static func normal(_ key: String) -> String {
        String(key.lowercased().map { $0 == "-" ? "_" : $0 })
    }

    /// Levenshtein distance, with a transposition of two neighbours counted as one edit
    /// ("intreval" for "interval").
    static func editDistance(_ lhs: [UInt8], _ rhs: [UInt8]) -> Int {
        guard !lhs.isEmpty else { return rhs.count }
        guard !rhs.isEmpty else { return lhs.count }
        var previous2 = [Int](repeating: 0, count: rhs.count + 1)
        var previous = Array(0...rhs.count)
        var current = [Int](repeating: 0, count: rhs.count + 1)
        for i in 1...lhs.count {
            current[0] = i
            for j in 1...rhs.count {
                let cost = lhs[i - 1] == rhs[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, lhs[i - 1] == rhs[j - 2], lhs[i - 2] == rhs[j - 1] {
                    current[j] = min(current[j], previous2[j - 2] + 1)
                }
            }
            (previous2, previous, current) = (previous, current, previous2)
        }
        return previous[rhs.count]
    }
}
