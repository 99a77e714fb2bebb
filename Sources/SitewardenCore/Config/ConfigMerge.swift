/// Merges the parsed main configuration and its drop-ins into one document, in order.
///
/// `[[target]]` tables are appended, so each file adds targets; in any other table (`[daemon]`)
/// a later file's key replaces an earlier one's, so a drop-in can set one key. Every position
/// is stamped with its file first, so a problem found after the merge names the file it is in.
enum ConfigMerge {
    /// Keys whose arrays of tables are concatenated rather than replaced.
    static let appendedKeys: Set<String> = ["target"]

    /// `documents` are (file, root table) in merge order; the first is the main file.
    static func merge(_ documents: [(file: String, root: TOMLNode)]) -> TOMLNode {
        var merged: TOMLNode?
        for (file, root) in documents {
            let stamped = stamp(root, file: file)
            merged = merged.map { mergeTables($0, stamped, topLevel: true) } ?? stamped
        }
        return merged ?? TOMLNode(value: .table([]), position: nil)
    }

    private static func mergeTables(_ base: TOMLNode, _ overlay: TOMLNode, topLevel: Bool) -> TOMLNode {
        guard case .table(var entries) = base.value, case .table(let added) = overlay.value else { return overlay }
        for entry in added {
            guard let index = entries.firstIndex(where: { $0.key == entry.key }) else {
                entries.append(entry)
                continue
            }
            let existing = entries[index].node
            switch (existing.value, entry.node.value) {
            case (.array(let first), .array(let second)) where topLevel && appendedKeys.contains(entry.key):
                entries[index].node = TOMLNode(value: .array(first + second), position: existing.position)
            case (.table, .table):
                entries[index].node = mergeTables(existing, entry.node, topLevel: false)
            default:
                entries[index] = entry
            }
        }
        return TOMLNode(value: .table(entries), position: base.position)
    }

    /// The node with `file` in every position inside it.
    static func stamp(_ node: TOMLNode, file: String) -> TOMLNode {
        let value: TOMLValue
        switch node.value {
        case .table(let entries):
            value = .table(
                entries.map { entry in
                    TOMLEntry(
                        key: entry.key, keyPosition: stamp(entry.keyPosition, file: file),
                        node: stamp(entry.node, file: file))
                })
        case .array(let elements):
            value = .array(elements.map { stamp($0, file: file) })
        default:
            value = node.value
        }
        return TOMLNode(value: value, position: stamp(node.position, file: file))
    }

    private static func stamp(_ position: TOMLPosition?, file: String) -> TOMLPosition? {
        position.map { TOMLPosition(line: $0.line, column: $0.column, file: file) }
    }
}
