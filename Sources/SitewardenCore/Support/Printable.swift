extension String {
    /// Text from a file, safe to put in a message: control characters escaped (no terminal escapes,
    /// no forged journal lines) and anything past 200 characters cut.
    var printable: String {
        let escaped = unicodeScalars.map { scalar in
            scalar.properties.generalCategory == .control ? scalar.escaped(asASCII: true) : String(scalar)
        }.joined()
        return escaped.count > 200 ? String(escaped.prefix(200)) + "…" : escaped
    }
}
